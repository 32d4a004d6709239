"""Pages: personal API tokens, and label exports (the dataset page's form and an
export job's progress). Thin: the rules live in annotator.tokens / exports."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from annotator.accounts import tokens


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. 'training pipeline'")
    read_only = forms.BooleanField(required=False, help_text="Only reads (GET)")
    expires_in_days = forms.IntegerField(min_value=1, max_value=3650, required=False,
                                         help_text="Leave empty for no expiry")


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
    return render(request, "annotator/tokens.html", {
        "form": form, "new_key": new_key, "tokens": tokens.tokens_of(request.user)})


@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(tokens.tokens_of(request.user), pk=pk)
    tokens.revoke_token(token)
    messages.success(request, f"Token “{token.name}” ({token.prefix}…) revoked.")
    return redirect("tokens")
