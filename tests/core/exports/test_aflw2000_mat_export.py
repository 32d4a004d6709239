"""`aflw2000_mat` export: every .mat opened with scipy.io.loadmat and checked
with hand-written rotations and projections, then the whole zip read back by
the project's own AFLW2000 reader."""

import io
import zipfile

import numpy as np
import scipy.io

from workers.core import geometry
from workers.core.exports import write_export
from workers.core.formats import aflw2000
from workers.core.proposers.parts.reference_face import load_reference_face

from ..formats.helpers import rx, ry, rz
from .factories import META, angle_difference, png, projection, random_rows, scipy_euler


def export(rows):
    out = io.BytesIO()
    assert write_export("aflw2000_mat", rows, out, META) == len(rows)
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def mat_of(zf, name):
    return scipy.io.loadmat(io.BytesIO(zf.read(name)))


def member(row):
    stem = row.image.rsplit(".", 1)[0]
    return f"{stem}.mat" if row.face_index == 0 else f"{stem}_face{row.face_index}.mat"


def reference_landmarks(row, t):
    return load_reference_face().points68 @ np.asarray(row.R).T + t


def test_member_names_follow_the_aflw_pairing():
    rows = random_rows(3, seed=21, names=["image00002.jpg", "sub/image00013.jpg", "x/y.z.png"], faces_per_image=(2, 3))
    zf = export(rows)
    expected = {member(r) for r in rows}
    assert expected >= {"image00002.mat", "image00002_face1.mat", "sub/image00013.mat", "x/y.z.mat"}
    assert set(zf.namelist()) == expected | {"README.txt"}


def test_pose_para_angles_and_projected_landmarks():
    rows = random_rows(25, seed=22)
    zf = export(rows)
    for row in rows:
        mat = mat_of(zf, member(row))
        pitch, yaw, roll, _tx, _ty, _tz, s = mat["Pose_Para"].reshape(7)
        # AFLW convention written out by hand: R = Rx(-pitch) Ry(yaw) Rz(roll)
        assert np.abs(rx(-pitch) @ ry(yaw) @ rz(roll) - row.R).max() < 1e-9
        assert np.abs(angle_difference(np.degrees([yaw, pitch, roll]), scipy_euler(row.R))).max() < 1e-6
        # s = fx / (1000 t_z), as the camera model in formats/aflw2000.py says
        assert abs(s - row.K[0, 0] / (1000 * row.t[2])) < 1e-9 * s
        pt3d = mat["pt3d_68"]
        assert pt3d.shape == (3, 68)
        L = reference_landmarks(row, row.t)  # no own landmarks: the reference face at the pose
        assert np.abs(pt3d[:2].T - projection(L, row.K)).max() < 1e-6
        # depth in pixels grows toward the viewer: k (t_z - Z), k = 1000 s
        assert np.abs(pt3d[2] - 1000 * s * (row.t[2] - L[:, 2])).max() < 1e-6


def test_own_ground_truth_landmarks_are_used_only_when_they_match_the_pose():
    rows = random_rows(6, seed=23, with_landmarks=True)
    assert {r.landmarks_match_pose for r in rows} == {True, False}
    zf = export(rows)
    for row in rows:
        pt3d = mat_of(zf, member(row))["pt3d_68"]
        expected = row.landmarks_3d if row.landmarks_match_pose else reference_landmarks(row, row.t)
        assert np.abs(pt3d[:2].T - projection(expected, row.K)).max() < 1e-6
    text = zf.read("README.txt").decode()
    n_own = sum(r.landmarks_match_pose for r in rows)
    assert f"{n_own} faces carry their own iBUG-68" in text
    assert f"{len(rows) - n_own} carry the project's 68-point reference face" in text


def test_missing_t_is_estimated_from_the_box_and_recorded():
    rows = random_rows(8, seed=24, t_missing_every=3)
    missing = [r for r in rows if r.t is None]
    rows[0].box = None  # -> the whole image
    zf = export(rows)
    for row in missing:
        x0, y0, x1, y1 = row.box if row.box is not None else (0, 0, row.width, row.height)
        K = row.K
        z = K[0, 0] * 150.0 / (x1 - x0)  # a 150 mm face spans the box width
        t = np.array([((x0 + x1) / 2 - K[0, 2]) * z / K[0, 0], ((y0 + y1) / 2 - K[1, 2]) * z / K[1, 1], z])
        pt3d = mat_of(zf, member(row))["pt3d_68"]
        assert np.abs(pt3d[:2].T - projection(reference_landmarks(row, t), K)).max() < 1e-6
    assert f"Translation: {len(missing)} faces had no t" in zf.read("README.txt").decode()


def test_project_reader_reads_back_the_same_pose(tmp_path):
    # K = None: the rows use the AFLW model camera, the one the reader assumes
    rows = random_rows(12, seed=25, with_K=False)
    zf = export(rows)
    zf.extractall(tmp_path)
    sizes = {r.image: (r.width, r.height) for r in rows}
    for name, (w, h) in sizes.items():
        (tmp_path / name).with_suffix(".png").write_bytes(png(w, h))
    records = list(aflw2000.iter_samples(tmp_path))
    samples = {r.name: r for r in records if r.ok}
    # face k > 0 has no image of its own name: the reader reports it unpaired (next test pairs them)
    unpaired = {r.name for r in records if not r.ok}
    assert unpaired == {member(r) for r in rows if r.face_index > 0}
    faces0 = [r for r in rows if r.face_index == 0]
    assert len(samples) == len(faces0)
    for row in faces0:
        sample = samples[row.image.rsplit(".", 1)[0] + ".png"]
        assert (sample.width, sample.height) == (row.width, row.height)
        assert np.abs(sample.K - aflw2000.model_intrinsics(row.width, row.height)).max() == 0
        face = sample.faces[0]
        assert np.abs(face.R - row.R).max() < 1e-6
        assert np.abs(face.t - row.t).max() < 1e-6


def test_project_reader_reads_back_other_faces_too(tmp_path):
    rows = [r for r in random_rows(6, seed=26, with_K=False, faces_per_image=(2, 3)) if r.face_index == 1]
    zf = export(rows)
    for row in rows:
        # each _face1.mat paired with its own copy of the image
        stem = member(row)[:-4]
        with zipfile.ZipFile(tmp_path / f"{row.face_id}.zip", "w") as z:
            z.writestr(member(row), zf.read(member(row)))
            z.writestr(stem + ".png", png(row.width, row.height))
        (sample,) = list(aflw2000.iter_samples(tmp_path / f"{row.face_id}.zip"))
        assert np.abs(sample.faces[0].R - row.R).max() < 1e-6
        assert np.abs(sample.faces[0].t - row.t).max() < 1e-6


def test_readme_says_what_was_written():
    rows = random_rows(4, seed=27, with_K=False)
    text = export(rows).read("README.txt").decode()
    assert "Pose_Para" in text and "POSE_CONVENTIONS" in text and "dataset: demo" in text
    assert f"{len(rows)} faces had no K and use the AFLW model K" in text
    assert geometry.is_rotation(rows[0].R)
