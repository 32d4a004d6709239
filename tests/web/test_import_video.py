"""Video and frame-folder imports: sequences of frames, per-file errors, BIWI as sequences."""

import cv2
import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotator.models import Image, Job, Sequence
from tests.conftest import require_shared

pytestmark = pytest.mark.django_db


def aflw_frames(n: int) -> list[np.ndarray]:
    """n 640x480 frames made of the real AFLW2000 photos (each repeated, so a
    still scene gives identical frames, which must still be n frames)."""
    photos = sorted(require_shared("data", "aflw2000", "samples").glob("*.jpg"))
    out = []
    for i in range(n):
        img = cv2.imread(str(photos[(i // 3) % len(photos)]))
        out.append(cv2.resize(img, (640, 480)))
    return out


def write_mp4(path, frames, fps=25.0, codec="mp4v"):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (640, 480))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


@pytest.fixture
def mp4(tmp_path):
    return write_mp4(tmp_path / "drive.mp4", aflw_frames(30))


def test_a_real_mp4_becomes_one_sequence_of_jpeg_frames(mp4):
    call_command("import_video", str(mp4), dataset="clips", verbosity=0)
    seq = Sequence.objects.get(dataset__name="clips")
    assert (seq.name, seq.fps, seq.frame_count) == ("drive", 25.0, 30)
    frames = list(seq.frames.order_by("frame_index"))
    assert [f.frame_index for f in frames] == list(range(30))
    assert frames[10].timestamp_s == pytest.approx(10 / 25)
    assert frames[0].file_name == "drive/frame_000000.jpg" and (frames[0].width, frames[0].height) == (640, 480)
    with frames[4].file.open("rb") as fh:
        stored = cv2.imdecode(np.frombuffer(fh.read(), np.uint8), cv2.IMREAD_COLOR)
    cap = cv2.VideoCapture(str(mp4))
    for _ in range(5):
        _ok, decoded = cap.read()
    # JPEG quality 95: the stored frame is the decoded video frame to within a few grey levels
    assert np.abs(stored.astype(int) - decoded.astype(int)).mean() < 2.0
    # a re-run stores nothing twice
    call_command("import_video", str(mp4), dataset="clips", verbosity=0)
    assert Image.objects.filter(dataset__name="clips").count() == 30
    assert Job.objects.filter(kind=Job.Kind.IMPORT_VIDEO).first().unchanged == 30


def test_every_and_max_frames_thin_the_sequence(mp4):
    call_command("import_video", str(mp4), dataset="clips", every=4, max_frames=5, verbosity=0)
    seq = Sequence.objects.get(dataset__name="clips")
    assert (seq.frame_count, seq.fps) == (5, 25.0 / 4)
    assert [round(t * 25) for t in seq.frames.order_by("frame_index").values_list("timestamp_s", flat=True)] == [
        0,
        4,
        8,
        12,
        16,
    ]


def test_a_corrupt_video_is_a_per_file_error_and_not_a_success(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + np.random.default_rng(0).bytes(5000))
    with pytest.raises(CommandError, match="1 errors"):
        call_command("import_video", str(bad), dataset="clips", verbosity=0)
    job = Job.objects.get(kind=Job.Kind.IMPORT_VIDEO)
    assert job.state == Job.State.DONE_WITH_ERRORS
    assert "cannot open the video" in job.errors[0]["message"]
    assert not Image.objects.exists()


def test_a_truncated_video_keeps_its_good_frames_and_reports_the_rest(tmp_path):
    # an AVI's header announces its frame count up front: cut in half, the frames after the cut are lost
    path = write_mp4(tmp_path / "cut.avi", aflw_frames(20), codec="MJPG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CommandError, match="errors"):
        call_command("import_video", str(path), dataset="clips", verbosity=0)
    job = Job.objects.get(kind=Job.Kind.IMPORT_VIDEO)
    assert job.state == Job.State.DONE_WITH_ERRORS
    n = Image.objects.count()
    assert 0 < n < 20
    assert f"frame {n} failed to decode" in job.errors[0]["message"]


def test_bad_thinning_options_are_refused(mp4):
    with pytest.raises(CommandError, match="--every"):
        call_command("import_video", str(mp4), dataset="clips", every=0, verbosity=0)


def test_a_folder_of_frames_is_a_sequence_per_folder(tmp_path):
    for folder in ("take1", "take2"):
        (tmp_path / "shoot" / folder).mkdir(parents=True)
        for i, img in enumerate(aflw_frames(4)):
            cv2.imwrite(str(tmp_path / "shoot" / folder / f"f{3 - i:02d}.jpg"), img)
    call_command("import_video", str(tmp_path / "shoot"), dataset="frames", verbosity=0)
    seqs = {s.name: s for s in Sequence.objects.filter(dataset__name="frames")}
    assert sorted(seqs) == ["take1", "take2"] and seqs["take1"].frame_count == 4
    names = list(seqs["take1"].frames.order_by("frame_index").values_list("file_name", flat=True))
    assert names == [f"take1/f{i:02d}.jpg" for i in range(4)]  # sorted by name


def test_a_video_import_run_again_after_its_worker_died_counts_each_frame_once(mp4, settings):
    """What the reaper's re-send does to a stranded video import (it is one of reaper.IMPORT_KINDS)."""
    from datetime import timedelta

    from django.utils import timezone

    from annotator.common import jobs, reaper
    from annotator.datasets import importing

    assert Job.Kind.IMPORT_VIDEO in reaper.IMPORT_KINDS
    settings.HEADPOSE_AUTO_MESH = settings.HEADPOSE_AUTO_PROPOSE = False
    job = importing.create_import_job(kind=Job.Kind.IMPORT_VIDEO, dataset_name="clips", server_path=str(mp4), every=3)
    assert jobs.claim(Job, job.pk)
    importing.run_import_job(job.pk)
    Job.objects.filter(pk=job.pk).update(
        state="running", processed=4, succeeded=4, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert jobs.claim(Job, job.pk)
    job = importing.run_import_job(job.pk)
    assert (job.state, job.processed, job.succeeded, job.unchanged) == ("done", 10, 10, 0)
    assert Sequence.objects.get(dataset__name="clips").frame_count == 10
