"""Every export format streams: the writer's peak memory (tracemalloc) is the
same, within a fixed allowance, for 256 and 1,024 rows. The chunk sizes are
made small (32 rows, 32 zip members, 32 KB spools) so that both sizes span
many chunks; a writer that kept something per row (a ZipInfo, a set entry, a
row) would grow by at least 60 bytes a row, over 45 KB here. A first run warms
the caches (imports, compiled templates) and the larger size is measured again
before failing (a one-off allocation of the interpreter is not a per-row cost). Cyclic garbage is
collected often (gc thresholds), so the peak is what the writer keeps, not
when the collector last ran."""

import gc
import tempfile
import tracemalloc

import numpy as np
import pytest

from workers.core import geometry, label_rows
from workers.core.exports import FORMATS, coco, common, write_export, zipstream
from workers.core.label_rows import LabelRow
from workers.core.proposers.parts.reference_face import load_reference_face

from .factories import META

SMALL, LARGE = 256, 1024
ALLOWANCE = 32 * 1024  # bytes


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(label_rows, "CHUNK", 32)
    monkeypatch.setattr(zipstream, "SPILL", 32)
    monkeypatch.setattr(common, "INT_SET_BUFFER", 64)
    monkeypatch.setattr(coco, "SPOOL_BYTES", 32 * 1024)
    thresholds = gc.get_threshold()
    gc.set_threshold(100, 2, 2)
    yield
    gc.set_threshold(*thresholds)


def rows(n: int):
    """`n` rows of distinct images and faces, sharing their pose and landmark values
    (what the rows themselves hold is the selector's business: tests/web/test_export_stream_memory.py)."""
    K = geometry.default_intrinsics(640, 480)
    R, t = geometry.euler_to_matrix([30.0, 10.0, -5.0]), np.array([10.0, -20.0, 900.0])
    L3 = load_reference_face().points68 @ R.T + t
    L2 = (L3 @ K.T)[:, :2] / L3[:, 2:]
    R, t, K, L2, L3 = R.tolist(), t.tolist(), K.tolist(), L2.tolist(), L3.tolist()
    for i in range(n):
        yield LabelRow(
            f"dir{i % 7}/img{i:07d}.jpg",
            0,
            R,
            t,
            "annotator",
            "bob",
            image_id=i + 1,
            face_id=i + 1,
            width=640,
            height=480,
            K=K,
            box=[200.0, 120.0, 440.0, 360.0],
            landmarks_2d=L2,
            landmarks_3d=L3,
            landmark_scheme="ibug68",
            landmarks_match_pose=True,
            provenance={"origin": "annotator", "author": "bob", "version": 1},
        )


def peak(fmt: str, n: int) -> int:
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        try:
            assert write_export(fmt, rows(n), out, {**META, "landmarks": "2d"}) == n
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_peak_memory_does_not_grow_with_the_rows(fmt):
    peak(fmt, SMALL)  # warm-up
    small, large = peak(fmt, SMALL), peak(fmt, LARGE)
    if large - small >= ALLOWANCE:
        large = min(large, peak(fmt, LARGE))
    assert large - small < ALLOWANCE, (
        f"{fmt}: peak {small / 1e6:.2f} MB at {SMALL} rows, {large / 1e6:.2f} MB at {LARGE}"
    )
