"""Stored tracks after proposals, and every frame's label (keyframe |
interpolated | smoothed_proposal) from real rows."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from annotator.labeling.services import save_annotation
from annotator.models import Face, SequenceTrack
from annotator.sequences.selectors import sequence_labels
from annotator.sequences.services import build_tracks
from tests.sequence_data import make_sequence_dataset
from workers.core import geometry

pytestmark = pytest.mark.django_db


def test_the_track_is_built_smoothed_and_marks_filled_and_rejected_frames():
    _, sequence, truth = make_sequence_dataset(n_frames=60, seed=3, blunder_rate=0.08, missing_rate=0.1)
    (track,) = build_tracks(sequence.pk)
    assert track.proposer == "landmarks-fit@1" and len(track.frames) == 60
    missing = [i for i, p in enumerate(truth.proposals) if p is None]
    assert [i for i, f in enumerate(track.frames) if f["face"] is None] == missing
    assert all(track.frames[i]["filled"] for i in missing)
    assert {i for i, f in enumerate(track.frames) if f["rejected"]} >= set(np.nonzero(truth.blunders)[0])
    smoothed = np.asarray([f["R"] for f in track.frames]).reshape(-1, 3, 3)
    assert geometry.geodesic_distance(smoothed, truth.truth_R).max() < 10
    assert set(np.nonzero(truth.blunders)[0]) <= set(track.spikes)
    # rebuilt, never duplicated
    build_tracks(sequence.pk)
    assert SequenceTrack.objects.filter(sequence=sequence).count() == 1


def test_labels_keyframes_slerp_between_and_the_track_outside(bob):
    _, sequence, truth = make_sequence_dataset(n_frames=30, seed=4, missing_rate=0.0)
    build_tracks(sequence.pk)
    faces = {f.image.frame_index: f for f in Face.objects.filter(image__sequence=sequence).select_related("image")}
    for frame in (5, 20):
        save_annotation(
            face=faces[frame],
            author=bob,
            R=truth.truth_R[frame].reshape(-1).tolist(),
            t=truth.truth_t[frame].tolist(),
            status="corrected",
            expected_version=0,
        )
    labels = sequence_labels(sequence)
    kinds = [lab["track_label"] for lab in labels]
    assert kinds[:5] == ["smoothed_proposal"] * 5 and kinds[5] == "keyframe" and kinds[20] == "keyframe"
    assert set(kinds[6:20]) == {"interpolated"} and set(kinds[21:]) == {"smoothed_proposal"}
    assert labels[5]["author"] == "bob" and labels[6]["author"] is None
    expected = Slerp([5, 20], Rotation.from_matrix(truth.truth_R[[5, 20]]))(np.arange(6, 20)).as_matrix()
    got = np.asarray([lab["R"] for lab in labels[6:20]]).reshape(-1, 3, 3)
    assert geometry.geodesic_distance(got, expected, degrees=False).max() < 1e-6
    assert all(lab["gap_deg"] is not None for lab in labels)


def test_a_skipped_or_draft_save_is_not_a_keyframe(bob):
    _, sequence, truth = make_sequence_dataset(n_frames=10, seed=5, missing_rate=0.0)
    face = Face.objects.get(image__sequence=sequence, image__frame_index=3)
    save_annotation(
        face=face, author=bob, R=truth.truth_R[3].reshape(-1).tolist(), t=None, status="draft", expected_version=0
    )
    assert "keyframe" not in [lab["track_label"] for lab in sequence_labels(sequence)]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_video_import_is_proposed_on_the_worker_and_gets_a_track(celery_worker_process, settings, tmp_path):
    """Import -> proposals per frame in batches on the worker -> the track step, all real."""
    from django.core.management import call_command

    from annotator.models import Job, Proposal
    from tests.waiting import wait_for
    from tests.web.test_import_video import aflw_frames, write_mp4

    settings.HEADPOSE_AUTO_PROPOSE = True
    settings.HEADPOSE_PROPOSER = "landmarks-fit"
    mp4 = write_mp4(tmp_path / "clip.mp4", aflw_frames(9))
    call_command("import_video", str(mp4), dataset="clips", verbosity=0)
    wait_for(
        lambda: Job.objects.filter(kind="propose", state="done").exists(),
        why=lambda: list(Job.objects.values_list("kind", "state", "errors")),
    )
    wait_for(lambda: SequenceTrack.objects.filter(sequence__name="clip").exists(), seconds=60)
    track = SequenceTrack.objects.get(sequence__name="clip", index=0)
    assert track.proposer.startswith("landmarks-fit@") and len(track.frames) == 9
    found = set(Proposal.objects.filter(face__image__sequence=track.sequence).values_list("face_id", flat=True))
    assert {f["face"] for f in track.frames if f["face"]} <= found
