"""The labeling feature's routes: `urlpatterns` (pages and /api/label/, included by
annotator/urls.py) and `api_urlpatterns` (/api/v1/, included by annotator/api_urls.py)."""

from django.urls import path

from annotator.labeling import api, views

urlpatterns = [
    # NAME: a dataset id here (the URLs of before) is a permanent redirect to the name
    path("label/datasets/<slug:name>/", views.label_dataset, name="label-dataset"),
    path("label/datasets/<slug:name>/next/", views.label_next, name="label-next"),
    path("label/faces/<int:face_id>/", views.label_face, name="label-face"),
    path("label/images/<int:image_id>/file", views.label_image, name="label-image"),
    path("api/label/faces/<int:face_id>/", api.FaceStateView.as_view(), name="api-label-face"),
    path("api/label/faces/<int:face_id>/annotation/", api.SaveLabelView.as_view(), name="api-label-save"),
    path("api/label/datasets/<int:dataset_id>/next/", api.NextFaceView.as_view(), name="api-label-next"),
    path("api/label/datasets/<int:dataset_id>/release/", api.ReleaseClaimsView.as_view(), name="api-label-release"),
]

api_urlpatterns = [
    path("annotations/", api.AnnotationListAPI.as_view(), name="api-annotations"),
    path("annotations/<int:pk>/", api.AnnotationDetailAPI.as_view(), name="api-annotation"),
    path("annotations/<int:pk>/revisions/", api.AnnotationRevisionsAPI.as_view(), name="api-annotation-revisions"),
]
