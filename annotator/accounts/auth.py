"""DRF authentication and permissions shared by every API view."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from annotator.accounts import throttle, tokens
from annotator.accounts.models import ApiToken


class TooManyFailures(exceptions.Throttled):
    """429 with Retry-After (DRF sets the header from `wait`), in the one error shape."""

    default_code = "throttled"

    def __init__(self, wait: int):
        super().__init__(wait=wait)
        self.detail = exceptions.ErrorDetail(
            f"Too many failed authentications from this address; try again in {wait} seconds.", "throttled"
        )


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` (or `Bearer <key>`) with a personal API token."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        # An address that sent too many bad tokens is refused before its key is
        # looked at, a valid one included: the answer must not tell keys apart.
        wait = throttle.token_retry_after(request)
        if wait:
            throttle.token_refused(request, wait)
            raise TooManyFailures(wait)
        try:
            return self._authenticate(header)
        except exceptions.AuthenticationFailed:
            throttle.token_failed(request)
            raise

    def _authenticate(self, header):
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: expected 'Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        try:
            token = tokens.authenticate_key(key)
        except tokens.InvalidToken as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return token.user, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 to anonymous calls.
        return "Token"


class ReadOnlyTokenPermission(permissions.BasePermission):
    message = "This API token is read-only: only GET, HEAD and OPTIONS are allowed."

    def has_permission(self, request, view):
        token = request.auth
        if isinstance(token, ApiToken) and token.read_only:
            return request.method in permissions.SAFE_METHODS
        return True


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents the token scheme in the OpenAPI schema."""

    target_class = "annotator.accounts.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token hps_...`: a personal API token (create one at /account/tokens/).",
        }
