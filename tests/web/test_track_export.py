"""labels=track in every export format: one row per labeled frame, marked
keyframe | interpolated | smoothed_proposal; CSV/JSON carry sequence and frame_index."""

import csv
import io
import json
import zipfile

import numpy as np
import pytest
from django.core.management import call_command
from scipy.spatial.transform import Rotation, Slerp

from annotator.labeling.services import save_annotation, set_ground_truth
from annotator.models import Face
from annotator.sequences.services import build_tracks
from tests.browser.data import make_image
from tests.sequence_data import make_sequence_dataset
from workers.core.exports import FORMATS

pytestmark = pytest.mark.django_db


@pytest.fixture
def labeled(bob):
    dataset, sequence, truth = make_sequence_dataset(n_frames=12, seed=7, missing_rate=0.0, with_files=True)
    build_tracks(sequence.pk)
    faces = {f.image.frame_index: f for f in Face.objects.filter(image__sequence=sequence).select_related("image")}
    for frame in (3, 8):
        save_annotation(
            face=faces[frame],
            author=bob,
            R=truth.truth_R[frame].reshape(-1).tolist(),
            t=truth.truth_t[frame].tolist(),
            status="accepted",
            expected_version=0,
        )
    still = make_image(dataset, "still.png", with_file=True, seed=99)  # an image outside any sequence
    set_ground_truth(face=Face.objects.create(image=still, box=[10, 10, 90, 90]), R=np.eye(3), t=[0, 0, 600])
    return dataset, truth


def export(dataset, fmt, tmp_path):
    out = tmp_path / f"out-{fmt}"
    call_command(
        "export_labels", dataset=dataset.name, format=fmt, labels="track", output=str(out), stderr=io.StringIO()
    )
    return out.read_bytes()


def test_csv_has_every_frame_marked_and_exact_slerp_between_keyframes(labeled, tmp_path):
    dataset, truth = labeled
    rows = list(csv.DictReader(io.StringIO(export(dataset, "csv", tmp_path).decode())))
    frames = [r for r in rows if r["sequence"] == "drive"]
    assert [int(r["frame_index"]) for r in frames] == list(range(12))
    assert [r["track_label"] for r in frames] == (
        ["smoothed_proposal"] * 3 + ["keyframe"] + ["interpolated"] * 4 + ["keyframe"] + ["smoothed_proposal"] * 3
    )
    assert frames[3]["origin"] == "annotator" and frames[3]["origin_detail"] == "bob"
    assert frames[0]["origin"] == "proposal" and frames[0]["origin_detail"] == "landmarks-fit@1"
    R = np.array([[float(frames[6][f"r{i}{j}"]) for j in range(3)] for i in range(3)])
    expected = Slerp([3, 8], Rotation.from_matrix(truth.truth_R[[3, 8]]))([6]).as_matrix()[0]
    assert np.abs(R - expected).max() < 1e-9
    (still,) = [r for r in rows if r["image"] == "still.png"]
    assert still["sequence"] == "" and still["track_label"] == "" and still["origin"] == "ground_truth"


def test_json_carries_sequence_frame_index_and_track_label(labeled, tmp_path):
    dataset, _ = labeled
    faces = json.loads(export(dataset, "json", tmp_path))["faces"]
    frames = [f for f in faces if f.get("sequence") == "drive"]
    assert len(frames) == 12 and frames[3]["track_label"] == "keyframe" and frames[3]["frame_index"] == 3
    assert frames[5]["provenance"]["track_label"] == "interpolated"


@pytest.mark.parametrize("fmt", sorted(set(FORMATS) - {"csv", "json"}))
def test_every_other_format_writes_a_label_per_frame(labeled, tmp_path, fmt):
    dataset, _ = labeled
    data = export(dataset, fmt, tmp_path)
    assert data
    if fmt == "biwi_pose":
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        assert {f"drive/frame_{i:06d}_pose.txt" for i in range(12)} <= set(names)
