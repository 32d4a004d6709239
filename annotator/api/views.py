"""Labeling API.

GET  /api/label/faces/<id>/             the editor state of a face (pose to start from, proposal, K, progress)
PUT  /api/label/faces/<id>/annotation/  save the caller's label (optimistic locking: 409 on a stale version)
POST /api/label/datasets/<id>/next/     claim and return the next face to label

Errors (no such face: 404, not an annotator of it: 403, stale version: 409,
bad pose: 400) are raised by annotator.labeling and shaped by annotator.api.errors.
"""
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator import labeling
from annotator.api.errors import error_responses
from annotator.api.serializers import (
    EditorStateSerializer,
    NextFaceResultSerializer,
    NextFaceSerializer,
    SavedLabelSerializer,
    SaveLabelSerializer,
)

ERRORS = error_responses(400, 401, 403, 404)


class FaceStateView(APIView):
    @extend_schema(responses={200: EditorStateSerializer, **ERRORS}, tags=["labeling"])
    def get(self, request, face_id: int):
        face = labeling.face_for_labeling(request.user, face_id)
        return Response(EditorStateSerializer(labeling.editor_state(request.user, face)).data)


class SaveLabelView(APIView):
    @extend_schema(request=SaveLabelSerializer, tags=["labeling"],
                   responses={200: SavedLabelSerializer, **error_responses(409, 413), **ERRORS})
    def put(self, request, face_id: int):
        face = labeling.face_for_labeling(request.user, face_id)
        payload = SaveLabelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        annotation = labeling.save_label(request.user, face, labeling.LabelInput(**payload.validated_data))
        return Response(SavedLabelSerializer(annotation).data)

    post = put


class NextFaceView(APIView):
    @extend_schema(request=NextFaceSerializer, tags=["labeling"],
                   responses={200: NextFaceResultSerializer, **error_responses(413), **ERRORS})
    def post(self, request, dataset_id: int):
        dataset = labeling.dataset_for_labeling(request.user, dataset_id)
        body = NextFaceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        face = labeling.next_face(request.user, dataset, skip_face_id=body.validated_data["skip_face_id"])
        return Response(NextFaceResultSerializer({
            "face_id": None if face is None else face.pk,
            "url": reverse("label-face", args=[face.pk]) if face else reverse("label-dataset", args=[dataset.pk]),
            "progress": labeling.progress(request.user, dataset),
        }).data)
