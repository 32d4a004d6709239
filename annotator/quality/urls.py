"""The quality feature's routes: `urlpatterns` (pages and /api/label/, included by
annotator/urls.py) and `api_urlpatterns` (/api/v1/, included by annotator/api_urls.py)."""

from django.urls import path

from annotator.quality import api, views

urlpatterns = [
    path("datasets/<slug:name>/quality/", views.dataset_quality, name="dataset_quality"),
]

api_urlpatterns = [
    path("datasets/<int:pk>/quality/", api.QualityAPI.as_view(), name="api-dataset-quality"),
    path("datasets/<int:pk>/honeypots/", api.HoneypotsAPI.as_view(), name="api-dataset-honeypots"),
]
