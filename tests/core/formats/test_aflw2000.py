import io

import numpy as np
import pytest
import scipy.io

from workers.core import geometry
from workers.core.formats import aflw2000
from workers.core.formats.aflw2000 import model_intrinsics, read_pair, write_mat

from .helpers import kabsch, make_zip, png_bytes, rx, ry, rz

F = np.diag([1.0, -1.0, -1.0])


@pytest.fixture
def samples(aflw_samples_dir):
    recs = list(aflw2000.iter_samples(aflw_samples_dir))
    assert all(r.ok for r in recs), [r for r in recs if not r.ok]
    assert len(recs) == 10 == aflw2000.count(aflw_samples_dir)
    return recs


def _mat(aflw_samples_dir, name):
    return scipy.io.loadmat(aflw_samples_dir / name.replace(".jpg", ".mat"))


def test_euler_equals_pose_para(samples, aflw_samples_dir):
    for s in samples:
        pitch, yaw, roll = _mat(aflw_samples_dir, s.name)["Pose_Para"][0, :3]
        np.testing.assert_allclose(geometry.matrix_to_euler(s.faces[0].R), np.rad2deg([yaw, pitch, roll]), atol=1e-4)


def test_rotation_matches_face3d_formula(samples, aflw_samples_dir):
    # POSE_CONVENTIONS: R_cam = F angle2matrix_3ddfa(p, y, r) F, with transposed elementary matrices.
    for s in samples:
        p, y, r = _mat(aflw_samples_dir, s.name)["Pose_Para"][0, :3].astype(np.float64)
        a2m = rx(p).T @ ry(y).T @ rz(r).T
        np.testing.assert_allclose(s.faces[0].R, F @ a2m @ F, rtol=0, atol=1e-12)


def test_landmarks_project_back_onto_pt3d(samples, aflw_samples_dir):
    for s in samples:
        pt3d = _mat(aflw_samples_dir, s.name)["pt3d_68"]
        L = s.faces[0].landmarks_3d
        uv = (L @ s.K.T)[:, :2] / L[:, 2:]
        assert np.abs(uv - pt3d[:2].T).max() < 1e-6
        np.testing.assert_allclose(s.faces[0].landmarks_2d, pt3d[:2].T)
        np.testing.assert_allclose(s.faces[0].t, L.mean(0))
        x0, y0, x1, y1 = s.faces[0].box
        assert 0 <= x0 < uv[:, 0].min() and uv[:, 0].max() < x1 <= 449
        assert 0 <= y0 < uv[:, 1].min() and uv[:, 1].max() < y1 <= 449
        assert s.faces[0].extra["pt2d"].shape == (21, 2)


def test_scale_is_micrometres(samples):
    # Jaw-line ends (0, 16): an adult face is roughly 120-170 mm wide there.
    widths = [np.linalg.norm(s.faces[0].landmarks_3d[0] - s.faces[0].landmarks_3d[16]) for s in samples]
    assert min(widths) > 120 and max(widths) < 170, widths


def test_head_frame_shape_has_the_documented_axes(samples):
    for s in samples:
        f = s.faces[0]
        H = (f.landmarks_3d - f.t) @ f.R  # R^T (L - t) per row
        jaw = H[[0, 16]].mean(0)
        assert H[30, 2] < jaw[2] - 40, s.name  # nose tip points to -z, well ahead of the jaw ends
        assert H[8, 1] > H[[36, 45], 1].mean() + 60, s.name  # chin below the eyes (+y)
        assert H[16, 0] > H[0, 0] + 100, s.name  # landmark 16 on +x (image right at identity)


def test_unrotated_faces_agree(samples):
    # The good test of POSE_CONVENTIONS: with the right R every head-frame face is
    # nearly the same shape; the residual rotation between them stays small.
    shapes = [(s.faces[0].landmarks_3d - s.faces[0].t) @ s.faces[0].R for s in samples]
    ref = np.mean(shapes, 0)
    resid = [geometry.geodesic_distance(np.eye(3), kabsch(S, ref)) for S in shapes]
    assert np.median(resid) < 3 and max(resid) < 6, resid
    wrong = [(s.faces[0].landmarks_3d - s.faces[0].t) @ s.faces[0].R.T for s in samples]
    ref_w = np.mean(wrong, 0)
    assert max(geometry.geodesic_distance(np.eye(3), kabsch(S, ref_w)) for S in wrong) > 20


def _read_back(mat_bytes, image_bytes, name="x.jpg"):
    return read_pair(name, image_bytes, mat_bytes, "x.mat")


def test_writer_round_trip_synthetic(samples):
    head = (samples[0].faces[0].landmarks_3d - samples[0].faces[0].t) @ samples[0].faces[0].R
    img = samples[0].image_bytes
    K = model_intrinsics(450, 450)
    rng = np.random.default_rng(0)
    for _ in range(20):
        R = geometry.euler_to_matrix(rng.uniform([-85, -80, -80], [85, 80, 80]))
        t = np.array([rng.uniform(-60, 60), rng.uniform(-60, 60), rng.uniform(2500, 4500)])
        L = head @ R.T + t
        buf = io.BytesIO()
        pp = write_mat(buf, R, L.mean(0), L, K)
        back = _read_back(buf.getvalue(), img).faces[0]
        np.testing.assert_allclose(back.extra["pose_para"], pp, rtol=0, atol=1e-6)
        np.testing.assert_allclose(back.R, R, atol=1e-9)
        np.testing.assert_allclose(back.t, L.mean(0), atol=1e-6)
        np.testing.assert_allclose(back.landmarks_3d, L, atol=1e-6)


def test_writer_round_trip_real_files(samples, aflw_samples_dir):
    for s in samples:
        f = s.faces[0]
        orig = _mat(aflw_samples_dir, s.name)
        buf = io.BytesIO()
        write_mat(buf, f.R, f.t, f.landmarks_3d, s.K, pt2d=f.extra["pt2d"], scale=f.extra["pose_para"][6])
        new = scipy.io.loadmat(io.BytesIO(buf.getvalue()))
        np.testing.assert_allclose(new["Pose_Para"][0, [0, 1, 2, 6]], orig["Pose_Para"][0, [0, 1, 2, 6]], atol=1e-6)
        np.testing.assert_allclose(new["pt3d_68"], orig["pt3d_68"], atol=1e-6)
        np.testing.assert_allclose(new["pt2d"], orig["pt2d"])


def test_writer_with_another_camera_keeps_the_image_points(samples):
    s = samples[3]
    f = s.faces[0]
    K = geometry.default_intrinsics(450, 450)  # what an export from the app may carry
    L = f.landmarks_3d / 3  # same face, nearer, seen through a wider lens
    t = L.mean(0)
    buf = io.BytesIO()
    write_mat(buf, f.R, t, L, K)
    back = _read_back(buf.getvalue(), s.image_bytes).faces[0]
    np.testing.assert_allclose(back.R, f.R, atol=1e-9)
    uv = (L @ K.T)[:, :2] / L[:, 2:]
    np.testing.assert_allclose(back.landmarks_2d, uv, atol=1e-6)


def test_writer_refuses_bad_input():
    K = model_intrinsics(450, 450)
    L = np.ones((68, 3)) * [0, 0, 3000]
    with pytest.raises(ValueError, match="not a rotation"):
        write_mat(io.BytesIO(), np.diag([1, 1, -1.0]), [0, 0, 3000], L, K)
    with pytest.raises(ValueError, match=r"\(68, 3\)"):
        write_mat(io.BytesIO(), np.eye(3), [0, 0, 3000], L[:10], K)


def test_bad_inputs_do_not_stop_the_good_ones(tmp_path, aflw_samples_dir):
    good = {
        n: (aflw_samples_dir / n).read_bytes()
        for n in ["image00050.jpg", "image00050.mat", "image00081.jpg", "image00081.mat"]
    }
    jpg = good["image00050.jpg"]
    mat = good["image00050.mat"]
    orig = scipy.io.loadmat(io.BytesIO(mat))

    def savemat(d):
        b = io.BytesIO()
        scipy.io.savemat(b, d)
        return b.getvalue()

    nan_pose = dict(Pose_Para=orig["Pose_Para"].copy(), pt3d_68=orig["pt3d_68"])
    nan_pose["Pose_Para"][0, 1] = np.nan
    entries = dict(good)
    entries.update(
        {
            "bad/corrupt.jpg": b"\xff\xd8\xff\xe0 not really a jpeg",
            "bad/corrupt.mat": mat,
            "bad/cut.jpg": jpg[:4000],
            "bad/cut.mat": mat,
            "bad/nopose.jpg": jpg,
            "bad/nopose.mat": savemat({"pt3d_68": orig["pt3d_68"]}),
            "bad/nan.jpg": jpg,
            "bad/nan.mat": savemat(nan_pose),
            "bad/garbage.jpg": jpg,
            "bad/garbage.mat": b"MATLAB 5.0 but not really",
            "bad/lonely.jpg": jpg,
            "bad/orphan.mat": mat,
            "bad/weird.gif": png_bytes(fmt="GIF"),
            "bad/../../escape.jpg": jpg,
            "README.txt": b"ignored",
        }
    )
    z = make_zip(tmp_path / "aflw.zip", entries)
    recs = list(aflw2000.iter_samples(z))
    by = {r.name: r for r in recs}
    assert by["image00050.jpg"].ok and by["image00081.jpg"].ok
    assert "not an image" in by["bad/corrupt.jpg"].message or "corrupt" in by["bad/corrupt.jpg"].message
    assert "truncated" in by["bad/cut.jpg"].message
    assert "no Pose_Para" in by["bad/nopose.jpg"].message
    assert "non-finite" in by["bad/nan.jpg"].message
    assert "cannot read the .mat" in by["bad/garbage.jpg"].message
    assert "no matching .mat" in by["bad/lonely.jpg"].message
    assert "no matching image" in by["bad/orphan.mat"].message
    assert "unsupported file type '.gif'" in by["bad/weird.gif"].message
    assert "'..'" in by["bad/../../escape.jpg"].message
    assert len(recs) == aflw2000.count(z) == 11


def test_hopenet_crop_uses_invisible_points():
    pt2d = np.array([[100, 100], [200, 220], [-1, 452]] + [[150, 150]] * 18, dtype=float)
    x0, y0, x1, y1 = aflw2000.hopenet_crop(pt2d)
    w, h = 201, 352  # from -1..200 and 100..452
    assert (x0, y0) == pytest.approx((-1 - 0.4 * w, 100 - 0.4 * h))
    assert x1 == pytest.approx(200 + 0.4 * (200 - x0))
    assert y1 == pytest.approx(452 + 0.12 * h)
