"""Landmark pins through the labeling API: saved with the annotation and its
revision, refused with a 400 and a reason when malformed, outside the image or
far from the pose they are saved with (nothing stored), shown in the page state and the v1 API, and exported in JSON.
Also what the page gets to draw and solve with: the reference face's 3D
landmarks, the face's own landmarks in iBUG-68 order, the proposals."""

import io
import json

import numpy as np
import pytest

from annotator.exports.selectors import label_rows
from annotator.models import Annotation, AnnotationRevision, Face
from tests.browser.data import add_proposal, make_dataset
from tests.web.test_labeling_api import R1, put
from workers.core import geometry
from workers.core.exports import write_export
from workers.core.landmark_pins import PINS_MATCH_FLOOR_PX, PINS_MATCH_LIMIT_MM, check_landmark_pins
from workers.core.proposers.parts.reference_face import load_reference_face

pytestmark = pytest.mark.django_db

WIDTH, HEIGHT = 320, 240
T1 = [1.5, -2.0, 640.0]  # put()'s pose: R1, T1
# where put()'s pose puts each reference landmark on the 320x240 image (default K)
AT_POSE = geometry.project(load_reference_face().points68, R1, T1, geometry.default_intrinsics(WIDTH, HEIGHT))


def pins_at_pose(indexes, off=(0.0, 0.0)) -> list[dict]:
    return [{"index": i, "x": float(AT_POSE[i, 0] + off[0]), "y": float(AT_POSE[i, 1] + off[1])} for i in indexes]


PINS = pins_at_pose([45, 36], off=(0.25, -0.5))


@pytest.fixture
def face(assigned):
    dataset = assigned(make_dataset("pins", n_faces=1, width=WIDTH, height=HEIGHT))
    return Face.objects.get(image__dataset=dataset)


def test_pins_are_saved_with_the_annotation_and_each_revision(client, bob, face):
    client.force_login(bob)
    assert put(client, face, landmark_pins=PINS).status_code == 200
    a = Annotation.objects.get(face=face, author=bob)
    assert a.landmark_pins == sorted(PINS, key=lambda p: p["index"])
    assert put(client, face, expected_version=1).status_code == 200  # a save without pins has none
    a.refresh_from_db()
    assert a.landmark_pins == []
    revisions = AnnotationRevision.objects.filter(annotation=a).order_by("version")
    assert [len(r.landmark_pins) for r in revisions] == [2, 0]
    r = client.get(f"/api/v1/annotations/{a.pk}/")
    assert r.status_code == 200 and r.json()["landmark_pins"] == []
    put(client, face, expected_version=2, landmark_pins=PINS)
    state = client.get(f"/api/label/faces/{face.pk}/").json()
    assert state["annotation"]["landmark_pins"] == sorted(PINS, key=lambda p: p["index"])
    assert client.get(f"/api/v1/annotations/{a.pk}/").json()["landmark_pins"] == state["annotation"]["landmark_pins"]


@pytest.mark.parametrize(
    "pins",
    [
        "abc",
        [{"index": 68, "x": 1, "y": 1}],
        [{"index": "3", "x": 1, "y": 1}],
        [{"index": 1.5, "x": 1, "y": 1}],
        [{"index": 3, "x": "1", "y": 1}],
        [{"index": 3, "x": True, "y": 1}],
        [{"index": 3, "x": 1}],
        [{"index": 3, "x": 1, "y": 1}, {"index": 3, "x": 2, "y": 1}],
        [{"index": 3, "x": 320.0, "y": 1}],
        [{"index": 3, "x": 10, "y": 1e300}],
        [{"index": 3, "x": 10, "y": -1}],
        [{"index": i, "x": 1, "y": 1} for i in range(68)] + [{"index": 0, "x": 2, "y": 2}],
    ],
)
def test_bad_pins_are_400_with_a_reason_and_nothing_is_stored(client, bob, face, pins):
    client.force_login(bob)
    r = put(client, face, landmark_pins=pins)
    assert r.status_code == 400, r.content
    body = r.json()
    assert "landmark_pins" in body or "detail" in body, body
    assert not Annotation.objects.filter(face=face).exists()


def test_all_68_pins_where_the_pose_puts_them_are_fine_and_the_image_edges_count_as_inside(client, bob, face):
    client.force_login(bob)
    assert put(client, face, landmark_pins=pins_at_pose(range(68))).status_code == 200
    edges = [{"index": i, "x": -0.5 + i, "y": 239.5} for i in range(68)]
    assert check_landmark_pins(edges, WIDTH, HEIGHT) == edges


def test_pins_that_do_not_match_the_pose_are_a_400_naming_the_rmse_and_the_limit(client, bob, face):
    """An API client too: POST /api/v1/annotations/ with pins 20 px off where the pose puts
    their landmarks is refused, nothing stored; within a pixel of them it is stored."""
    client.force_login(bob)
    body = {"face": face.pk, "R": R1.reshape(-1).tolist(), "t": T1, "status": "corrected", "expected_version": 0}
    off = pins_at_pose([36, 45, 30, 48, 54, 8], off=(20.0, 0.0))
    r = client.post("/api/v1/annotations/", {**body, "landmark_pins": off}, content_type="application/json")
    assert r.status_code == 400, r.content
    text = json.dumps(r.json())
    limit = max(PINS_MATCH_FLOOR_PX, PINS_MATCH_LIMIT_MM * WIDTH / T1[2])  # default K: f = the image width
    assert (
        "do not match the pose" in text
        and "RMSE at this pose is 20.0 px" in text
        and f"limit of {limit:.1f} px" in text
    )
    assert not Annotation.objects.filter(face=face).exists()
    good = pins_at_pose([36, 45, 30, 48, 54, 8], off=(0.5, -0.5))
    r = client.post("/api/v1/annotations/", {**body, "landmark_pins": good}, content_type="application/json")
    assert r.status_code in (200, 201), r.content


def test_pins_are_exported_in_json(client, bob, face):
    client.force_login(bob)
    put(client, face, landmark_pins=PINS)
    rows = list(label_rows(face.image.dataset, "accepted"))
    out = io.BytesIO()
    write_export("json", rows, out, {})
    [exported] = json.loads(out.getvalue())["faces"]
    assert exported["landmark_pins"] == sorted(PINS, key=lambda p: p["index"])


def test_the_page_state_carries_the_reference_landmarks_own_landmarks_and_proposals(client, bob, face):
    client.force_login(bob)
    add_proposal(face, "fused", euler=(10, 0, 0))
    add_proposal(face, "fsanet", euler=(20, 0, 0))
    ref = load_reference_face()
    face.landmarks_2d = (np.arange(468 * 2).reshape(468, 2) * 0.1).tolist()
    face.landmark_scheme = "mediapipe468"
    face.save()
    state = client.get(f"/api/label/faces/{face.pk}/").json()
    assert np.array_equal(state["reference_face"]["landmarks_3d"], ref.points68)
    assert np.allclose(state["face_landmarks_ibug68"], np.asarray(face.landmarks_2d)[ref.ibug68_from_mesh468])
    assert sorted(p["proposer"] for p in state["proposals"]) == ["fsanet", "fused"]
    face.landmark_scheme, face.landmarks_2d = "", None
    face.save()
    assert client.get(f"/api/label/faces/{face.pk}/").json()["face_landmarks_ibug68"] is None
