"""/api/v1/: every resource of the REST API (each feature lists its own in its
urls.py, `api_urlpatterns`), its OpenAPI schema and docs page."""

from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

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


class SchemaAPI(SpectacularAPIView):
    @extend_schema(responses={200: OPENAPI_DOCUMENT})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


urlpatterns = [
    *(pattern for feature in FEATURES for pattern in feature.api_urlpatterns),
    path("", include("evaluation.api_urls")),
    path("schema/", SchemaAPI.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
