import numpy as np
import pytest

from annotator.common.poses import PoseError
from annotator.labeling.services import VersionConflict, save_annotation, set_ground_truth
from annotator.models import Annotation, AnnotationRevision, Dataset, Face, Image
from workers.core import geometry

pytestmark = pytest.mark.django_db


@pytest.fixture
def face():
    ds = Dataset.objects.create(name="d")
    image = Image.objects.create(
        dataset=ds,
        file="x.png",
        file_name="x.png",
        width=100,
        height=80,
        size_bytes=1,
        checksum="0" * 64,
        K=geometry.default_intrinsics(100, 80).reshape(-1).tolist(),
    )
    return Face.objects.create(image=image, box=[10, 10, 50, 50])


R1 = geometry.euler_to_matrix([10, -5, 3])
R2 = geometry.euler_to_matrix([12, -4, 1])


def test_saves_create_versions_and_keep_every_revision(face, bob):
    a = save_annotation(face=face, author=bob, R=R1, t=[0, 0, 600], status="accepted", expected_version=0)
    assert a.version == 1
    a = save_annotation(
        face=face, author=bob, R=R2, t=[1, 0, 600], status="corrected", expected_version=1, time_spent_s=4.5
    )
    assert a.version == 2 and a.total_time_s == 4.5
    revisions = list(AnnotationRevision.objects.filter(annotation=a).order_by("version"))
    assert [r.version for r in revisions] == [1, 2]
    assert np.allclose(np.reshape(revisions[0].R, (3, 3)), R1)
    assert np.allclose(np.reshape(revisions[1].R, (3, 3)), R2)


def test_saving_over_a_newer_version_conflicts_and_writes_nothing(face, bob):
    save_annotation(face=face, author=bob, R=R1, t=None, status="accepted", expected_version=0)
    save_annotation(face=face, author=bob, R=R2, t=None, status="corrected", expected_version=1)
    with pytest.raises(VersionConflict) as caught:
        save_annotation(face=face, author=bob, R=R1, t=None, status="corrected", expected_version=1)
    assert caught.value.current_version == 2
    a = Annotation.objects.get()
    assert a.version == 2 and np.allclose(a.R_matrix, R2)
    assert AnnotationRevision.objects.count() == 2


def test_a_first_save_claiming_a_version_conflicts(face, bob):
    with pytest.raises(VersionConflict):
        save_annotation(face=face, author=bob, R=R1, t=None, status="accepted", expected_version=3)


@pytest.mark.parametrize(
    "R, t, status, reason, message",
    [
        (np.eye(3) * 2, None, "accepted", "", "not a rotation"),
        (np.diag([1, 1, -1]), None, "accepted", "", "not a rotation"),
        ([1, 2, 3], None, "accepted", "", "9 numbers"),
        ([[float("nan")] * 3] * 3, None, "accepted", "", "NaN"),
        (np.eye(3), [0, 0], "accepted", "", "3 numbers"),
        (np.eye(3), [0, 0, float("inf")], "accepted", "", "infinity"),
        (np.eye(3), None, "great", "", "status must be"),
        (np.eye(3), None, "flagged", "", "needs a reason"),
    ],
)
def test_bad_poses_are_refused_with_the_reason(face, bob, R, t, status, reason, message):
    with pytest.raises(PoseError, match=message):
        save_annotation(face=face, author=bob, R=R, t=t, status=status, flag_reason=reason, expected_version=0)
    assert not Annotation.objects.exists()


def test_rounded_rotations_from_a_browser_are_snapped_to_so3(face, bob):
    rounded = np.round(R1, 5)
    a = save_annotation(face=face, author=bob, R=rounded, t=None, status="corrected", expected_version=0)
    assert geometry.is_rotation(a.R_matrix, tol=1e-12)
    assert geometry.geodesic_distance(a.R_matrix, R1) < 1e-3


def test_ground_truth_is_a_dataset_annotation(face):
    gt = set_ground_truth(face=face, R=R1, t=[0, 0, 700])
    assert gt.origin == "ground_truth" and gt.author is None and gt.status == "ground_truth"
    assert set_ground_truth(face=face, R=R1, t=[0, 0, 700]).version == 1  # same value: no new version
    assert set_ground_truth(face=face, R=R2, t=[0, 0, 700]).version == 2
