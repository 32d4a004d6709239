import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from workers.core import geometry
from workers.core.formats import biwi
from workers.core.formats.biwi import parse_pose_txt, read_protocol1_list, write_pose_txt, write_rgb_cal

from .helpers import get_R, png_bytes, rx, ry, rz

# rgb.cal intrinsics from POSE_CONVENTIONS.md; the extrinsics are illustrative.
K_RGB = np.array([[517.679, 0, 320], [0, 517.679, 240.5], [0, 0, 1]])
R_E = rx(0.004) @ ry(-0.009) @ rz(0.0045)
T_E = np.array([-24.0198, 5.8896, -13.2308])
DOC = dict(yaw=9.33, pitch=-0.40, roll=-6.39)  # sequence 12 frame 3


def doc_matrix(yaw, pitch, roll):
    """POSE_CONVENTIONS: M = get_R(pitch, -yaw, -roll)^T, degrees in."""
    p, y, r = np.deg2rad([pitch, yaw, roll])
    return get_R(p, -y, -r).T


def pose_text(M, c):
    # the dataset's own style: 6 decimals, a trailing space, a blank line before the centre
    rows = ["".join(f"{v:.6f} " for v in row) for row in M]
    return "\n".join(rows) + "\n\n" + "".join(f"{v:.6f} " for v in c) + "\n"


def write_sequence(root, seq, frames, cal=True):
    """frames: {index: (yaw, pitch, roll, centre)} -> files in the original layout."""
    d = root / "hpdb" / seq
    d.mkdir(parents=True, exist_ok=True)
    if cal:
        write_rgb_cal(d / "rgb.cal", K_RGB, R_E, T_E)
        (d / "depth.cal").write_text("575.8 0 320\n0 575.8 240\n0 0 1\n")
    for i, (y, p, r, c) in frames.items():
        (d / f"frame_{i:05d}_rgb.png").write_bytes(png_bytes(640, 480, seed=i))
        (d / f"frame_{i:05d}_pose.txt").write_text(pose_text(doc_matrix(y, p, r), c))
        (d / f"frame_{i:05d}_depth.bin").write_bytes(b"\x00" * 16)
    (root / "hpdb" / f"{seq}.obj").write_text("v 0 0 0\n")


CENTRE = np.array([43.3, 27.1, 1012.4])


@pytest.fixture
def biwi_root(tmp_path):
    write_sequence(
        tmp_path,
        "12",
        {3: (DOC["yaw"], DOC["pitch"], DOC["roll"], CENTRE), 4: (-30.0, 20.0, 5.0, np.array([-80.0, -40.0, 950.0]))},
    )
    return tmp_path


def test_documented_sample(biwi_root):
    recs = list(biwi.iter_samples(biwi_root))
    assert [r.name for r in recs] == ["hpdb/12/frame_00003_rgb.png", "hpdb/12/frame_00004_rgb.png"]
    s = recs[0]
    assert s.ok and (s.width, s.height) == (640, 480)
    np.testing.assert_array_equal(s.K, K_RGB)
    f = s.faces[0]
    np.testing.assert_allclose(f.extra["reference_euler"], [DOC["yaw"], DOC["pitch"], DOC["roll"]], atol=1e-3)
    M = doc_matrix(**DOC)
    # Our depth-frame rotation is M itself: Rx(-p) Ry(y) Rz(r) written by hand.
    p, y, r = np.deg2rad([DOC["pitch"], DOC["yaw"], DOC["roll"]])
    np.testing.assert_allclose(M, rx(-p) @ ry(y) @ rz(r), atol=1e-12)
    np.testing.assert_allclose(f.extra["R_depth"], M, atol=1e-5)
    # RGB camera: X_depth = R_e X_rgb + t_e
    np.testing.assert_allclose(f.R, R_E.T @ M, atol=1e-5)
    np.testing.assert_allclose(f.t, R_E.T @ (CENTRE - T_E), atol=1e-5)
    assert geometry.is_rotation(f.R, tol=1e-9)
    assert f.extra["sequence"] == "12"


def test_depth_to_rgb_option(biwi_root):
    f = next(biwi.iter_samples(biwi_root, extrinsics="depth_to_rgb")).faces[0]
    np.testing.assert_allclose(f.t, R_E @ CENTRE + T_E, atol=1e-5)
    _R2, t2 = biwi.rgb_to_depth_pose(f.R, f.t, {"R": R_E, "t": T_E}, "depth_to_rgb")
    np.testing.assert_allclose(t2, CENTRE, atol=1e-9)


def test_box_is_the_projected_head_sphere(biwi_root):
    for s in biwi.iter_samples(biwi_root):
        f = s.faces[0]
        # sample the sphere densely and project by hand
        g = np.random.default_rng(0).normal(size=(200_000, 3))
        P = f.t + 100.0 * g / np.linalg.norm(g, axis=1, keepdims=True)
        uv = P[:, :2] / P[:, 2:] * 517.679 + [320, 240.5]
        lo, hi = uv.min(0), uv.max(0)
        np.testing.assert_allclose(f.box, [lo[0], lo[1], hi[0], hi[1]], atol=0.2)


def test_pose_txt_writer_round_trip():
    rng = np.random.default_rng(1)
    for _ in range(10):
        M = geometry.euler_to_matrix(rng.uniform(-80, 80, 3))
        c = rng.uniform(-200, 1200, 3)
        buf = io.BytesIO()
        write_pose_txt(buf, M, c)
        M2, c2 = parse_pose_txt(buf.getvalue())
        np.testing.assert_array_equal(M2, M)
        np.testing.assert_array_equal(c2, c)
        np.testing.assert_allclose(biwi.reference_euler(M2), geometry.matrix_to_euler(M), atol=1e-9)


def test_protocol1_row_matches_the_documented_sample(shared_dir):
    names, euler = read_protocol1_list(shared_dir / "data/biwi/protocol1_annotations.txt")
    i = names.index("12/frame_00003_rgb.png")
    np.testing.assert_allclose(euler[i], [DOC["yaw"], DOC["pitch"], DOC["roll"]], atol=0.005)


def test_protocol1_list_full_scale(shared_dir):
    names, euler = read_protocol1_list(shared_dir / "data/biwi/protocol1_annotations.txt")
    assert len(names) == 13219 and euler.shape == (13219, 3)
    seqs = sorted({biwi.sequence_of(n) for n in names})
    assert seqs == [f"{i:02d}" for i in range(1, 25)]
    assert np.abs(euler).max() < 100


def test_bad_protocol_line(tmp_path):
    p = tmp_path / "l.txt"
    p.write_text("../BIWI/01/frame_00003_rgb.png 1 2 3\n../BIWI/01/frame_00004_rgb.png 1 2\n")
    with pytest.raises(ValueError, match="line 2"):
        read_protocol1_list(p)


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _fsanet_arrays(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        image=rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8),
        pose=rng.uniform(-60, 60, (n, 3)),
        img_size=np.array(64),
    )


def test_npz_rows(tmp_path):
    a = _fsanet_arrays()
    p = tmp_path / "BIWI_test.npz"
    p.write_bytes(_npz_bytes(**a))
    recs = list(biwi.iter_samples(p))
    assert [r.name for r in recs] == [f"BIWI_test.npz#{i:06d}" for i in range(4)]
    assert biwi.count(p) == 4
    for i, s in enumerate(recs):
        rgb = np.asarray(Image.open(io.BytesIO(s.image_bytes)))
        np.testing.assert_array_equal(rgb, a["image"][i][..., ::-1])
        y, pch, r = np.deg2rad(a["pose"][i])
        np.testing.assert_allclose(s.faces[0].R, rx(-pch) @ ry(y) @ rz(r), atol=1e-12)
        assert s.faces[0].t is None
        np.testing.assert_array_equal(s.K, geometry.default_intrinsics(64, 64))


def test_every_bad_input_reported_and_good_files_still_read(tmp_path):
    root = tmp_path / "ds"
    write_sequence(root, "12", {3: (DOC["yaw"], DOC["pitch"], DOC["roll"], CENTRE)})
    write_sequence(root, "05", {1: (10.0, 0.0, 0.0, CENTRE), 2: (0.0, 0.0, 0.0, CENTRE)})
    # 05/2: a pose that is not a rotation
    (root / "hpdb/05/frame_00002_pose.txt").write_text(pose_text(np.diag([1.0, 2.0, 1.0]), CENTRE))
    # 05/7: image without pose; 05/8: pose without image
    (root / "hpdb/05/frame_00007_rgb.png").write_bytes(png_bytes(640, 480))
    (root / "hpdb/05/frame_00008_pose.txt").write_text(pose_text(np.eye(3), CENTRE))
    # 05/9: corrupt image
    (root / "hpdb/05/frame_00009_rgb.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (root / "hpdb/05/frame_00009_pose.txt").write_text(pose_text(np.eye(3), CENTRE))
    # sequence 07 without rgb.cal
    write_sequence(root, "07", {1: (0.0, 0.0, 0.0, CENTRE)}, cal=False)
    (root / "hpdb/notes.xyz").write_bytes(b"?")
    # npz files: one good, one with a pickled object array, one with a NaN row
    (root / "BIWI_test.npz").write_bytes(_npz_bytes(**_fsanet_arrays(3)))
    evil = _fsanet_arrays(2)
    evil["pose"] = np.array([[1, 2, 3], {"pickled": True}], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, **evil)  # savez pickles object arrays
    (root / "evil.npz").write_bytes(buf.getvalue())
    nan = _fsanet_arrays(3)
    nan["pose"][1, 0] = np.nan
    (root / "nan.npz").write_bytes(_npz_bytes(**nan))

    zpath = tmp_path / "ds.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(root.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(root).as_posix())
        zf.writestr("../escape.png", png_bytes())

    for src in (root, zpath):
        recs = list(biwi.iter_samples(src))
        by = {r.name: r for r in recs}
        ok = sorted(n for n, r in by.items() if r.ok)
        assert ok == [
            "BIWI_test.npz#000000",
            "BIWI_test.npz#000001",
            "BIWI_test.npz#000002",
            "hpdb/05/frame_00001_rgb.png",
            "hpdb/12/frame_00003_rgb.png",
            "nan.npz#000000",
            "nan.npz#000002",
        ]
        assert "matrix is not a rotation" in by["hpdb/05/frame_00002_rgb.png"].message
        assert "no matching pose file" in by["hpdb/05/frame_00007_rgb.png"].message
        assert "no matching image" in by["hpdb/05/frame_00008_pose.txt"].message
        assert "hpdb/05/frame_00009_rgb.png" in by["hpdb/05/frame_00009_rgb.png"].message
        assert "rgb.cal is missing" in by["hpdb/07/frame_00001_rgb.png"].message
        assert "unsupported file type '.xyz'" in by["hpdb/notes.xyz"].message
        assert "pickled" in by["evil.npz"].message
        assert "non-finite" in by["nan.npz#000001"].message
        if src == zpath:
            assert "'..'" in by["../escape.png"].message
        assert len(recs) == biwi.count(src)
        # companions (depth.bin, depth.cal, .obj) are neither samples nor errors
        assert not any(n.endswith((".bin", ".cal", ".obj")) for n in by)


def test_npz_not_an_npz(tmp_path):
    p = tmp_path / "x.npz"
    p.write_bytes(b"nope")
    (r,) = list(biwi.iter_samples(p))
    assert not r.ok and "not a readable .npz" in r.message


def test_npz_wrong_keys(tmp_path):
    p = tmp_path / "x.npz"
    p.write_bytes(_npz_bytes(images=np.zeros((2, 64, 64, 3), np.uint8)))
    (r,) = list(biwi.iter_samples(p))
    assert "no 'image' array" in r.message
