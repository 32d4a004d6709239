"""The review feature's routes: `urlpatterns` (pages and /api/label/, included by
annotator/urls.py) and `api_urlpatterns` (/api/v1/, included by annotator/api_urls.py)."""

from django.urls import path

from annotator.review import api, views

urlpatterns = [
    # NAME: a dataset id here (the URLs of before) is a permanent redirect to the name
    path("review/datasets/<slug:name>/", views.review_dataset, name="review-dataset"),
    path("review/datasets/<slug:name>/next/", views.review_next, name="review-next"),
    path("review/annotations/<int:annotation_id>/", views.review_annotation_page, name="review-annotation"),
    path(
        "api/label/review/annotations/<int:annotation_id>/",
        api.ReviewAnnotationView.as_view(),
        name="api-review-annotation",
    ),
    path(
        "api/label/review/annotations/<int:annotation_id>/decision/",
        api.ReviewDecisionView.as_view(),
        name="api-review-decision",
    ),
    path(
        "api/label/review/annotations/<int:annotation_id>/correction/",
        api.ReviewCorrectionView.as_view(),
        name="api-review-correction",
    ),
    path("api/label/review/datasets/<int:dataset_id>/next/", api.NextReviewView.as_view(), name="api-review-next"),
]

api_urlpatterns = [
    path("annotations/<int:pk>/review/", api.AnnotationReviewAPI.as_view(), name="api-annotation-review"),
]
