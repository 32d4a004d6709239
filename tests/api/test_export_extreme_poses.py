"""Issue 24: one rule for what a pose may be, shared by every writer and every
exporter: the whole head in front of the camera (its nearest point at least
MIN_CLEARANCE_MM away) at the pose's own rotation. A pose the rules allow,
however extreme (a frontal close-up at 120 mm, turned away as near as it may
be, at the depth limit, far to the side, upside down), is stored by every
writer and exports in every format for every label set; a head reaching the
camera (a frontal face at 40 mm or a few micrometres, the back of the head at
120 mm) is refused by every writer with the reason; an old row like that is
named by the export and skipped on request."""

import io
import json
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
from django.db import connection
from django.test import override_settings

from annotator.common.poses import PoseError
from annotator.exports.selectors import LABEL_CHOICES
from annotator.exports.services import run_export_job
from annotator.labeling.services import set_ground_truth
from annotator.models import Annotation, Face, Job, Proposal
from annotator.proposals import services as proposing
from workers.core import geometry
from workers.core.exports import FORMATS, SKIPPED_MANIFEST
from workers.core.pose_rules import MAX_DEPTH_MM, SAFE_DEPTH_MM, nearest_head_z
from workers.core.proposers.base import PoseProposal

pytestmark = pytest.mark.django_db
ALL = sorted(FORMATS)
TURNED_AWAY = geometry.axis_angle_to_matrix([0.0, np.pi, 0.0])  # the back of the head to the camera
CLOSE_UP = [0.0, 0.0, 120.0]  # a tight crop: a frontal head 120 mm away, its nose 77 mm from the camera
TOO_CLOSE = {  # (R, t): the head reaches the camera
    "frontal at 40 mm": (np.eye(3), [0.0, 0.0, 40.0]),
    "frontal a few micrometres away": (np.eye(3), [0.0, 0.0, 0.003]),
    "turned away at 120 mm": (TURNED_AWAY, CLOSE_UP),
}
# turned away as near as it may be: the back of the skull 10.5 mm from the camera
NEAREST_TURNED_AWAY = [0.0, 0.0, float(round(10.5 - nearest_head_z(TURNED_AWAY, [0.0, 0.0, 0.0]), 3))]
UPSIDE_DOWN = geometry.euler_to_matrix([-89.9, 89.9, 179.9])
PROPOSER = SimpleNamespace(config=SimpleNamespace(name="fake", version="1"), weights_sha256="0" * 64)


def r9(R):
    return [float(v) for v in np.asarray(R).reshape(9)]


@pytest.fixture
def priv(world):
    ds = world["datasets"]["priv"]
    faces = list(Face.objects.filter(image__dataset=ds).order_by("pk"))
    return ds, faces, world["objects"]["priv"]["annotation"]


@pytest.mark.parametrize("case", sorted(TOO_CLOSE))
def test_every_writer_refuses_a_head_reaching_the_camera(case, priv, api_as):
    _ds, faces, annotation = priv
    R, t = TOO_CLOSE[case]
    pose = {"R": r9(R), "t": t, "status": "corrected"}
    saves = [
        api_as("annotator").put(
            f"/api/label/faces/{faces[1].pk}/annotation/", {**pose, "expected_version": 0}, format="json"
        ),
        api_as("annotator").post(
            "/api/v1/annotations/", {**pose, "face": faces[1].pk, "expected_version": 0}, format="json"
        ),
        api_as("reviewer").put(
            f"/api/label/review/annotations/{annotation.pk}/correction/",
            {"R": pose["R"], "t": t, "expected_version": annotation.version},
            format="json",
        ),
    ]
    for r in saves:
        assert r.status_code == 400, r.content[:300]
        assert "head would cross the camera plane" in json.dumps(r.json()["t"]), r.json()
        assert "at least 10 mm in front of the camera" in r.json()["detail"]
    with pytest.raises(PoseError, match="head would cross the camera plane"):
        set_ground_truth(face=faces[1], R=R, t=t)  # imports of ground truth
    errors = []
    stored = proposing.store_proposals(
        faces[1].image, [PoseProposal(box=tuple(faces[1].box), R=R, t=np.array(t), score=0.9)], PROPOSER, errors
    )
    assert stored == [] and "head would cross the camera plane" in errors[0]["message"]
    annotation.refresh_from_db()
    assert annotation.version == 1 and not Annotation.objects.filter(face=faces[1], origin="annotator").exists()


@pytest.fixture
def extreme(priv, api_as):
    """Extreme but legal poses on dataset priv, each through its writer."""
    ds, faces, annotation = priv
    r = api_as("reviewer").put(  # a reviewer's correction: turned away, as near as it may be
        f"/api/label/review/annotations/{annotation.pk}/correction/",
        {"R": r9(TURNED_AWAY), "t": NEAREST_TURNED_AWAY, "expected_version": annotation.version},
        format="json",
    )
    assert r.status_code == 200, r.content
    r = api_as("annotator").post(  # an annotator's save: upside down, far to the side, as near as any rotation may
        "/api/v1/annotations/",
        {
            "face": faces[1].pk,
            "R": r9(UPSIDE_DOWN),
            "t": [MAX_DEPTH_MM, -MAX_DEPTH_MM, SAFE_DEPTH_MM],
            "status": "corrected",
            "expected_version": 0,
        },
        format="json",
    )
    assert r.status_code in (200, 201), r.content
    set_ground_truth(face=faces[0], R=UPSIDE_DOWN, t=[0.0, 0.0, MAX_DEPTH_MM])  # at the depth limit
    set_ground_truth(face=faces[1], R=TURNED_AWAY, t=[-MAX_DEPTH_MM, MAX_DEPTH_MM, MAX_DEPTH_MM])
    errors = []
    stored = proposing.store_proposals(
        faces[1].image,
        [PoseProposal(box=tuple(faces[1].box), R=np.eye(3), t=np.array(CLOSE_UP), score=0.9)],  # a close-up
        PROPOSER,
        errors,
    )
    assert len(stored) == 1 and not errors
    return ds, faces


@pytest.mark.parametrize("fmt", ALL)
def test_extreme_legal_poses_export_in_every_format_for_every_label_set(extreme, api_as, fmt):
    ds, _faces = extreme
    client = api_as("reviewer")  # dave reviews priv: he may export it
    for labels in LABEL_CHOICES:
        r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format={fmt}&labels={labels}")
        assert r.status_code == 200, (labels, r.content[:400])
        assert not r.has_header("X-Skipped-Faces"), labels
        data = b"".join(r.streaming_content)
        if FORMATS[fmt].extension == ".zip":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                assert SKIPPED_MANIFEST not in zf.namelist()
    r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format=json&labels=annotations")
    ts = [face["t"] for face in json.loads(b"".join(r.streaming_content))["faces"]]
    assert sorted(ts) == sorted([NEAREST_TURNED_AWAY, [MAX_DEPTH_MM, -MAX_DEPTH_MM, SAFE_DEPTH_MM]])
    r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format=json&labels=proposals")
    assert CLOSE_UP in [face["t"] for face in json.loads(b"".join(r.streaming_content))["faces"]]


@pytest.fixture
def old_rows(extreme):
    """Rows stored before the rule: a ground truth turned away 40 mm from the
    camera and a frontal proposal a few micrometres from it, written straight
    into the tables."""
    ds, faces = extreme
    gt = Annotation.objects.get(face=faces[1], origin="ground_truth")
    proposal = Proposal.objects.filter(face=faces[1]).order_by("-pk").first()
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {Annotation._meta.db_table} SET t = %s WHERE id = %s", ["[0, 0, 40]", gt.pk])
        cur.execute(f"UPDATE {Proposal._meta.db_table} SET t = %s WHERE id = %s", ["[0, 0, 0.003]", proposal.pk])
    return ds, faces[1]


@pytest.mark.parametrize("fmt", ALL)
@pytest.mark.parametrize("labels", ["ground_truth", "proposals"])
def test_an_old_row_reaching_the_camera_is_named_and_skipped_on_request(old_rows, api_as, fmt, labels):
    ds, bad = old_rows
    client = api_as("reviewer")  # dave reviews priv: he may export it
    r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format={fmt}&labels={labels}")
    assert r.status_code == 422 and r.json()["code"] == "invalid_faces", r.content[:300]
    [invalid] = r.json()["invalid_faces"]
    assert invalid["face_id"] == bad.pk and "head would cross the camera plane" in invalid["reason"]
    r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format={fmt}&labels={labels}&skip_invalid=1")
    assert r.status_code == 200 and r["X-Skipped-Faces"] == f"1; face_ids={bad.pk}"
    data = b"".join(r.streaming_content)
    if FORMATS[fmt].extension == ".zip":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert [f["face_id"] for f in json.loads(zf.read(SKIPPED_MANIFEST))["faces"]] == [bad.pk]


@override_settings(HEADPOSE_EXPORT_STREAM_MAX_FACES=1)
def test_an_export_job_with_skip_invalid_finishes_and_reports_the_old_row(
    old_rows, api_as, django_capture_on_commit_callbacks
):
    ds, bad = old_rows
    client = api_as("reviewer")  # dave reviews priv: he may export it
    for fmt in ALL:
        with django_capture_on_commit_callbacks(execute=False):
            r = client.post(
                "/api/v1/exports/",
                {"dataset": ds.pk, "format": fmt, "labels": "best", "skip_invalid": True},
                format="json",
            )
        job = run_export_job(r.json()["id"])  # what the worker runs
        assert job.state == Job.State.DONE, (fmt, job.errors)
        # best: the bad face's annotator label is written; the stored ground truth is not read for it
        assert job.result["rows"] == 2 and job.result["skipped"] == []
        with django_capture_on_commit_callbacks(execute=False):
            r = client.post(
                "/api/v1/exports/",
                {"dataset": ds.pk, "format": fmt, "labels": "ground_truth", "skip_invalid": True},
                format="json",
            )
        job = run_export_job(r.json()["id"])
        assert job.state == Job.State.DONE and job.result["rows"] == 1, (fmt, job.errors)
        assert [f["face_id"] for f in job.result["skipped"]] == [bad.pk]
