"""Malformed poses are never stored, whichever path writes them: the API's
annotation save, the labeling page's save and drafts, imports, proposals and
prediction uploads all refuse them with the reason (annotator/poses.py)."""

import io
import json
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from annotator.common.poses import PoseError
from annotator.labeling.services import save_annotation, set_ground_truth
from annotator.models import Annotation, AnnotationRevision, Face, Image, Job, Proposal
from annotator.proposals import services as proposing
from tests.browser.data import make_dataset
from workers.core import geometry
from workers.core.proposers.base import PoseProposal

pytestmark = pytest.mark.django_db

R9 = geometry.euler_to_matrix([12.5, -7.25, 4.0]).reshape(-1).tolist()

# (payload change, field, message): each a pose that must never be stored
BAD = {
    "t = 1e308": ({"t": [1e308, 1e308, 1e308]}, "t", "too far"),
    "t behind the camera": ({"t": [0, 0, -600]}, "t", "behind the camera"),
    "t at the camera": ({"t": [0, 0, 0]}, "t", "behind the camera"),
    "t beyond 10 m": ({"t": [0, 0, 10_001]}, "t", "the limit is 10000 mm"),
    "t far to the side": ({"t": [20_000, 0, 600]}, "t", "too far to the side"),
    "t infinite (1e999)": ({"t": [0, 0, "1e999"]}, "t", ""),
    "t booleans": ({"t": [True, False, True]}, "t", "number"),
    "t strings": ({"t": ["1", "2", "600"]}, "t", "number"),
    "t None inside": ({"t": [0, None, 600]}, "t", ""),
    "t nested": ({"t": [[0], [0], [600]]}, "t", "number"),
    "t huge int": ({"t": [0, 0, 10**400]}, "t", "too large"),
    "R booleans": ({"R": [True, False, False, False, True, False, False, False, True]}, "R", "number"),
    "R strings": ({"R": ["1", "0", "0", "0", "1", "0", "0", "0", "1"]}, "R", "number"),
    "R None inside": ({"R": [1, 0, 0, 0, 1, 0, 0, 0, None]}, "R", ""),
    "R nested deeper": ({"R": [[[1], 0, 0], [0, 1, 0], [0, 0, 1]]}, "R", "number"),
    "R rows not of 3": ({"R": [[1, 0, 0], [0, 1, 0], [0, 0]]}, "R", "9 numbers, or 3 rows of 3"),
    "R huge int": ({"R": [10**400, 0, 0, 0, 1, 0, 0, 0, 1]}, "R", "too large"),
    "R 1e308": ({"R": [1e308] * 9}, "R", "not a rotation"),
}


def _body(change: dict, **extra) -> str:
    body = {"R": R9, "t": [1.5, -2.0, 640.0], "status": "corrected", "expected_version": 0, **extra, **change}
    text = json.dumps(body)
    return text.replace('"1e999"', "1e999")  # JSON's overflowing literal, as a client may send it


@pytest.fixture
def face(assigned):
    dataset = assigned(make_dataset("lab", n_faces=2))
    return Face.objects.filter(image__dataset=dataset).order_by("image__file_name").first()


def _nothing_stored():
    assert not Annotation.objects.filter(origin="annotator").exists()
    assert not AnnotationRevision.objects.filter(annotation__origin="annotator").exists()


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("status", ["corrected", "draft"])
def test_labeling_page_saves_and_drafts_refuse_bad_poses(case, status, client, bob, face):
    change, field, message = BAD[case]
    client.force_login(bob)
    r = client.put(
        f"/api/label/faces/{face.pk}/annotation/", _body(change, status=status), content_type="application/json"
    )
    assert r.status_code == 400, (case, r.status_code, r.content[:300])
    assert field in r.json() and message in json.dumps(r.json()), r.json()
    _nothing_stored()


@pytest.mark.parametrize("case", sorted(BAD))
def test_api_annotation_save_refuses_bad_poses(case, client, bob, face):
    change, field, message = BAD[case]
    client.force_login(bob)
    r = client.post("/api/v1/annotations/", _body(change, face=face.pk), content_type="application/json")
    assert r.status_code == 400, (case, r.status_code, r.content[:300])
    assert field in r.json() and message in json.dumps(r.json()), r.json()
    _nothing_stored()


def test_a_good_pose_still_saves_through_both(client, bob, face):
    client.force_login(bob)
    r = client.put(f"/api/label/faces/{face.pk}/annotation/", _body({}), content_type="application/json")
    assert r.status_code == 200, r.content
    r = client.post(
        "/api/v1/annotations/", _body({}, face=face.pk, expected_version=1), content_type="application/json"
    )
    assert r.status_code == 200, r.content
    assert Annotation.objects.get(origin="annotator").t == [1.5, -2.0, 640.0]


@pytest.mark.parametrize(
    "t, message",
    [([0, 0, -1], "behind the camera"), ([0, 0, 1e308], "too far"), ([0, 0, 5000], "the limit is 4000 mm")],
)
def test_services_apply_the_depth_setting(face, bob, t, message, settings):
    settings.HEADPOSE_MAX_DEPTH_MM = 4000
    with pytest.raises(PoseError, match=message):
        save_annotation(face=face, author=bob, R=R9, t=t, status="accepted", expected_version=0)
    with pytest.raises(PoseError, match=message):
        set_ground_truth(face=face, R=R9, t=t)
    assert not Annotation.objects.exists() and not AnnotationRevision.objects.exists()


def test_an_import_with_an_impossible_pose_is_a_per_file_error(tmp_path, aflw_samples_dir):
    import scipy.io

    mat = scipy.io.loadmat(aflw_samples_dir / "image00514.mat")
    mat["Pose_Para"] = mat["Pose_Para"].copy()
    mat["Pose_Para"][0, 6] = 1e-9  # a scale that puts the head thousands of km away
    buf = io.BytesIO()
    scipy.io.savemat(buf, {k: v for k, v in mat.items() if not k.startswith("__")})
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(aflw_samples_dir / "image00050.jpg", "image00050.jpg")
        zf.write(aflw_samples_dir / "image00050.mat", "image00050.mat")
        zf.write(aflw_samples_dir / "image00514.jpg", "image09514.jpg")
        zf.writestr("image09514.mat", buf.getvalue())
    with pytest.raises(CommandError, match="1 imported"):
        call_command("import_aflw2000", str(path), dataset="poses", verbosity=0)
    job = Job.objects.get()
    assert job.state == "done_with_errors"
    assert [e["name"] for e in job.errors] == ["image09514.jpg"] and "t is too far" in job.errors[0]["message"]
    assert list(Image.objects.values_list("file_name", flat=True)) == ["image00050.jpg"]
    assert Annotation.objects.count() == 1


def test_a_proposal_with_an_impossible_pose_is_not_stored(face):
    proposer = SimpleNamespace(config=SimpleNamespace(name="fake", version="1"), weights_sha256="0" * 64)
    R = geometry.euler_to_matrix([5.0, 0.0, 0.0])
    box = tuple(face.box)
    good = PoseProposal(box=box, R=R, t=np.array([0.0, 0.0, 700.0]), score=0.9)
    behind = PoseProposal(box=(0, 0, 5, 5), R=R, t=np.array([0.0, 0.0, -700.0]), score=0.9)
    far = PoseProposal(box=(100, 100, 120, 120), R=R, t=np.array([0.0, 0.0, 1e300]), score=0.9)
    errors, faces_before = [], Face.objects.filter(image=face.image).count()
    stored = proposing.store_proposals(face.image, [behind, good, far], proposer, errors)
    assert [p.face_id for p in stored] == [face.pk]
    assert Proposal.objects.count() == 1 and Proposal.objects.get().t == [0.0, 0.0, 700.0]
    assert Face.objects.filter(image=face.image).count() == faces_before  # no face made for a refused proposal
    messages = [e["message"] for e in errors]
    assert len(messages) == 2 and "behind the camera" in messages[0] and "too far" in messages[1]
    assert all(e["name"] == face.image.file_name for e in errors)


def test_prediction_uploads_refuse_booleans_and_strings_for_R(client, carol):
    from tests.web.test_evaluation_validation import make_benchmark

    b, _ = make_benchmark(n=2)
    client.force_login(carol)
    for R in ([True, False, False, False, True, False, False, False, True], ["1", 0, 0, 0, 1, 0, 0, 0, 1]):
        f = io.BytesIO(json.dumps([{"id": "img000.jpg", "R": R}]).encode())
        f.name = "p.json"
        r = client.post(f"/api/v1/benchmarks/{b.pk}/entries/", {"file": f})
        assert r.status_code == 400 and "R[0] must be a number, not" in r.json()["detail"]


def test_leaderboard_proposer_runs_keep_only_sane_poses_as_predictions():
    """Proposer runs store per-sample predictions: the same pose rules apply, and a
    refused pose counts as no prediction with the reason (never a stored bad R)."""
    from evaluation.proposer_runs import _checked_row

    R = geometry.euler_to_matrix([10.0, -5.0, 3.0])
    good = _checked_row("a", PoseProposal(box=(0, 0, 5, 5), R=R, t=np.array([0.0, 0.0, 700.0]), score=0.9))
    assert good["R"] == pytest.approx(R.reshape(9).tolist()) and good["t"] == [0.0, 0.0, 700.0]
    rotation_only = _checked_row("b", PoseProposal(box=(0, 0, 5, 5), R=R, t=None, score=0.9))
    assert rotation_only["t"] is None and rotation_only["R"] is not None
    for bad in (
        PoseProposal(box=(0, 0, 5, 5), R=R, t=np.array([0.0, 0.0, -700.0]), score=0.9),
        # PoseProposal refuses these itself; a proposer's own result type may not
        SimpleNamespace(box=(0, 0, 5, 5), R=2 * R, t=np.array([0.0, 0.0, 700.0])),
        SimpleNamespace(box=(0, 0, 5, 5), R=np.full((3, 3), np.nan), t=None),
    ):
        row = _checked_row("c", bad)
        assert row["R"] is None and row["message"].startswith("proposal not stored:"), row
