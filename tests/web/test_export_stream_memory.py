"""The app's export path streams (issue 27 item 3): selectors.label_rows reads
the faces a batch at a time, with each source's rows of just that batch, so the
peak memory (tracemalloc) of exports.services.write is the same, within a fixed
allowance, for 240 and 960 faces (labels=best: an accepted label on every other
face, a proposal on each; landmarks stored). Batches are made small (60 faces,
32-row chunks) so both sizes span many. Before, every source's rows of the whole
dataset were read first: about 3 KB a face here, 2 MB between the two sizes."""

import gc
import json
import tempfile
import tracemalloc

import pytest

from annotator.exports import selectors
from annotator.exports import services as exports
from bench.bench_export_stream import populate
from workers.core import label_rows

SMALL, LARGE = 240, 960
# bytes: about 40 KB on SQLite, 210 KB on PostgreSQL (psycopg keeps about 17 KB more a batch at these
# tiny batches, bounded); reading the whole dataset first cost 2 MB between the two sizes
ALLOWANCE = 512 * 1024


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(selectors, "BATCH", 60)
    monkeypatch.setattr(selectors, "ID_CHUNK", 60)  # the ids' fetch size: its transient list is bounded too
    monkeypatch.setattr(label_rows, "CHUNK", 32)
    thresholds = gc.get_threshold()
    gc.set_threshold(100, 2, 2)
    yield
    gc.set_threshold(*thresholds)


def peak(dataset, fmt: str) -> tuple[int, int]:
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        try:
            written = exports.write(dataset, {"format": fmt, "labels": "best", "landmarks": "2d"}, out)
            return tracemalloc.get_traced_memory()[1], written.rows
        finally:
            tracemalloc.stop()


@pytest.mark.django_db
def test_the_export_path_keeps_a_batch_not_the_dataset(small_batches):
    small, large = populate("stream-small", SMALL), populate("stream-large", LARGE)
    peak(small, "jsonl")  # warm-up: imports, compiled queries
    (p_small, n_small), (p_large, n_large) = peak(small, "jsonl"), peak(large, "jsonl")
    assert (n_small, n_large) == (SMALL, LARGE)
    assert p_large - p_small < ALLOWANCE, f"{p_small / 1e6:.2f} MB at {SMALL} faces, {p_large / 1e6:.2f} MB at {LARGE}"


def test_landmark_text_is_parsed_by_numpy_and_anything_odd_left_to_the_writers_checks():
    assert selectors.points("[[1.5, 2], [3, 4e-3]]", 2).tolist() == [[1.5, 2.0], [3.0, 0.004]]
    assert selectors.points(None, 2) is None and selectors.points("null", 3) is None
    # ragged, wrong width, not numbers, empty: json.loads, so the writers refuse them naming the face
    for text in ("[[1, 2], [3, 4, 5, 6]]", "[[1, 2, 3]]", '[["a", 1]]', "[]"):
        assert selectors.points(text, 2) == json.loads(text)
