from django.urls import path

from annotator.labeling import api
from annotator.labeling.views import label_dataset, label_face, label_image, label_next
from annotator.review import api as review_api
from annotator.review import views as review_views
from annotator.sequences import api as sequence_api
from annotator.sequences.views import label_sequence, sequence_csv

urlpatterns = [
    path("label/datasets/<int:dataset_id>/", label_dataset, name="label-dataset"),
    path("label/datasets/<int:dataset_id>/next/", label_next, name="label-next"),
    path("label/faces/<int:face_id>/", label_face, name="label-face"),
    path("label/images/<int:image_id>/file", label_image, name="label-image"),
    path("label/sequences/<int:sequence_id>/", label_sequence, name="label-sequence"),
    path("label/sequences/<int:sequence_id>/labels.csv", sequence_csv, name="sequence-csv"),
    path("api/label/sequences/<int:sequence_id>/", sequence_api.SequenceStateView.as_view(), name="api-label-sequence"),
    path("api/label/faces/<int:face_id>/", api.FaceStateView.as_view(), name="api-label-face"),
    path("api/label/faces/<int:face_id>/annotation/", api.SaveLabelView.as_view(), name="api-label-save"),
    path("api/label/datasets/<int:dataset_id>/next/", api.NextFaceView.as_view(), name="api-label-next"),
    path("review/datasets/<int:dataset_id>/", review_views.review_dataset, name="review-dataset"),
    path("review/datasets/<int:dataset_id>/next/", review_views.review_next, name="review-next"),
    path("review/annotations/<int:annotation_id>/", review_views.review_annotation, name="review-annotation"),
    path("api/label/review/annotations/<int:annotation_id>/", review_api.ReviewAnnotationView.as_view(),
         name="api-review-annotation"),
    path("api/label/review/annotations/<int:annotation_id>/decision/", review_api.ReviewDecisionView.as_view(),
         name="api-review-decision"),
    path("api/label/review/annotations/<int:annotation_id>/correction/", review_api.ReviewCorrectionView.as_view(),
         name="api-review-correction"),
    path("api/label/review/datasets/<int:dataset_id>/next/", review_api.NextReviewView.as_view(),
         name="api-review-next"),
]
