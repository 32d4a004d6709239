"""Labeling API.

GET  /api/label/faces/<id>/             the editor state of a face (pose to start from, proposal, K, progress)
PUT  /api/label/faces/<id>/annotation/  save the caller's label (optimistic locking: 409 on a stale version)
POST /api/label/datasets/<id>/next/     claim and return the next face to label
"""
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator import labeling
from annotator.api.errors import conflict_response
from annotator.api.serializers import NextFaceSerializer, SavedLabelSerializer, SaveLabelSerializer
from annotator.models import Dataset, Face
from annotator.poses import PoseError
from annotator.services import VersionConflict


def _face(request, face_id) -> Face:
    try:
        return labeling.face_for_labeling(request.user, face_id)
    except Face.DoesNotExist:
        raise NotFound("No such face.") from None
    except labeling.LabelingDenied as exc:
        raise PermissionDenied(str(exc)) from None


class FaceStateView(APIView):
    @extend_schema(responses={200: dict}, tags=["labeling"])
    def get(self, request, face_id: int):
        return Response(labeling.editor_state(request.user, _face(request, face_id)))


class SaveLabelView(APIView):
    @extend_schema(request=SaveLabelSerializer, responses={200: SavedLabelSerializer}, tags=["labeling"])
    def put(self, request, face_id: int):
        face = _face(request, face_id)
        payload = SaveLabelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            annotation = labeling.save_label(request.user, face, labeling.LabelInput(**payload.validated_data))
        except VersionConflict as exc:
            return conflict_response(exc)
        except PoseError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        # A plain dict in SavedLabelSerializer's shape (documented by it): building
        # a DRF serializer per save costs more than the rest of the view.
        return Response({
            "face_id": face.pk, "version": annotation.version, "status": annotation.status, "R": annotation.R,
            "t": annotation.t, "total_time_s": annotation.total_time_s,
            "updated_at": annotation.updated_at.isoformat().replace("+00:00", "Z"),
        })

    post = put


class NextFaceView(APIView):
    @extend_schema(request=NextFaceSerializer, responses={200: dict}, tags=["labeling"])
    def post(self, request, dataset_id: int):
        try:
            dataset = labeling.dataset_for_labeling(request.user, dataset_id)
        except Dataset.DoesNotExist:
            raise NotFound("No such dataset.") from None
        except labeling.LabelingDenied as exc:
            raise PermissionDenied(str(exc)) from None
        body = NextFaceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        face = labeling.next_face(request.user, dataset, skip_face_id=body.validated_data["skip_face_id"])
        return Response({
            "face_id": None if face is None else face.pk,
            "url": reverse("label-face", args=[face.pk]) if face else reverse("label-dataset", args=[dataset.pk]),
            "progress": labeling.progress(request.user, dataset),
        })
