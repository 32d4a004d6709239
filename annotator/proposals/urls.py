"""The proposals feature's routes: `urlpatterns` (pages and /api/label/, included by
annotator/urls.py) and `api_urlpatterns` (/api/v1/, included by annotator/api_urls.py)."""

from django.urls import path

from annotator.proposals import api, views

urlpatterns = [
    path("faces/<int:pk>/mesh.glb", views.face_mesh_glb, name="face_mesh_glb"),
]

api_urlpatterns = [
    path("proposals/", api.ProposalListAPI.as_view(), name="api-proposals"),
    path("proposals/<int:pk>/", api.ProposalDetailAPI.as_view(), name="api-proposal"),
]
