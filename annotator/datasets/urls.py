"""The datasets feature's routes: `urlpatterns` (pages and /api/label/, included by
annotator/urls.py) and `api_urlpatterns` (/api/v1/, included by annotator/api_urls.py)."""

from django.urls import path

from annotator.datasets import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("datasets/<slug:name>/", views.dataset_detail, name="dataset_detail"),
    path("faces/<int:pk>/", views.face_detail, name="face_detail"),
]

api_urlpatterns = [
    path("datasets/", api.DatasetListAPI.as_view(), name="api-datasets"),
    path("datasets/<int:pk>/", api.DatasetDetailAPI.as_view(), name="api-dataset"),
    path("images/", api.ImageListAPI.as_view(), name="api-images"),
    path("images/<int:pk>/", api.ImageDetailAPI.as_view(), name="api-image"),
    path("faces/", api.FaceListAPI.as_view(), name="api-faces"),
    path("faces/<int:pk>/", api.FaceDetailAPI.as_view(), name="api-face"),
]
