"""REST API v1: datasets, images, faces, proposals, annotations (with revisions
and reviews), exports, tokens. Thin: who-sees-what comes from annotator.access,
writes from the services. Objects outside the caller's reach answer 404."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response

from annotator.common import access, filters
from annotator.common.api import ListAPI
from annotator.common.errors import error_responses
from annotator.common.fields import BoxField, IntrinsicsField, Landmarks2DField, Landmarks3DField
from annotator.datasets.models import IMPORTED_LANDMARKS, Dataset, Face, Image
from annotator.datasets.selectors import (
    face_list,
    image_list,
    visible_datasets,
    visible_faces,
    visible_images,
)
from annotator.datasets.services import change_settings, with_summary_counts

ERRORS = error_responses(400, 401, 403, 404)
# the settings an admin may change through the API (PATCH /api/v1/datasets/ID/)
SETTINGS = [
    "overlap",
    "overlap_mode",
    "honeypot_share",
    "adaptive_sample_share",
    "adaptive_noise_floor_deg",
    "queue_sequence_frames",
]


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
    n_ground_truth = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="null for a caller who may not read the dataset's labels"
    )
    n_proposals = serializers.IntegerField(read_only=True)
    n_annotations = serializers.IntegerField(
        read_only=True, help_text="Annotators' labels: only the caller's own where they may not read every label"
    )

    class Meta:
        model = Dataset
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "is_public",
            "overlap",
            "overlap_mode",
            "queue_sequence_frames",
            "created_at",
            "n_images",
            "n_faces",
            "n_ground_truth",
            "n_proposals",
            "n_annotations",
        ]


# --- datasets, images, faces, proposals -------------------------------------------


class DatasetListAPI(ListAPI):
    serializer_class = DatasetSerializer

    def get_queryset(self):
        return visible_datasets(self.request.user)

    def paginate_queryset(self, queryset):
        # the page's datasets with their figures from their summaries (datasets/services), never counted here
        page = super().paginate_queryset(queryset)
        return None if page is None else with_summary_counts(page, self.request.user)


class DatasetDetailSerializer(DatasetSerializer):
    splits = serializers.SerializerMethodField()

    class Meta(DatasetSerializer.Meta):
        fields = DatasetSerializer.Meta.fields + ["splits"]

    @extend_schema_field(SplitSerializer(many=True))
    def get_splits(self, dataset):
        return SplitSerializer(dataset.splits.all(), many=True).data


class DatasetSettingsSerializer(serializers.ModelSerializer):
    """The dataset's queue settings, the ones the Django admin's form changes."""

    class Meta:
        model = Dataset
        fields = SETTINGS


class DatasetDetailAPI(generics.RetrieveAPIView):
    serializer_class = DatasetDetailSerializer

    def get_queryset(self):
        return visible_datasets(self.request.user)

    def get_object(self):
        return with_summary_counts([super().get_object()], self.request.user)[0]

    @extend_schema(request=DatasetSettingsSerializer, responses={200: DatasetDetailSerializer, **ERRORS})
    def patch(self, request, pk: int):
        """Change the dataset's queue settings (admins): `overlap`, `overlap_mode`,
        `honeypot_share`, `adaptive_sample_share`, `adaptive_noise_floor_deg`,
        `queue_sequence_frames` (hand out the frames of its sequences one by one)."""
        dataset = self.get_object()  # 404 to one who does not see it
        if not access.may_change_dataset_settings(request.user, dataset.pk):
            raise PermissionDenied("Only admins change a dataset's settings.")
        body = DatasetSettingsSerializer(dataset, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        change_settings(dataset, body.validated_data)
        return Response(DatasetDetailSerializer(self.get_object()).data)


class ImageSerializer(serializers.ModelSerializer):
    K = IntrinsicsField()
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = [
            "id",
            "dataset",
            "file_name",
            "width",
            "height",
            "size_bytes",
            "checksum",
            "K",
            "file_url",
            "created_at",
            "sequence",
            "frame_index",
            "timestamp_s",
        ]

    def get_file_url(self, image) -> str:
        return f"/label/images/{image.pk}/file"


@extend_schema(parameters=filters.parameters(filters.ImageFilters))
class ImageListAPI(ListAPI):
    serializer_class = ImageSerializer
    filter_class = filters.ImageFilters

    def get_queryset(self):
        return image_list(self.request.user, self.filters())


class ImageDetailAPI(generics.RetrieveAPIView):
    serializer_class = ImageSerializer

    def get_queryset(self):
        return visible_images(self.request.user)


@extend_schema_serializer(deprecate_fields=["landmark_source"])
class FaceSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="image.dataset_id")
    landmark_source = serializers.CharField(
        source="landmarks_provenance", read_only=True, help_text="Deprecated: landmarks_provenance's old name"
    )
    box = BoxField()
    landmarks_2d = Landmarks2DField(
        allow_null=True,
        help_text="Pixels; imported ones (landmarks_provenance 'dataset') are null unless you read every label",
    )
    landmarks_3d = Landmarks3DField(
        allow_null=True,
        help_text=(
            "Camera frame, mm; null unless you read every label of the dataset (the pose can be computed from them)"
        ),
    )

    def to_representation(self, face):
        data = super().to_representation(face)
        if not access.may_read_labels(self.context["request"].user, face.image.dataset_id):
            data["landmarks_3d"] = None
            if face.landmarks_provenance == IMPORTED_LANDMARKS:  # the dataset's ground truth
                data["landmarks_2d"] = None
        return data

    class Meta:
        model = Face
        fields = [
            "id",
            "image",
            "dataset",
            "index",
            "box",
            "landmarks_2d",
            "landmarks_3d",
            "landmark_scheme",
            "landmarks_provenance",
            "landmark_source",
            "created_at",
        ]


@extend_schema(parameters=filters.parameters(filters.FaceFilters))
class FaceListAPI(ListAPI):
    serializer_class = FaceSerializer
    filter_class = filters.FaceFilters

    def get_queryset(self):
        return face_list(self.request.user, self.filters())


class FaceDetailAPI(generics.RetrieveAPIView):
    serializer_class = FaceSerializer

    def get_queryset(self):
        return visible_faces(self.request.user)
