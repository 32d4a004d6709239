"""The JSON parser of every DRF endpoint (settings.REST_FRAMEWORK
DEFAULT_PARSER_CLASSES): a body over HEADPOSE_MAX_JSON_BYTES is refused from
its Content-Length before a byte is read (413), and one nested deeper than
HEADPOSE_MAX_JSON_DEPTH is a 400, never a RecursionError."""

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

from workers.core import bounded_json


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def max_json_bytes() -> int:
    return settings.HEADPOSE_MAX_JSON_BYTES


def declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = max_json_bytes()
        too_large = RequestTooLarge(f"The JSON body is larger than {limit} bytes (HEADPOSE_MAX_JSON_BYTES).")
        request = parser_context.get("request")
        if request is not None and declared_length(request) > limit:
            raise too_large
        raw = stream.read(limit + 1)  # never more than the limit, whatever Content-Length said
        if len(raw) > limit:
            raise too_large
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
            return bounded_json.loads(text, max_depth=settings.HEADPOSE_MAX_JSON_DEPTH)
        except bounded_json.JsonTooDeep as exc:
            raise exceptions.ParseError(f"{exc} (HEADPOSE_MAX_JSON_DEPTH)") from None
        except (ValueError, LookupError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
