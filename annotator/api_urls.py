"""/api/v1/: every resource of the REST API, its OpenAPI schema and docs page."""
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from annotator.accounts.api import MeAPI, TokenDetailAPI, TokenListAPI
from annotator.datasets.api import (
    DatasetDetailAPI,
    DatasetListAPI,
    FaceDetailAPI,
    FaceListAPI,
    ImageDetailAPI,
    ImageListAPI,
)
from annotator.exports import api as ex
from annotator.labeling.api import AnnotationDetailAPI, AnnotationListAPI, AnnotationRevisionsAPI
from annotator.proposals.api import ProposalDetailAPI, ProposalListAPI
from annotator.quality import api as qv
from annotator.review.api import AnnotationReviewAPI


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
    path("me/", MeAPI.as_view(), name="api-me"),
    path("datasets/", DatasetListAPI.as_view(), name="api-datasets"),
    path("datasets/<int:pk>/", DatasetDetailAPI.as_view(), name="api-dataset"),
    path("datasets/<int:pk>/export/", ex.DatasetExportAPI.as_view(), name="api-dataset-export"),
    path("datasets/<int:pk>/quality/", qv.QualityAPI.as_view(), name="api-dataset-quality"),
    path("datasets/<int:pk>/honeypots/", qv.HoneypotsAPI.as_view(), name="api-dataset-honeypots"),
    path("images/", ImageListAPI.as_view(), name="api-images"),
    path("images/<int:pk>/", ImageDetailAPI.as_view(), name="api-image"),
    path("faces/", FaceListAPI.as_view(), name="api-faces"),
    path("faces/<int:pk>/", FaceDetailAPI.as_view(), name="api-face"),
    path("proposals/", ProposalListAPI.as_view(), name="api-proposals"),
    path("proposals/<int:pk>/", ProposalDetailAPI.as_view(), name="api-proposal"),
    path("annotations/", AnnotationListAPI.as_view(), name="api-annotations"),
    path("annotations/<int:pk>/", AnnotationDetailAPI.as_view(), name="api-annotation"),
    path("annotations/<int:pk>/revisions/", AnnotationRevisionsAPI.as_view(), name="api-annotation-revisions"),
    path("annotations/<int:pk>/review/", AnnotationReviewAPI.as_view(), name="api-annotation-review"),
    path("exports/", ex.ExportJobListAPI.as_view(), name="api-exports"),
    path("exports/<int:pk>/", ex.ExportJobAPI.as_view(), name="api-export"),
    path("exports/<int:pk>/download/", ex.ExportDownloadAPI.as_view(), name="api-export-download"),
    path("tokens/", TokenListAPI.as_view(), name="api-tokens"),
    path("tokens/<int:pk>/", TokenDetailAPI.as_view(), name="api-token"),
    path("", include("evaluation.api_urls")),
    path("schema/", SchemaAPI.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
