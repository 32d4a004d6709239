"""Sequences over HTTP: the images API's sequence fields and filter, the editor
state (an annotator sees only their own keyframes), the per-sequence CSV."""

import csv
import io

import pytest
from django.test import Client

from annotator.labeling.services import save_annotation
from annotator.models import Assignment, Face, Role
from annotator.sequences.services import build_tracks
from tests.sequence_data import make_sequence_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def clip(world):
    dataset, sequence, truth = make_sequence_dataset(n_frames=8, seed=9, missing_rate=0.0)
    build_tracks(sequence.pk)
    users = world["users"]
    Assignment.objects.create(dataset=dataset, user=users["annotator"], role=Role.ANNOTATOR)
    Assignment.objects.create(dataset=dataset, user=users["other_annotator"], role=Role.ANNOTATOR)
    face = Face.objects.get(image__sequence=sequence, image__frame_index=2)
    save_annotation(
        face=face,
        author=users["other_annotator"],
        R=truth.truth_R[2].reshape(-1).tolist(),
        t=truth.truth_t[2].tolist(),
        status="corrected",
        expected_version=0,
    )
    return dataset, sequence


def test_images_carry_sequence_and_frame_index_and_filter_by_sequence(world, api_as, clip):
    _dataset, sequence = clip
    rows = api_as("admin").get(f"/api/v1/images/?sequence={sequence.pk}&page_size=100").json()["results"]
    assert [(r["sequence"], r["frame_index"]) for r in rows] == [(sequence.pk, i) for i in range(8)]
    assert rows[3]["timestamp_s"] == pytest.approx(3 / 25)
    other = api_as("admin").get(f"/api/v1/images/?dataset={world['datasets']['pub'].pk}").json()["results"]
    assert other and all(r["sequence"] is None and r["frame_index"] is None for r in other)
    # a sequence of a dataset the caller cannot see: nothing, as for any filter
    assert api_as("researcher").get(f"/api/v1/images/?sequence={sequence.pk}").json()["results"] == []
    bad = api_as("admin").get("/api/v1/images/?sequence=abc")
    assert bad.status_code == 400 and "sequence" in bad.json(), bad.content


def test_the_editor_state_shows_an_annotator_only_their_own_keyframes(world, api_as, clip):
    _, sequence = clip
    mine = api_as("other_annotator").get(f"/api/label/sequences/{sequence.pk}/").json()
    assert mine["frames"][2]["track_label"] == "keyframe" and mine["frames"][2]["version"] == 1
    theirs = api_as("annotator").get(f"/api/label/sequences/{sequence.pk}/").json()
    assert "keyframe" not in [f["track_label"] for f in theirs["frames"]]
    assert theirs["frames"][2]["version"] == 0
    assert api_as("admin").get(f"/api/label/sequences/{sequence.pk}/").json()["frames"][2]["track_label"] == "keyframe"
    assert api_as("admin").get("/api/label/sequences/999999/").status_code == 404


def test_the_sequence_csv_is_the_track_of_every_frame(world, clip):
    _, sequence = clip
    client = Client()
    client.force_login(world["users"]["admin"])
    r = client.get(f"/label/sequences/{sequence.pk}/labels.csv")
    assert r.status_code == 200 and r["Content-Disposition"] == 'attachment; filename="clips-drive-track.csv"'
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [int(x["frame_index"]) for x in rows] == list(range(8))
    assert [x["track_label"] for x in rows][:4] == [
        "smoothed_proposal",
        "smoothed_proposal",
        "keyframe",
        "smoothed_proposal",
    ]


def test_the_dataset_page_lists_its_sequences_with_what_the_role_may_open(world, clip):
    dataset, sequence = clip
    pages = {}
    for role in ("admin", "annotator"):
        client = Client()
        client.force_login(world["users"][role])
        pages[role] = client.get(f"/datasets/{dataset.name}/").content.decode()
    assert f"/label/sequences/{sequence.pk}/" in pages["admin"] and "labels.csv" in pages["admin"]
    assert f"/label/sequences/{sequence.pk}/" in pages["annotator"] and "labels.csv" not in pages["annotator"]
