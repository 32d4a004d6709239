"""/api/v1/: every resource of the REST API (each feature lists its own in its
urls.py, `api_urlpatterns`), its OpenAPI schema and docs page."""

from django.conf import settings
from django.urls import include, path
from django.utils import translation
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.response import Response

from annotator.urls import FEATURES


def _objects(*names: str) -> dict:
    """A map of OpenAPI objects, with the string fields they share named."""
    return {
        "type": "object",
        "additionalProperties": {"type": "object", "properties": {n: {"type": "string"} for n in names}},
    }


OPENAPI_DOCUMENT = {
    "type": "object",
    "description": "This OpenAPI 3 document",
    "properties": {
        "openapi": {"type": "string"},
        "info": {"type": "object", "properties": {k: {"type": "string"} for k in ("title", "version", "description")}},
        "paths": {**_objects("summary", "description"), "description": "path -> Path Item"},
        "components": {
            "type": "object",
            "properties": {
                "schemas": {**_objects("type", "description"), "description": "name -> Schema"},
                "securitySchemes": _objects("type", "name", "in", "description"),
            },
        },
    },
    "required": ["openapi", "info", "paths"],
}


# The public schema, generated once per process for each version and language: the routes
# and serializers do not change while a process runs, and generating it takes ~0.2 s.
_PUBLIC_SCHEMAS: dict[tuple, dict] = {}
_KNOWN_LANGUAGES = {settings.LANGUAGE_CODE, *(code for code, _ in settings.LANGUAGES)}


class SchemaAPI(SpectacularAPIView):
    @extend_schema(responses={200: OPENAPI_DOCUMENT})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def _get_schema_response(self, request):
        language = translation.get_language()
        if not self.serve_public or language not in _KNOWN_LANGUAGES:
            return super()._get_schema_response(request)  # a caller's or an unknown language's: never kept
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, language)
        if key not in _PUBLIC_SCHEMAS:
            generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
            _PUBLIC_SCHEMAS[key] = generator.get_schema(request=request, public=True)
        filename = self._get_filename(request, version)
        return Response(data=_PUBLIC_SCHEMAS[key], headers={"Content-Disposition": f'inline; filename="{filename}"'})


urlpatterns = [
    *(pattern for feature in FEATURES for pattern in feature.api_urlpatterns),
    path("", include("evaluation.api_urls")),
    path("schema/", SchemaAPI.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
