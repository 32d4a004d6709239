"""Serializers of the v1 API resources. One name per idea: the field names are
the model's (R, t, K, box, landmarks_2d ...) and the export formats' own."""
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from annotator import access
from annotator.api.fields import (
    BoxField,
    EulerField,
    IntrinsicsField,
    Landmarks2DField,
    Landmarks3DField,
    ProvenanceField,
    RotationField,
    TranslationField,
    euler_of,
)
from annotator.api.serializers import LandmarkPinSerializer, SaveLabelSerializer
from annotator.models import (
    Annotation,
    AnnotationOrigin,
    AnnotationRevision,
    ApiToken,
    Dataset,
    Face,
    Image,
    Proposal,
    RejectReason,
    ReviewState,
)
from workers.core.label_rows import deprecated_source


class SplitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    size = serializers.SerializerMethodField()

    def get_size(self, split) -> int:
        return len(split.sample_names)


class DatasetSerializer(serializers.ModelSerializer):
    n_images = serializers.IntegerField(read_only=True)
    n_faces = serializers.IntegerField(read_only=True)
    n_ground_truth = serializers.IntegerField(read_only=True)
    n_proposals = serializers.IntegerField(read_only=True)
    n_annotations = serializers.IntegerField(read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "kind", "description", "is_public", "overlap", "created_at",
                  "n_images", "n_faces", "n_ground_truth", "n_proposals", "n_annotations"]


class DatasetDetailSerializer(DatasetSerializer):
    splits = serializers.SerializerMethodField()

    class Meta(DatasetSerializer.Meta):
        fields = DatasetSerializer.Meta.fields + ["splits"]

    @extend_schema_field(SplitSerializer(many=True))
    def get_splits(self, dataset):
        return SplitSerializer(dataset.splits.all(), many=True).data


class ImageSerializer(serializers.ModelSerializer):
    K = IntrinsicsField()
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = ["id", "dataset", "file_name", "width", "height", "size_bytes", "checksum", "K", "file_url",
                  "created_at", "sequence", "frame_index", "timestamp_s"]

    def get_file_url(self, image) -> str:
        return f"/label/images/{image.pk}/file"


@extend_schema_serializer(deprecate_fields=["landmark_source"])
class FaceSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="image.dataset_id")
    landmark_source = serializers.CharField(source="landmarks_provenance", read_only=True,
                                            help_text="Deprecated: landmarks_provenance's old name")
    box = BoxField()
    landmarks_2d = Landmarks2DField()
    landmarks_3d = Landmarks3DField(allow_null=True, help_text=(
        "Camera frame, mm; null unless you read every label of the dataset (the pose can be computed from them)"))

    def to_representation(self, face):
        data = super().to_representation(face)
        if not access.can_read_labels(self.context["request"].user, face.image.dataset_id):
            data["landmarks_3d"] = None
        return data

    class Meta:
        model = Face
        fields = ["id", "image", "dataset", "index", "box", "landmarks_2d", "landmarks_3d", "landmark_scheme",
                  "landmarks_provenance", "landmark_source", "created_at"]


class ProposalSerializer(serializers.ModelSerializer):
    R = RotationField()
    t = TranslationField()
    euler = EulerField(source="R")
    provenance = ProvenanceField(read_only=True)

    class Meta:
        model = Proposal
        fields = ["id", "face", "proposer", "proposer_version", "weights_sha256", "score", "confidence",
                  "provenance", "R", "t", "euler", "created_at"]


@extend_schema_serializer(deprecate_fields=["source"])
class AnnotationSerializer(serializers.ModelSerializer):
    source = serializers.SerializerMethodField(help_text="Deprecated: origin's old name (dataset = ground_truth)")
    R = RotationField()
    t = TranslationField()
    euler = EulerField(source="R")
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    landmark_pins = LandmarkPinSerializer(many=True, read_only=True)
    reviewed_by = serializers.CharField(source="reviewed_by.username", allow_null=True, default=None)

    class Meta:
        model = Annotation
        fields = ["id", "face", "origin", "source", "author", "status", "flag_reason", "note", "R", "t", "euler", "version",
                  "proposal", "time_spent_s", "total_time_s", "review_state", "reviewed_by", "reviewed_at",
                  "review_reason", "review_note", "landmark_pins", "created_at", "updated_at"]

    @extend_schema_field(serializers.ChoiceField(choices=[deprecated_source(o) for o in AnnotationOrigin.values]))
    def get_source(self, a) -> str:
        return deprecated_source(a.origin)

    def to_representation(self, a):
        # The declared fields above give the schema; this builds the same dict
        # directly (the generic field walk was most of a 100-row page's time).
        # tests/api/test_annotation_resource.py checks the two agree.
        return {
            "id": a.pk, "face": a.face_id, "origin": a.origin, "source": deprecated_source(a.origin),
            "author": a.author.username if a.author_id else None,
            "status": a.status, "flag_reason": a.flag_reason, "note": a.note, "R": a.R, "t": a.t,
            "euler": euler_of(a.R), "version": a.version, "proposal": a.proposal_id,
            "time_spent_s": a.time_spent_s, "total_time_s": a.total_time_s, "review_state": a.review_state,
            "reviewed_by": a.reviewed_by.username if a.reviewed_by_id else None,
            "reviewed_at": _iso(a.reviewed_at), "review_reason": a.review_reason, "review_note": a.review_note,
            "landmark_pins": a.landmark_pins,
            "created_at": _iso(a.created_at), "updated_at": _iso(a.updated_at),
        }


_DATETIME = serializers.DateTimeField()


def _iso(value):
    return None if value is None else _DATETIME.to_representation(value)


class RevisionSerializer(serializers.ModelSerializer):
    R = RotationField()
    t = TranslationField()
    euler = EulerField(source="R")
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    landmark_pins = LandmarkPinSerializer(many=True, read_only=True)

    class Meta:
        model = AnnotationRevision
        fields = ["id", "version", "author", "status", "flag_reason", "note", "R", "t", "euler", "time_spent_s",
                  "landmark_pins", "created_at"]


class AnnotationWriteSerializer(SaveLabelSerializer):
    """POST /api/v1/annotations/: the caller's own label of a face (the labeling
    page's payload plus the face)."""

    face = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[ReviewState.APPROVED.value, ReviewState.REJECTED.value])
    reason = serializers.ChoiceField(choices=RejectReason.choices, required=False, allow_blank=True, default="",
                                     help_text="Why it is rejected (default: other)")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    expected_version = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None,
                                                help_text="The annotation version reviewed (409 if it changed)")


class TokenSerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "read_only", "created_at", "expires_at", "last_used_at", "revoked_at",
                  "is_active"]


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    read_only = serializers.BooleanField(default=False)
    expires_in_days = serializers.IntegerField(min_value=1, max_value=3650, required=False, allow_null=True,
                                               default=None)


class CreatedTokenSerializer(TokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now")

    class Meta(TokenSerializer.Meta):
        fields = TokenSerializer.Meta.fields + ["key"]



class TokenInUseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    read_only = serializers.BooleanField()


class DatasetAccessSerializer(serializers.Serializer):
    visible = serializers.ListField(child=serializers.IntegerField(), help_text="Dataset ids you see")
    labels_readable = serializers.ListField(child=serializers.IntegerField(), help_text="... whose labels you read")
    labeling = serializers.ListField(child=serializers.IntegerField(), help_text="... you label")
    reviewing = serializers.ListField(child=serializers.IntegerField(), help_text="... you review")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    token = TokenInUseSerializer(allow_null=True, help_text="The token of this request (null for a session)")
    datasets = DatasetAccessSerializer()
