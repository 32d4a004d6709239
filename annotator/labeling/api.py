"""Serializers of the labeling endpoints (/api/label/): payloads are validated
(a bad one is a 400 with field errors, never a 500) and every answer has a
declared shape."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.common import filters
from annotator.common.api import ListAPI
from annotator.common.errors import error_responses, register_error
from annotator.common.fields import (
    BoxField,
    EulerField,
    IntrinsicsField,
    Landmarks2DField,
    NumberField,
    RotationField,
    RotationInputField,
    TranslationField,
    euler_of,
)
from annotator.common.filters import MAX_ID
from annotator.common.poses import PoseError, clean_translation
from annotator.datasets.models import Face
from annotator.labeling import queue as labeling_queue
from annotator.labeling.editor import face_editor_state
from annotator.labeling.models import Annotation, AnnotationOrigin, AnnotationRevision, AnnotationStatus, FlagReason
from annotator.labeling.queue import LabelInput, next_face, save_label
from annotator.labeling.selectors import annotation_list, dataset_for_labeling, face_for_labeling, readable_annotations
from annotator.labeling.services import ANNOTATOR_STATUSES, VersionConflict
from workers.core.label_rows import deprecated_source
from workers.core.landmark_pins import LANDMARK_COUNT, LandmarkPinsError, check_landmark_pins

_DATETIME = serializers.DateTimeField()

register_error(
    VersionConflict,
    status.HTTP_409_CONFLICT,
    "version_conflict",
    lambda exc: {"current_version": exc.current_version, "expected_version": exc.expected_version},
)


def _iso(value):
    return None if value is None else _DATETIME.to_representation(value)


MAX_NOTE = 2000


class LandmarkPinSerializer(serializers.Serializer):
    index = serializers.IntegerField(min_value=0, max_value=LANDMARK_COUNT - 1, help_text="iBUG-68 landmark index")
    x = NumberField(help_text="Image pixels (OpenCV: 0 is the centre of the first pixel)")
    y = NumberField()

    def to_internal_value(self, data):
        # the rules of workers/core/landmark_pins.py on the raw value: IntegerField alone takes "3" for 3
        try:
            [pin] = check_landmark_pins([data])
        except LandmarkPinsError as exc:
            raise serializers.ValidationError(str(exc).replace("landmark_pins[0]", "pin")) from None
        return super().to_internal_value(pin)


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
        read_only_fields = ["moved_deg", "moved_mm"]
        fields = [
            "id",
            "face",
            "origin",
            "source",
            "author",
            "status",
            "flag_reason",
            "note",
            "R",
            "t",
            "euler",
            "version",
            "proposal",
            "time_spent_s",
            "total_time_s",
            "moved_deg",
            "moved_mm",
            "review_state",
            "reviewed_by",
            "reviewed_at",
            "review_reason",
            "review_note",
            "landmark_pins",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=[deprecated_source(o) for o in AnnotationOrigin.values]))
    def get_source(self, a) -> str:
        return deprecated_source(a.origin)

    def to_representation(self, a):
        # The declared fields above give the schema; this builds the same dict
        # directly (the generic field walk was most of a 100-row page's time).
        # tests/api/test_annotation_resource.py checks the two agree.
        return {
            "id": a.pk,
            "face": a.face_id,
            "origin": a.origin,
            "source": deprecated_source(a.origin),
            "author": a.author.username if a.author_id else None,
            "status": a.status,
            "flag_reason": a.flag_reason,
            "note": a.note,
            "R": a.R,
            "t": a.t,
            "euler": euler_of(a.R),
            "version": a.version,
            "proposal": a.proposal_id,
            "time_spent_s": a.time_spent_s,
            "total_time_s": a.total_time_s,
            "moved_deg": a.moved_deg,
            "moved_mm": a.moved_mm,
            "review_state": a.review_state,
            "reviewed_by": a.reviewed_by.username if a.reviewed_by_id else None,
            "reviewed_at": _iso(a.reviewed_at),
            "review_reason": a.review_reason,
            "review_note": a.review_note,
            "landmark_pins": a.landmark_pins,
            "created_at": _iso(a.created_at),
            "updated_at": _iso(a.updated_at),
        }


class AnnotationDetailAPI(generics.RetrieveAPIView):
    serializer_class = AnnotationSerializer

    def get_queryset(self):
        return readable_annotations(self.request.user)


class RevisionSerializer(serializers.ModelSerializer):
    R = RotationField()
    t = TranslationField()
    euler = EulerField(source="R")
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    landmark_pins = LandmarkPinSerializer(many=True, read_only=True)

    class Meta:
        model = AnnotationRevision
        fields = [
            "id",
            "version",
            "author",
            "status",
            "flag_reason",
            "note",
            "R",
            "t",
            "euler",
            "time_spent_s",
            "moved_deg",
            "moved_mm",
            "landmark_pins",
            "created_at",
        ]
        read_only_fields = ["moved_deg", "moved_mm"]


class AnnotationRevisionsAPI(ListAPI):
    serializer_class = RevisionSerializer

    def get_queryset(self):
        annotation = readable_annotations(self.request.user).get(pk=self.kwargs["pk"])
        return annotation.revisions.select_related("author")


class PoseInputSerializer(serializers.Serializer):
    """A pose someone saves (a label, a reviewer's correction): checked by the pose rules."""

    R = RotationInputField(help_text="Rotation head->camera (OpenCV): 9 numbers row-major, or 3 rows of 3")
    t = serializers.ListField(
        child=NumberField(),
        min_length=3,
        max_length=3,
        allow_null=True,
        required=False,
        default=None,
        help_text="Translation, mm, camera frame",
    )
    time_spent_s = NumberField(min_value=0, max_value=86400, required=False, default=0.0)
    note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")

    def validate_t(self, value):
        try:
            return clean_translation(value)
        except PoseError as exc:
            raise serializers.ValidationError(str(exc)) from None


class SaveLabelSerializer(PoseInputSerializer):
    status = serializers.ChoiceField(choices=sorted(str(s) for s in ANNOTATOR_STATUSES))
    expected_version = serializers.IntegerField(
        min_value=0, max_value=MAX_ID, help_text="The version edited; 0 for a new label"
    )
    flag_reason = serializers.ChoiceField(choices=FlagReason.choices, required=False, allow_blank=True, default="")
    proposal_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)
    landmark_pins = serializers.ListField(
        child=LandmarkPinSerializer(),
        max_length=LANDMARK_COUNT,
        required=False,
        default=list,
        help_text="Landmarks pinned on the page, one per index, inside the image (kept as evidence)",
    )

    def validate_landmark_pins(self, value):
        try:
            return check_landmark_pins([dict(p) for p in value])  # the image bounds: the service checks them
        except LandmarkPinsError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs):
        if attrs["status"] == AnnotationStatus.FLAGGED and not attrs.get("flag_reason"):
            raise serializers.ValidationError({"flag_reason": f"A flag needs a reason: one of {FlagReason.values}."})
        return attrs


class AnnotationWriteSerializer(SaveLabelSerializer):
    """POST /api/v1/annotations/: the caller's own label of a face (the labeling
    page's payload plus the face)."""

    face = serializers.IntegerField(min_value=1, max_value=MAX_ID)


_DATETIME = serializers.DateTimeField()


class SavedLabelSerializer(serializers.Serializer):
    face_id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    R = serializers.ListField(child=serializers.FloatField())
    t = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    total_time_s = serializers.FloatField()
    moved_deg = serializers.FloatField(allow_null=True, help_text="Degrees from the starting proposal (null: none)")
    moved_mm = serializers.FloatField(allow_null=True, help_text="mm of t from the starting proposal (null: none)")
    updated_at = serializers.DateTimeField()

    def to_representation(self, annotation):
        # The fields above give the schema; this builds the same dict directly
        # (every save answers it; the generic field walk cost more than the
        # rest of the view). tests/web/test_labeling_api.py checks the two agree.
        return {
            "face_id": annotation.face_id,
            "version": annotation.version,
            "status": annotation.status,
            "R": annotation.R,
            "t": annotation.t,
            "total_time_s": annotation.total_time_s,
            "moved_deg": annotation.moved_deg,
            "moved_mm": annotation.moved_mm,
            "updated_at": _DATETIME.to_representation(annotation.updated_at),
        }


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(help_text="Faces of the dataset you finished")
    remaining = serializers.IntegerField()
    total = serializers.IntegerField()


# How many faces the labeling page may name in `exclude` / `face_ids` (the one shown and those fetched ahead).
MAX_HELD = 16


def _face_ids(help_text: str, **kwargs):
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_HELD,
        help_text=help_text,
        **kwargs,
    )


class NextFaceSerializer(serializers.Serializer):
    skip_face_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None
    )
    exclude = _face_ids(
        "Faces the page already holds (the one shown, those fetched ahead): left out, and the unfinished ones"
        " count as handed out before this one",
        required=False,
        default=list,
    )
    with_state = serializers.BooleanField(
        required=False, default=False, help_text="Also answer the face's editor state (`state`)"
    )


class ReleaseClaimsSerializer(serializers.Serializer):
    face_ids = _face_ids("Faces fetched ahead that the page will not show", min_length=1)


class ReleaseClaimsResultSerializer(serializers.Serializer):
    released = serializers.IntegerField(help_text="Claims given back")


@extend_schema_field(
    {
        "oneOf": [{"type": "string"}, {"type": "integer"}],
        "description": "A proposer's version (string) or an annotation's version (integer)",
    }
)
class VersionField(serializers.JSONField):
    pass


class PoseOriginSerializer(serializers.Serializer):
    """Where the editor's pose came from: an annotation, a proposal or the frontal default."""

    kind = serializers.ChoiceField(choices=["annotation", "proposal", "default"])
    version = VersionField()
    status = serializers.CharField(required=False, help_text="kind=annotation: its status")
    proposal_id = serializers.IntegerField(required=False, allow_null=True, help_text="kind=proposal")
    proposer = serializers.CharField(required=False)
    score = serializers.FloatField(required=False)
    confidence = serializers.FloatField(required=False, allow_null=True, help_text="kind=proposal, calibrated, 0-1")
    low_confidence = serializers.BooleanField(required=False, help_text="confidence below HEADPOSE_LOW_CONFIDENCE")
    expected_error_deg = serializers.FloatField(
        required=False, allow_null=True, help_text="the expected error behind the confidence, degrees"
    )
    regime = serializers.CharField(required=False, allow_null=True, help_text="frontal, pitched, turned or profile")

    def to_representation(self, origin):
        # only the keys of its kind (DRF would add proposal_id: null to an annotation)
        return {k: v for k, v in super().to_representation(origin).items() if k in origin}


class EditorPoseSerializer(serializers.Serializer):
    R = RotationField()
    t = TranslationField()
    origin = PoseOriginSerializer()


class EditorFaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    index = serializers.IntegerField()
    box = BoxField()
    landmarks_2d = Landmarks2DField()


class EditorImageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    K = IntrinsicsField()


class EditorDatasetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class EditorAnnotationSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    status = serializers.CharField()
    flag_reason = serializers.CharField()
    note = serializers.CharField()
    total_time_s = serializers.FloatField()
    updated_at = serializers.CharField(help_text="ISO 8601")
    landmark_pins = serializers.ListField(
        child=LandmarkPinSerializer(), help_text="The landmarks pinned in this version"
    )
    review_state = serializers.CharField(help_text='A reviewer\'s verdict: "" (none yet), approved, rejected, amended')
    review_reason = serializers.CharField(help_text="Why it was rejected (a RejectReason value), else empty")
    review_reason_text = serializers.CharField(help_text="review_reason in words")
    review_note = serializers.CharField(help_text="The reviewer's note")


class ReferenceFaceSerializer(serializers.Serializer):
    scheme = serializers.CharField(help_text="ibug68")
    version = serializers.CharField()
    landmarks_3d = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()),
        help_text="68 points, head frame, mm (the points the proposers fit)",
    )


class EditorProposalSerializer(serializers.Serializer):
    R = RotationField()
    t = TranslationField()
    proposal_id = serializers.IntegerField()
    proposer = serializers.CharField()
    version = serializers.CharField()
    score = serializers.FloatField()


class EditorLinksSerializer(serializers.Serializer):
    page = serializers.CharField(help_text="The face's labeling page")
    state = serializers.CharField(help_text="GET: this editor state")
    save = serializers.CharField(help_text="PUT: save the label")
    image = serializers.CharField(help_text="The image file")


class EditorSequenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    frame_index = serializers.IntegerField()
    url = serializers.CharField(help_text="The sequence's timeline page")


class EditorStateSerializer(serializers.Serializer):
    """Everything the labeling page needs about one face (labeling/editor.face_editor_state)."""

    face = EditorFaceSerializer()
    image = EditorImageSerializer()
    dataset = EditorDatasetSerializer()
    initial = EditorPoseSerializer(help_text="The pose to start from: your last save, else the reference")
    reference = EditorPoseSerializer(help_text="What 'reset' goes back to: the preferred proposal, else frontal")
    annotation = EditorAnnotationSerializer(allow_null=True, help_text="Your label of this face (null: none yet)")
    progress = ProgressSerializer()
    reference_face = ReferenceFaceSerializer(help_text="What the landmark handles are drawn and solved from")
    face_landmarks_ibug68 = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()),
        allow_null=True,
        help_text="The face's own landmarks in iBUG-68 order, for snap (null: none)",
    )
    proposals = EditorProposalSerializer(many=True, help_text="The newest proposal of each proposer")
    links = EditorLinksSerializer(help_text="Where the page finds this face")
    sequence = EditorSequenceSerializer(allow_null=True, help_text="A frame's sequence (null: a photo)")


class NextFaceResultSerializer(serializers.Serializer):
    face_id = serializers.IntegerField(allow_null=True, help_text="null: nothing left to label")
    url = serializers.CharField(help_text="The labeling page of the face (or of the dataset when none is left)")
    progress = ProgressSerializer()
    claim_ttl_s = serializers.IntegerField(help_text="How long the claim on the face holds, seconds")
    state = EditorStateSerializer(
        required=False, allow_null=True, help_text="with_state: the face's editor state (null: none left)"
    )


ERRORS = error_responses(400, 401, 403, 404)


# --- annotations -------------------------------------------------------------------


@extend_schema_view(get=extend_schema(parameters=filters.parameters(filters.AnnotationFilters)))
class AnnotationListAPI(ListAPI):
    serializer_class = AnnotationSerializer
    filter_class = filters.AnnotationFilters

    def get_queryset(self):
        return annotation_list(self.request.user, self.filters())

    @extend_schema(
        request=AnnotationWriteSerializer,
        responses={201: AnnotationSerializer, 200: AnnotationSerializer, **error_responses(409, 413), **ERRORS},
    )
    def post(self, request):
        """Save the caller's own label of a face (an annotator of its dataset).
        expected_version 0 creates it (201); the current version updates it (200)."""
        payload = AnnotationWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        face_id = data.pop("face")
        try:
            face = face_for_labeling(request.user, face_id)
        except Face.DoesNotExist:  # a body field naming nothing: invalid input, not a missing resource
            raise serializers.ValidationError({"face": ["No such face."]}) from None
        annotation = save_label(request.user, face, LabelInput(**data))
        code = status.HTTP_201_CREATED if annotation.version == 1 else status.HTTP_200_OK
        return Response(AnnotationSerializer(annotation).data, status=code)


class FaceStateView(APIView):
    @extend_schema(responses={200: EditorStateSerializer, **ERRORS}, tags=["labeling"])
    def get(self, request, face_id: int):
        face = face_for_labeling(request.user, face_id)
        return Response(EditorStateSerializer(face_editor_state(request.user, face)).data)


class SaveLabelView(APIView):
    @extend_schema(
        request=SaveLabelSerializer,
        tags=["labeling"],
        responses={200: SavedLabelSerializer, **error_responses(409, 413), **ERRORS},
    )
    def put(self, request, face_id: int):
        face = face_for_labeling(request.user, face_id)
        payload = SaveLabelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        annotation = save_label(request.user, face, LabelInput(**payload.validated_data))
        return Response(SavedLabelSerializer(annotation).data)

    post = put


class NextFaceView(APIView):
    @extend_schema(
        request=NextFaceSerializer,
        tags=["labeling"],
        responses={200: NextFaceResultSerializer, **error_responses(413), **ERRORS},
    )
    def post(self, request, dataset_id: int):
        """The next face for the caller, claimed. The labeling page asks for it
        ahead, naming the faces it holds (`exclude`) and asking for its editor
        state (`with_state`), so it shows the face in place without a reload."""
        dataset = dataset_for_labeling(request.user, dataset_id)
        body = NextFaceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        face = next_face(request.user, dataset, skip_face_id=data["skip_face_id"], exclude=data["exclude"])
        result = {
            "face_id": None if face is None else face.pk,
            "url": reverse("label-face", args=[face.pk]) if face else reverse("label-dataset", args=[dataset.name]),
            "claim_ttl_s": int(labeling_queue.CLAIM_TTL.total_seconds()),
        }
        if data["with_state"]:
            # the face next_face claimed is one the caller may label (dataset_for_labeling above)
            state = None if face is None else face_editor_state(request.user, face)
            result["state"] = state
            result["progress"] = state["progress"] if state else labeling_queue.labeling_progress(request.user, dataset)
        else:
            result["state"] = None
            result["progress"] = labeling_queue.labeling_progress(request.user, dataset)
        # already JSON-ready and of NextFaceResultSerializer's shape (tests/api/test_next_face_shape.py
        # holds them equal): running the nested serializer would copy ~90 fields a request
        return Response(result)


class ReleaseClaimsView(APIView):
    @extend_schema(
        request=ReleaseClaimsSerializer,
        tags=["labeling"],
        responses={200: ReleaseClaimsResultSerializer, **error_responses(413), **ERRORS},
    )
    def post(self, request, dataset_id: int):
        """Give back the caller's claims on faces the labeling page fetched ahead
        and will not show (it sends this when it closes: JSON, or a form through
        navigator.sendBeacon with the CSRF token as `csrfmiddlewaretoken`)."""
        dataset = dataset_for_labeling(request.user, dataset_id)
        body = ReleaseClaimsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        released = labeling_queue.release_claims(request.user, dataset, body.validated_data["face_ids"])
        return Response(ReleaseClaimsResultSerializer({"released": released}).data)
