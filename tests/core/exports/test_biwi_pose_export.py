"""`biwi_pose` export: pose.txt and rgb.cal parsed with numpy / by hand, then
the zip read back by the project's own BIWI reader."""

import io
import zipfile

import numpy as np

from workers.core import geometry
from workers.core.exports import write_export
from workers.core.formats import biwi

from .factories import META, png, random_rows


def export(rows):
    out = io.BytesIO()
    assert write_export("biwi_pose", rows, out, META) == len(rows)
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def biwi_rows(n_sequences=2, frames=4, seed=31):
    names = [f"{s + 1:02d}/frame_{f:05d}_rgb.png" for s in range(n_sequences) for f in range(frames)]
    rows = random_rows(len(names), seed=seed, names=names, faces_per_image=(1, 2))
    # one camera per sequence, as in BIWI
    for s in range(n_sequences):
        seq = [r for r in rows if r.image.startswith(f"{s + 1:02d}/")]
        for r in seq:
            r.K, r.width, r.height = seq[0].K, seq[0].width, seq[0].height
    return rows


def read_pose(zf, name):
    a = np.loadtxt(io.StringIO(zf.read(name).decode()))  # blank line skipped: 4 rows of 3
    return a[:3], a[3]


def read_cal(zf, name):
    lines = [[float(v) for v in line.split()] for line in zf.read(name).decode().splitlines() if line.strip()]
    return {
        "K": np.array(lines[0:3]),
        "dist": lines[3],
        "R": np.array(lines[4:7]),
        "t": np.array(lines[7]),
        "size": lines[8],
    }


def test_pose_files_hold_r_and_t_in_the_image_camera():
    rows = biwi_rows()
    zf = export(rows)
    names = set(zf.namelist())
    assert names == {r.image.replace("_rgb.png", "_pose.txt") for r in rows} | {
        "01/rgb.cal",
        "02/rgb.cal",
        "README.txt",
    }
    for row in rows:
        M, c = read_pose(zf, row.image.replace("_rgb.png", "_pose.txt"))
        assert np.array_equal(M, row.R) and np.array_equal(c, row.t)
    for seq in ("01", "02"):
        first = next(r for r in rows if r.image.startswith(seq + "/"))
        cal = read_cal(zf, f"{seq}/rgb.cal")
        assert np.array_equal(cal["K"], first.K)
        assert np.array_equal(cal["R"], np.eye(3)) and np.array_equal(cal["t"], np.zeros(3))
        assert cal["size"] == [first.width, first.height] and cal["dist"] == [0, 0, 0, 0]


def test_project_reader_reads_back_the_same_pose(tmp_path):
    rows = biwi_rows(seed=32)
    export(rows).extractall(tmp_path)
    for row in rows:
        (tmp_path / row.image).write_bytes(png(row.width, row.height))
    records = list(biwi.iter_samples(tmp_path))
    assert all(r.ok for r in records), [r.message for r in records if not r.ok]
    by_name = {r.name: r for r in records}
    assert set(by_name) == {r.image for r in rows}
    for row in rows:
        sample = by_name[row.image]
        assert np.array_equal(sample.K, row.K)
        face = sample.faces[0]
        assert np.abs(face.R - row.R).max() < 1e-6
        assert np.abs(face.t - row.t).max() < 1e-6


def test_other_names_faces_and_missing_t():
    rows = random_rows(
        3, seed=33, names=["a/b/photo.jpg", "top.png", "a/b/other.jpeg"], faces_per_image=(2, 3), t_missing_every=2
    )
    zf = export(rows)
    names = set(zf.namelist())
    assert {
        "a/b/photo_pose.txt",
        "a/b/photo_face1_pose.txt",
        "top_pose.txt",
        "a/b/other_pose.txt",
        "rgb.cal",
        "a/b/rgb.cal",
    } <= names
    missing = [r for r in rows if r.t is None]
    assert missing
    for row in missing:
        stem = row.image.rsplit(".", 1)[0] + ("" if row.face_index == 0 else f"_face{row.face_index}")
        _, c = read_pose(zf, stem + "_pose.txt")
        x0, y0, x1, y1 = row.box
        z = row.K[0, 0] * 150.0 / (x1 - x0)
        assert (
            np.abs(
                c
                - [((x0 + x1) / 2 - row.K[0, 2]) * z / row.K[0, 0], ((y0 + y1) / 2 - row.K[1, 2]) * z / row.K[1, 1], z]
            ).max()
            < 1e-9
        )
    readme = zf.read("README.txt").decode()
    assert f"Translation: {len(missing)} faces had no t" in readme
    assert "NOT reconstructed" in readme
    # a/b holds two images with different K: the second is listed
    assert "a/b/other.jpeg face 0" in readme and "rgb.cal has the K of a/b/photo.jpg" in readme


def test_missing_camera_uses_the_project_default():
    rows = random_rows(1, seed=34, names=["05/frame_00001_rgb.png"], with_K=False, faces_per_image=(1, 2))
    cal = read_cal(export(rows), "05/rgb.cal")
    w, h = rows[0].width, rows[0].height
    assert np.array_equal(cal["K"], [[w, 0, (w - 1) / 2], [0, w, (h - 1) / 2], [0, 0, 1]])
    assert geometry.is_rotation(cal["R"])


def test_frames_of_a_sequence_get_one_pose_file_per_frame_in_the_sequence_folder():
    rows = random_rows(
        3, seed=31, names=["drive/frame_000000.jpg", "drive/frame_000001.jpg", "take2/f00.jpg"], faces_per_image=(1, 2)
    )
    out = io.BytesIO()
    write_export("biwi_pose", rows, out, META)
    names = set(zipfile.ZipFile(out).namelist())
    assert {"drive/frame_000000_pose.txt", "drive/frame_000001_pose.txt", "take2/f00_pose.txt"} <= names
