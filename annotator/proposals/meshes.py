"""Per-face textured meshes (GLB) built on the `cpu` workers."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from annotator.common import pipeline
from annotator.datasets.models import Face
from annotator.proposals.models import FaceMesh
from annotator.proposals.services import read_image_bgr


def queue_meshes(face_ids: list[int]) -> None:
    """Send the faces to the mesh workers; a face without a finished mesh gets
    a 'queued' FaceMesh row, which the reaper re-sends if its task is lost."""
    face_ids = list(face_ids)
    with transaction.atomic():
        FaceMesh.objects.bulk_create([FaceMesh(face_id=pk) for pk in face_ids], ignore_conflicts=True)
        FaceMesh.objects.filter(face_id__in=face_ids).exclude(state=FaceMesh.State.DONE).update(
            state=FaceMesh.State.QUEUED, updated_at=timezone.now()
        )
        pipeline.enqueue("mesh_faces", face_ids)


def queued_meshes(face_ids: list[int]):
    """The rows a running mesh task keeps alive (their updated_at is its lease)."""
    return FaceMesh.objects.filter(face_id__in=face_ids, state=FaceMesh.State.QUEUED)


def build_mesh(face: Face) -> FaceMesh:
    """Mesh one face from its landmarks; a face without landmarks gets the
    state 'no_landmarks' and a message, never an exception."""
    from workers.core.meshing import mesh_face  # heavy (torch, cv2): not imported by the web process

    mesh, _ = FaceMesh.objects.get_or_create(face=face)
    if face.landmarks_2d is None or face.landmarks_3d is None:
        mesh.state, mesh.message = FaceMesh.State.NO_LANDMARKS, "this face has no landmarks (run a proposer first)"
        mesh.save()
        return mesh
    image = face.image
    result = mesh_face(
        read_image_bgr(image),
        np.asarray(face.landmarks_2d, dtype=np.float64),
        np.asarray(face.landmarks_3d, dtype=np.float64),
        face.landmark_scheme,
        image.K_matrix,
        provenance={
            "landmarks_provenance": face.landmarks_provenance,
            "scheme": face.landmark_scheme,
            "image": image.file_name,
            "face_index": face.index,
        },
    )
    mesh.message = result.message or ""
    if result.status == "ok":
        if mesh.glb:
            mesh.glb.delete(save=False)
        mesh.glb.save(f"{image.dataset.name}-{face.pk}.glb", ContentFile(result.glb_bytes), save=False)
        mesh.state = FaceMesh.State.DONE
        mesh.n_vertices, mesh.n_triangles = result.n_vertices, result.n_faces
        mesh.provenance = {k: v for k, v in (result.metadata or {}).items() if k in ("provenance", "mesher", "scheme")}
    elif result.status == "no_landmarks":
        mesh.state = FaceMesh.State.NO_LANDMARKS
    else:
        mesh.state = FaceMesh.State.FAILED
    mesh.save()
    return mesh


def build_meshes(face_ids: list[int]) -> dict:
    states: dict[str, int] = {}
    for face in Face.objects.filter(pk__in=face_ids).select_related("image", "image__dataset"):
        state = build_mesh(face).state
        states[state] = states.get(state, 0) + 1
    return states


@pipeline.step("import_finished", "meshes")
def _mesh_new_faces(outcome: pipeline.ImportOutcome) -> None:
    if outcome.new_image_ids and settings.HEADPOSE_AUTO_MESH:
        queue_meshes(
            list(
                Face.objects.filter(image_id__in=outcome.new_image_ids, landmarks_2d__isnull=False).values_list(
                    "pk", flat=True
                )
            )
        )


@pipeline.step("proposals_stored", "meshes")
def _mesh_proposed_faces(face_ids: list[int]) -> None:
    if face_ids and settings.HEADPOSE_AUTO_MESH:
        queue_meshes(face_ids)
