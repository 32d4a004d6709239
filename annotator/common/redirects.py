"""The one way a view follows a `next` it was given: only to this site.

A `next` from a form or a query string is followed only when
django.utils.http.url_has_allowed_host_and_scheme accepts it (a relative path,
or an absolute URL on ALLOWED_HOSTS; https only when the request came over
https); anything else (https://evil.example/, //evil.example, javascript:...)
falls back to the view's own page."""

from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, fallback: str) -> str:
    """The `next` of the request (POST, then GET) when it stays on this site, else `fallback`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def redirect_to_next(request, fallback: str):
    """A redirect to `safe_next(request, fallback)`."""
    return redirect(safe_next(request, fallback))
