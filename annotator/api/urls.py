"""/api/v1/: every resource of the REST API, its OpenAPI schema and docs page."""
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from annotator.api import export_views as ex
from annotator.api import quality_views as qv
from annotator.api import v1



def _objects(*names: str) -> dict:
    """A map of OpenAPI objects, with the string fields they share named."""
    return {"type": "object", "additionalProperties": {
        "type": "object", "properties": {n: {"type": "string"} for n in names}}}


OPENAPI_DOCUMENT = {
    "type": "object", "description": "This OpenAPI 3 document",
    "properties": {
        "openapi": {"type": "string"},
        "info": {"type": "object", "properties": {k: {"type": "string"} for k in ("title", "version", "description")}},
        "paths": {**_objects("summary", "description"), "description": "path -> Path Item"},
        "components": {"type": "object", "properties": {
            "schemas": {**_objects("type", "description"), "description": "name -> Schema"},
            "securitySchemes": _objects("type", "name", "in", "description")}},
    },
    "required": ["openapi", "info", "paths"],
}


class SchemaAPI(SpectacularAPIView):
    @extend_schema(responses={200: OPENAPI_DOCUMENT})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


urlpatterns = [
    path("me/", v1.MeAPI.as_view(), name="api-me"),
    path("datasets/", v1.DatasetListAPI.as_view(), name="api-datasets"),
    path("datasets/<int:pk>/", v1.DatasetDetailAPI.as_view(), name="api-dataset"),
    path("datasets/<int:pk>/export/", ex.DatasetExportAPI.as_view(), name="api-dataset-export"),
    path("datasets/<int:pk>/quality/", qv.QualityAPI.as_view(), name="api-dataset-quality"),
    path("datasets/<int:pk>/honeypots/", qv.HoneypotsAPI.as_view(), name="api-dataset-honeypots"),
    path("images/", v1.ImageListAPI.as_view(), name="api-images"),
    path("images/<int:pk>/", v1.ImageDetailAPI.as_view(), name="api-image"),
    path("faces/", v1.FaceListAPI.as_view(), name="api-faces"),
    path("faces/<int:pk>/", v1.FaceDetailAPI.as_view(), name="api-face"),
    path("proposals/", v1.ProposalListAPI.as_view(), name="api-proposals"),
    path("proposals/<int:pk>/", v1.ProposalDetailAPI.as_view(), name="api-proposal"),
    path("annotations/", v1.AnnotationListAPI.as_view(), name="api-annotations"),
    path("annotations/<int:pk>/", v1.AnnotationDetailAPI.as_view(), name="api-annotation"),
    path("annotations/<int:pk>/revisions/", v1.AnnotationRevisionsAPI.as_view(), name="api-annotation-revisions"),
    path("annotations/<int:pk>/review/", v1.AnnotationReviewAPI.as_view(), name="api-annotation-review"),
    path("exports/", ex.ExportJobListAPI.as_view(), name="api-exports"),
    path("exports/<int:pk>/", ex.ExportJobAPI.as_view(), name="api-export"),
    path("exports/<int:pk>/download/", ex.ExportDownloadAPI.as_view(), name="api-export-download"),
    path("tokens/", v1.TokenListAPI.as_view(), name="api-tokens"),
    path("tokens/<int:pk>/", v1.TokenDetailAPI.as_view(), name="api-token"),
    path("", include("evaluation.api_urls")),
    path("schema/", SchemaAPI.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
