"""The exports feature's routes: `urlpatterns` (pages and /api/label/, included by
annotator/urls.py) and `api_urlpatterns` (/api/v1/, included by annotator/api_urls.py)."""

from django.urls import path

from annotator.exports import api, views

urlpatterns = [
    path("datasets/<slug:name>/export/", views.dataset_export, name="dataset_export"),
    path("exports/<int:pk>/", views.export_job, name="export_job"),
]

api_urlpatterns = [
    path("datasets/<int:pk>/export/", api.DatasetExportAPI.as_view(), name="api-dataset-export"),
    path("exports/", api.ExportJobListAPI.as_view(), name="api-exports"),
    path("exports/<int:pk>/", api.ExportJobAPI.as_view(), name="api-export"),
    path("exports/<int:pk>/download/", api.ExportDownloadAPI.as_view(), name="api-export-download"),
]
