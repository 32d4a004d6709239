"""Bad input never crashes and never hides: per-file errors, good files kept."""

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from annotator.models import Image, Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed_zip(tmp_path, aflw_samples_dir):
    good = ["image00050", "image00081"]
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for stem in good:
            zf.write(aflw_samples_dir / f"{stem}.jpg", f"{stem}.jpg")
            zf.write(aflw_samples_dir / f"{stem}.mat", f"{stem}.mat")
        jpg = (aflw_samples_dir / "image00430.jpg").read_bytes()
        zf.writestr("image09001.jpg", jpg[: len(jpg) // 3])  # truncated image
        zf.write(aflw_samples_dir / "image00430.mat", "image09001.mat")
        zf.write(aflw_samples_dir / "image00514.jpg", "image09002.jpg")
        import scipy.io

        buf = io.BytesIO()
        scipy.io.savemat(buf, {"pt3d_68": scipy.io.loadmat(aflw_samples_dir / "image00514.mat")["pt3d_68"]})
        zf.writestr("image09002.mat", buf.getvalue())  # no Pose_Para
        zf.writestr("../escape.jpg", jpg)
        zf.writestr("/abs/image09003.jpg", jpg)
        zf.writestr("notes.exe", b"MZ")
    return path


def test_the_command_reports_each_bad_file_and_exits_non_zero(mixed_zip, capsys):
    with pytest.raises(CommandError) as caught:
        call_command("import_aflw2000", str(mixed_zip), dataset="mixed", verbosity=0)
    assert "2 imported" in str(caught.value)
    err = capsys.readouterr().err
    job = Job.objects.get()
    messages = {e["name"]: e["message"] for e in job.errors}
    assert job.state == "done_with_errors"
    assert "image09001.jpg" in messages and "truncated" in messages["image09001.jpg"].lower()
    assert any("Pose_Para" in m for m in messages.values())
    assert any(".." in n or "escape" in n for n in messages)
    assert any("abs" in n for n in messages)
    assert any("notes.exe" in n for n in messages)
    for name in messages:
        assert name in err  # the command shows every error
    # the good files were imported, the bad ones not at all
    assert sorted(Image.objects.values_list("file_name", flat=True)) == ["image00050.jpg", "image00081.jpg"]


def test_a_missing_path_is_a_clear_command_error():
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("import_images", "/nonexistent/folder", dataset="x", verbosity=0)


def test_a_bad_dataset_name_is_refused(tmp_path):
    with pytest.raises(CommandError, match="dataset name"):
        call_command("import_images", str(tmp_path), dataset="../evil", verbosity=0)


def test_a_file_that_is_not_a_zip_fails_the_job_visibly(tmp_path):
    bogus = tmp_path / "data.zip"
    bogus.write_bytes(b"this is not a zip")
    with pytest.raises(CommandError, match="failed"):
        call_command("import_images", str(bogus), dataset="bogus", verbosity=0)
    job = Job.objects.get()
    assert job.state == "failed" and job.errors


def test_a_zip_bomb_is_stopped(tmp_path, settings):
    settings.HEADPOSE_IMPORT_MAX_BYTES = 1024 * 1024
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.png", b"\0" * (20 * 1024 * 1024))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(CommandError):
        call_command("import_images", str(bomb), dataset="bomb", verbosity=0)
    job = Job.objects.get()
    assert any("big.png" in e["name"] or "big.png" in e["message"] for e in job.errors)
    assert Image.objects.count() == 0
