"""The one error shape of every JSON endpoint, and the one place that maps
domain errors to HTTP statuses (settings.REST_FRAMEWORK["EXCEPTION_HANDLER"]).

Every error body is an object with `detail` (a sentence for people) and `code`
(a stable word for programs). Invalid input (400, code "invalid") adds one key
per bad field or query parameter with its list of messages (`non_field_errors`
for the body as a whole); a domain error adds its own context (409:
`current_version`, `expected_version`). Views raise; they never build error
responses themselves."""

from collections.abc import Callable

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler as drf_exception_handler

from annotator.common.poses import PoseError

# exception class -> (HTTP status, code, extra body fields of an instance)
DOMAIN_ERRORS: dict[type, tuple[int, str, Callable[[Exception], dict]]] = {}


def register_error(exc_class: type, http_status: int, code: str, extra=None) -> None:
    """Map a domain exception (and its subclasses) to a status; `extra(exc)`
    returns the context added to the body. Each feature registers its own errors
    from its api.py (labeling: VersionConflict, accounts: TokenError, exports:
    ExportError; evaluation from evaluation/api.py)."""
    DOMAIN_ERRORS[exc_class] = (http_status, code, extra or (lambda exc: {}))


def body_as_a_whole(exc) -> dict:
    """A domain validation error is about the body as a whole, as DRF names it,
    or about the field it names (PoseError.field)."""
    return {getattr(exc, "field", None) or "non_field_errors": [str(exc)]}


register_error(PoseError, status.HTTP_400_BAD_REQUEST, "invalid", body_as_a_whole)


class ApiError(exceptions.APIException):
    """An error with its status, code and context fields (what a view raises when
    no domain exception says it)."""

    def __init__(self, http_status: int, detail: str, code: str, **extra):
        super().__init__(detail, code)
        self.status_code = http_status
        self.extra = extra


def _domain(exc: Exception) -> exceptions.APIException | None:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_ERRORS:
            http_status, code, extra = DOMAIN_ERRORS[cls]
            return ApiError(http_status, str(exc), code, **extra(exc))
    if isinstance(exc, ObjectDoesNotExist):
        # Face.DoesNotExist -> "No such face." (never saying whether it exists elsewhere)
        name = type(exc).__qualname__.split(".")[0]
        return exceptions.NotFound(f"No such {name.lower()}." if name != "ObjectDoesNotExist" else None)
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    return None


def field_errors(data) -> dict[str, list[str]]:
    """DRF's error detail (nested dicts and lists for list items and nested
    serializers) flattened to {field: [messages]}: `R: item 2: A valid number is required.`"""
    if isinstance(data, dict):
        return {str(key): _messages(value) for key, value in data.items()}
    return {"non_field_errors": _messages(data)}


def _label(key) -> str:
    return f"item {key}" if isinstance(key, int) or str(key).isdigit() else str(key)


def _messages(value) -> list[str]:
    if isinstance(value, dict):
        return [f"{_label(k)}: {m}" for k, v in value.items() for m in _messages(v)]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in _messages(v)]
    return [str(value)]


def error_body(detail: str, code: str, **extra) -> dict:
    return {"detail": detail, "code": code, **extra}


def exception_handler(exc, context):
    exc = _domain(exc) or exc
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an error we know: a 500, with its traceback in the log
    if isinstance(exc, exceptions.ValidationError):
        fields = field_errors(response.data)
        detail = "Invalid input: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        response.data = error_body(detail, "invalid", **fields)
    else:
        detail = exc.detail if isinstance(exc.detail, str) else " ".join(_messages(exc.detail))
        code = getattr(exc.detail, "code", None) or exc.default_code
        response.data = error_body(str(detail), str(code), **getattr(exc, "extra", {}))
    return response


# --- the shape in the OpenAPI schema ---------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every error body."""

    detail = serializers.CharField(help_text="What went wrong, for people")
    code = serializers.CharField(
        help_text="A stable word for programs: invalid, not_found, permission_denied, "
        "not_authenticated, authentication_failed, version_conflict, ..."
    )


class NotFinishedErrorSerializer(ErrorSerializer):
    state = serializers.CharField(help_text="The job's state now")


class ConflictErrorSerializer(ErrorSerializer):
    current_version = serializers.IntegerField(help_text="The version stored now (0: none)")
    expected_version = serializers.IntegerField(help_text="The version the request said it edited")


class ValidationErrorSerializer(ErrorSerializer):
    """400: `detail`, `code` "invalid", and {field: [messages]} for each bad field."""

    # every other key of the body: a field's messages (see ErrorShapeExtension)
    other_keys_schema = {"type": "array", "items": {"type": "string"}}


class ErrorShapeExtension(OpenApiSerializerExtension):
    """Documents the {field: [messages]} keys as additionalProperties."""

    target_class = "annotator.common.errors.ValidationErrorSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": self.target.other_keys_schema}


ERROR_DESCRIPTIONS = {
    400: "Invalid input: detail, code and {field: [messages]}",
    401: "No or invalid credentials",
    403: "Not allowed (the reason is in detail)",
    404: "Not found, or not visible to you",
    409: "The object changed since expected_version",
    413: "The request body is larger than allowed",
}


def error_responses(*codes: int) -> dict:
    """extend_schema `responses` entries for these error statuses, in the one shape."""
    out = {}
    for c in codes:
        serializer = {400: ValidationErrorSerializer, 409: ConflictErrorSerializer}.get(c, ErrorSerializer)
        out[c] = OpenApiResponse(serializer, description=ERROR_DESCRIPTIONS.get(c, ""))
    return out
