"""The sequences feature's routes: `urlpatterns` (pages and /api/label/, included by
annotator/urls.py) and `api_urlpatterns` (/api/v1/, included by annotator/api_urls.py)."""

from django.urls import path

from annotator.sequences import api, views

urlpatterns = [
    path("label/sequences/<int:sequence_id>/", views.label_sequence, name="label-sequence"),
    path("label/sequences/<int:sequence_id>/labels.csv", views.sequence_csv, name="sequence-csv"),
    path("api/label/sequences/<int:sequence_id>/", api.SequenceStateView.as_view(), name="api-label-sequence"),
]

api_urlpatterns = []
