"""Pages: personal API tokens, and the login throttle in front of the login
pages. Thin: the rules live in accounts/tokens.py and accounts/throttle.py."""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from annotator.accounts import throttle, tokens


def throttled_login(view):
    """Wraps a login view (ours and the admin's): a POST for an account or from an
    address with too many recent failures is answered 429 with Retry-After before
    any password is checked. Failures and successes are counted by the
    user_login_failed / user_logged_in signals (accounts/signals.py)."""

    if getattr(view, "login_throttled", False):  # config/urls.py imported again (a test's URLconf reload)
        return view

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            username = request.POST.get("username", "")
            wait = throttle.login_retry_after(request, username)
            if wait:
                throttle.login_refused(request, username, wait)
                minutes = max(1, round(wait / 60))
                form = AuthenticationForm(request, initial={"username": username[:150]})
                response = render(
                    request,
                    "registration/login.html",
                    {
                        "form": form,
                        "next": request.POST.get("next", ""),
                        "throttled": True,
                        "throttle_message": f"Too many failed logins for this account or from this address. "
                        f"Try again in about {minutes} minute{'s' if minutes != 1 else ''}.",
                    },
                    status=429,
                )
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    wrapper.login_throttled = True
    return wrapper


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. 'training pipeline'")
    read_only = forms.BooleanField(required=False, help_text="Only reads (GET)")
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Leave empty for no expiry"
    )


def token_list(request):
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            token, new_key = tokens.create_token(user=request.user, **form.cleaned_data)
        except tokens.TokenError as exc:
            form.add_error(None, str(exc))
        else:
            form = TokenForm()
            messages.success(request, f"Token “{token.name}” created. Copy the key now: it is not shown again.")
    return render(
        request, "annotator/tokens.html", {"form": form, "new_key": new_key, "tokens": tokens.tokens_of(request.user)}
    )


@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(tokens.tokens_of(request.user), pk=pk)
    tokens.revoke_token(token)
    messages.success(request, f"Token “{token.name}” ({token.prefix}…) revoked.")
    return redirect("tokens")
