"""The review page's endpoints (under /api/label/, same auth and error shape):

GET  /api/label/review/annotations/<id>/             what the page shows: the label, the others, angles
POST /api/label/review/annotations/<id>/decision/    approve or reject (reason + note); 409 on a stale version
                                                     (a verdict bumps the version: a second one for it is a 409)
PUT  /api/label/review/annotations/<id>/correction/  the reviewer's pose replaces the label's; 409 when stale
POST /api/label/review/datasets/<id>/next/           claim and return the next annotation awaiting review

Reviewers of the dataset and admins only: an annotator who sees the dataset
gets a 403, anyone else a 404 (annotator.reviewing decides; errors.py shapes)."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.common.errors import error_responses
from annotator.common.fields import RotationField, TranslationField
from annotator.common.filters import MAX_ID
from annotator.labeling.api import (
    MAX_NOTE,
    AnnotationSerializer,
    EditorDatasetSerializer,
    EditorFaceSerializer,
    EditorImageSerializer,
    PoseInputSerializer,
)
from annotator.labeling.models import RejectReason, ReviewState
from annotator.review import queue as reviewing
from annotator.review.selectors import QUEUE_SIZE_CAP

ERRORS = error_responses(400, 401, 403, 404)


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[ReviewState.APPROVED.value, ReviewState.REJECTED.value])
    reason = serializers.ChoiceField(
        choices=RejectReason.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why it is rejected (required with decision=rejected)",
    )
    note = serializers.CharField(
        max_length=MAX_NOTE,
        required=False,
        allow_blank=True,
        default="",
        help_text="Shown to the annotator on their labeling page",
    )
    expected_version = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The annotation version reviewed"
    )

    def validate(self, attrs):
        if attrs["decision"] == ReviewState.REJECTED and not attrs["reason"]:
            raise serializers.ValidationError({"reason": f"A rejection needs a reason: one of {RejectReason.values}."})
        return attrs


class CorrectionSerializer(PoseInputSerializer):
    expected_version = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The annotation version corrected"
    )


class ReviewedSerializer(serializers.Serializer):
    annotation_id = serializers.IntegerField(source="pk")
    version = serializers.IntegerField()
    status = serializers.CharField()
    review_state = serializers.CharField()
    review_reason = serializers.CharField()
    review_note = serializers.CharField()
    R = RotationField()
    t = TranslationField()


class ReviewPoseSerializer(serializers.Serializer):
    key = serializers.CharField(help_text='"label" (under review), "annotator-<annotation id>" or "proposal"')
    kind = serializers.ChoiceField(choices=["label", "annotator", "proposal"])
    who = serializers.CharField(help_text="The annotator's username, or proposer@version")
    R = RotationField()
    t = TranslationField()


class AngleSerializer(serializers.Serializer):
    a = serializers.CharField()
    b = serializers.CharField()
    degrees = serializers.FloatField(help_text="Geodesic angle between the two rotations")


class ReviewedAnnotationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    author = serializers.CharField()
    flag_reason = serializers.CharField()
    note = serializers.CharField()
    time_spent_s = serializers.FloatField(help_text="Seconds of the last save")
    total_time_s = serializers.FloatField(help_text="Seconds the annotator spent on it, all saves")
    moved_deg = serializers.FloatField(
        allow_null=True, help_text="Geodesic angle from the proposal it started from, degrees (null: none)"
    )
    moved_mm = serializers.FloatField(
        allow_null=True, help_text="Distance of t from the proposal's t, mm (null: no proposal or no t)"
    )
    updated_at = serializers.CharField()
    review_state = serializers.CharField()


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class ReviewStateSerializer(serializers.Serializer):
    """Everything the review page needs about one annotation (review/queue.review_editor_state)."""

    face = EditorFaceSerializer()
    image = EditorImageSerializer()
    dataset = EditorDatasetSerializer()
    annotation = ReviewedAnnotationSerializer()
    poses = ReviewPoseSerializer(many=True, help_text="The label first, then the other annotators', the proposal")
    angles = AngleSerializer(many=True)
    reasons = ChoiceSerializer(many=True)
    remaining = serializers.IntegerField(
        help_text=f"Annotations awaiting your review in this dataset, counted up to {QUEUE_SIZE_CAP} "
        f"({QUEUE_SIZE_CAP}: that many or more)"
    )


class NextReviewSerializer(serializers.Serializer):
    skip_annotation_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None
    )


class NextReviewResultSerializer(serializers.Serializer):
    annotation_id = serializers.IntegerField(allow_null=True, help_text="null: nothing awaits review")
    url = serializers.CharField(help_text="The review page of the annotation (or of the dataset when none is left)")
    remaining = serializers.IntegerField(
        help_text=f"Labels still awaiting your review, counted up to {QUEUE_SIZE_CAP} ({QUEUE_SIZE_CAP}: that many or more)"
    )


class ReviewAnnotationView(APIView):
    @extend_schema(responses={200: ReviewStateSerializer, **ERRORS}, tags=["reviewing"])
    def get(self, request, annotation_id: int):
        annotation = reviewing.annotation_for_reviewing(request.user, annotation_id)
        return Response(ReviewStateSerializer(reviewing.review_editor_state(request.user, annotation)).data)


class ReviewDecisionView(APIView):
    @extend_schema(
        request=DecisionSerializer,
        tags=["reviewing"],
        responses={200: ReviewedSerializer, **error_responses(409, 413), **ERRORS},
    )
    def post(self, request, annotation_id: int):
        annotation = reviewing.annotation_for_reviewing(request.user, annotation_id)
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reviewed = reviewing.decide(request.user, annotation, reviewing.Decision(**body.validated_data))
        return Response(ReviewedSerializer(reviewed).data)


class ReviewCorrectionView(APIView):
    @extend_schema(
        request=CorrectionSerializer,
        tags=["reviewing"],
        responses={200: ReviewedSerializer, **error_responses(409, 413), **ERRORS},
    )
    def put(self, request, annotation_id: int):
        annotation = reviewing.annotation_for_reviewing(request.user, annotation_id)
        body = CorrectionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        corrected = reviewing.correct(request.user, annotation, reviewing.Correction(**body.validated_data))
        return Response(ReviewedSerializer(corrected).data)


class NextReviewView(APIView):
    @extend_schema(
        request=NextReviewSerializer,
        tags=["reviewing"],
        responses={200: NextReviewResultSerializer, **error_responses(413), **ERRORS},
    )
    def post(self, request, dataset_id: int):
        dataset = reviewing.dataset_for_reviewing(request.user, dataset_id)
        body = NextReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        annotation = reviewing.next_for_review(
            request.user, dataset, skip_annotation_id=body.validated_data["skip_annotation_id"]
        )
        return Response(
            NextReviewResultSerializer(
                {
                    "annotation_id": None if annotation is None else annotation.pk,
                    "url": (
                        reverse("review-annotation", args=[annotation.pk])
                        if annotation
                        else reverse("review-dataset", args=[dataset.name])
                    ),
                    "remaining": reviewing.queue_size(request.user, dataset),
                }
            ).data
        )


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[ReviewState.APPROVED.value, ReviewState.REJECTED.value])
    reason = serializers.ChoiceField(
        choices=RejectReason.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why it is rejected (default: other)",
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    # required since issue 25: a verdict judges one version (a verdict without it
    # could approve a label changed since the reviewer looked, or overrule another
    # reviewer's verdict unseen); 400 naming the field when missing
    expected_version = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        help_text="The annotation version reviewed: 409 if it changed (a save, or another reviewer's verdict)",
    )


class AnnotationReviewAPI(APIView):
    @extend_schema(
        request=ReviewSerializer, responses={200: AnnotationSerializer, **error_responses(409, 413), **ERRORS}
    )
    def post(self, request, pk: int):
        """A reviewer's verdict on an annotation's version `expected_version` (reviewers
        assigned to its dataset, admins; never its author, never a draft). The verdict
        bumps the version: a second verdict sent for the same version is a 409."""
        annotation = reviewing.annotation_for_reviewing(request.user, pk)
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        annotation = reviewing.decide(request.user, annotation, reviewing.Decision(**body.validated_data))
        return Response(AnnotationSerializer(annotation).data)
