import csv
import io

import numpy as np
import pytest
import scipy.io
from django.core.management import call_command

from annotator.models import Annotation, AnnotationOrigin, Dataset, Image, Job, Split
from workers.core import geometry

pytestmark = pytest.mark.django_db


def _pose_para(path):
    p = scipy.io.loadmat(path)["Pose_Para"].reshape(-1)
    return np.rad2deg([p[1], p[0], p[2]])  # [yaw, pitch, roll]


def test_it_imports_the_real_samples_with_their_ground_truth(aflw_samples_dir):
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    dataset = Dataset.objects.get(name="aflw")
    assert dataset.kind == "aflw2000"
    images = Image.objects.filter(dataset=dataset)
    assert images.count() == 10
    for image in images:
        gt = Annotation.objects.get(face__image=image, origin=AnnotationOrigin.GROUND_TRUTH)
        expected = _pose_para(aflw_samples_dir / image.file_name.replace(".jpg", ".mat"))
        assert np.abs(geometry.matrix_to_euler(gt.R_matrix) - expected).max() < 1e-4
        # R is exactly the convention's formula R = Rx(-pitch) Ry(yaw) Rz(roll)
        y, p, r = np.deg2rad(expected)
        Rx = np.array([[1, 0, 0], [0, np.cos(-p), -np.sin(-p)], [0, np.sin(-p), np.cos(-p)]])
        Ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
        Rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
        assert np.allclose(gt.R_matrix, Rx @ Ry @ Rz, atol=1e-9)
        face = gt.face
        assert len(face.landmarks_2d) == 68 and len(face.landmarks_3d) == 68
        assert image.K[0] == 4500.0  # the documented weak-perspective camera: f = 10 * max(w, h)
        # t is the centroid of the 68 camera-frame landmarks
        assert np.allclose(gt.t, np.mean(face.landmarks_3d, axis=0))


def test_reimporting_is_idempotent(aflw_samples_dir):
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    assert Image.objects.count() == 10
    assert Annotation.objects.count() == 10
    last = Job.objects.order_by("-pk").first()
    assert (last.succeeded, last.unchanged, last.state) == (0, 10, "done")


def test_it_builds_the_all_and_p1_splits(aflw_samples_dir):
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    splits = {s.name: s for s in Split.objects.filter(dataset__name="aflw")}
    assert len(splits["all"].sample_names) == 10
    expected_p1 = sorted(
        p.name.replace(".mat", ".jpg") for p in aflw_samples_dir.glob("*.mat") if np.all(np.abs(_pose_para(p)) <= 99)
    )
    assert splits["p1"].sample_names == expected_p1
    assert splits["p1"].images.count() == len(expected_p1)
    # building again with the same content keeps version 1
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    assert Split.objects.filter(dataset__name="aflw", name="p1").count() == 1


def test_export_labels_csv_reads_back(aflw_samples_dir, tmp_path):
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    out = tmp_path / "labels.csv"
    call_command("export_labels", dataset="aflw", format="csv", output=str(out), stderr=io.StringIO())
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 10
    for row in rows:
        expected = _pose_para(aflw_samples_dir / row["image"].replace(".jpg", ".mat"))
        got = [float(row["yaw"]), float(row["pitch"]), float(row["roll"])]
        assert np.abs(np.array(got) - expected).max() < 1e-5
        R = np.array([float(row[f"r{i}{j}"]) for i in range(3) for j in range(3)]).reshape(3, 3)
        assert geometry.is_rotation(R, tol=1e-9)
        assert row["origin"] == "ground_truth" and row["face_index"] == "0"
        assert float(row["tz"]) > 1000  # mm, in front of the camera
