"""Sequence editor API.

GET /api/label/sequences/<id>/   every frame's label (keyframe | interpolated |
                                 smoothed_proposal), raw proposal, gap and the
                                 spikes; keyframes are saved through the faces'
                                 save API (/api/label/faces/<id>/annotation/)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.common.errors import error_responses
from annotator.labeling.api import ReferenceFaceSerializer
from annotator.sequences import selectors as selectors_sequences
from workers.core.tracking.labels import KINDS


class SequenceFrameSerializer(serializers.Serializer):
    frame_index = serializers.IntegerField()
    timestamp_s = serializers.FloatField(allow_null=True)
    image = serializers.IntegerField(help_text="Image id (its file: /label/images/<id>/file)")
    file_name = serializers.CharField()
    face = serializers.IntegerField(allow_null=True, help_text="The face labeled on this frame (null: none)")
    track_label = serializers.ChoiceField(choices=KINDS, allow_null=True, help_text="What the pose is (null: no pose)")
    R = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="9 floats, row-major")
    t = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="3 floats, mm")
    author = serializers.CharField(allow_null=True, help_text="Who saved the keyframe")
    raw_R = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="The raw proposal of the track on this frame"
    )
    gap_deg = serializers.FloatField(allow_null=True, help_text="Geodesic angle between the label and the raw proposal")
    version = serializers.IntegerField(help_text="Your annotation's version on this face (0: none), for saving")


class SequenceInfoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    fps = serializers.FloatField()
    frame_count = serializers.IntegerField()
    dataset = serializers.IntegerField()


class SequenceImageSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    K = serializers.ListField(child=serializers.FloatField(), allow_null=True)


class SequenceStateSerializer(serializers.Serializer):
    sequence = SequenceInfoSerializer()
    image = SequenceImageSerializer()
    proposer = serializers.CharField(allow_null=True, help_text="name@version of the track's proposals")
    spikes = serializers.ListField(child=serializers.IntegerField(), help_text="Frames where the raw track jumps")
    frames = SequenceFrameSerializer(many=True)
    reference_face = ReferenceFaceSerializer(help_text="The landmark tool's reference points (iBUG-68, head frame, mm)")


class SequenceStateView(APIView):
    @extend_schema(responses={200: SequenceStateSerializer, **error_responses(400, 401, 403, 404)}, tags=["labeling"])
    def get(self, request, sequence_id: int):
        sequence = selectors_sequences.sequence_for(request.user, sequence_id, labeling=True)
        return Response(SequenceStateSerializer(selectors_sequences.sequence_editor_state(request.user, sequence)).data)
