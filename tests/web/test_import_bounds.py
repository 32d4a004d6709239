"""Import metadata bounded where it enters (issue 24 item 1): one BIWI file with a
frame number over the database's integer, or a calibration with an impossible
image size, is a per-file error naming the file while the other files import
(the README's promise), never the database's 'integer out of range'; `every`
and `max_frames` outside their bounds are refused before a job exists."""

import zipfile

import pytest
from django.core.management import CommandError, call_command

from annotator.common.models import Job
from annotator.datasets import importing
from annotator.datasets.admin import ImportForm
from annotator.models import Dataset, Image
from tests.core.formats.test_bounded_inputs import _cal_text, _frame

pytestmark = pytest.mark.django_db


def test_one_bad_number_in_a_biwi_import_is_a_per_file_error(tmp_path, settings):
    settings.HEADPOSE_AUTO_MESH = settings.HEADPOSE_AUTO_PROPOSE = False
    path = tmp_path / "biwi.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hpdb/03/rgb.cal", _cal_text())
        _frame(zf, "03", "00011")
        _frame(zf, "03", "00012", yaw=-8.0)
        _frame(zf, "03", str(3 * 2**31))  # 'integer out of range' in PostgreSQL, an OverflowError in SQLite
        _frame(zf, "03", "5" * 4800)  # int() alone refuses it
        zf.writestr("hpdb/04/rgb.cal", _cal_text("640 -Infinity"))
        _frame(zf, "04", "00001")
    with pytest.raises(CommandError, match="2 imported"):
        call_command("import_biwi", str(path), dataset="bounded", verbosity=0)
    job = Job.objects.get()
    assert job.state == "done_with_errors" and job.succeeded == 2
    errors = {e["name"]: e["message"] for e in job.errors}
    assert sorted(errors) == sorted(
        [f"hpdb/03/frame_{3 * 2**31}_rgb.png", f"hpdb/03/frame_{'5' * 4800}_rgb.png", "hpdb/04/frame_00001_rgb.png"]
    )
    assert (
        "frame number = 6442450944 is outside the accepted range 0 .. 2,147,483,647"
        in errors[f"hpdb/03/frame_{3 * 2**31}_rgb.png"]
    )
    assert "frame number is an integer of 4,800 digits" in errors[f"hpdb/03/frame_{'5' * 4800}_rgb.png"]
    assert "hpdb/04/rgb.cal: line 13 must be a finite number" in errors["hpdb/04/frame_00001_rgb.png"]
    assert not any("out of range" in m or "Overflow" in m for m in errors.values())
    assert sorted(Image.objects.values_list("frame_index", flat=True)) == [11, 12]


@pytest.mark.parametrize(
    "options, reason",
    [
        ({"every": 10**24}, "--every = an integer of 25 digits is outside the accepted range 1 .. 10,000"),
        ({"every": 12_000}, "--every = 12000 is outside"),
        ({"max_frames": 2**31 + 1}, "--max-frames = 2147483649 is outside"),
        ({"max_frames": -(10**300)}, "--max-frames = an integer of 301 digits is outside"),
    ],
)
def test_thinning_options_out_of_bounds_are_refused_before_a_job_exists(tmp_path, options, reason):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not decoded: refused first")
    with pytest.raises(importing.ImportRequestError) as err:
        importing.create_import_job(kind=Job.Kind.IMPORT_VIDEO, dataset_name="clips", server_path=str(video), **options)
    assert str(err.value).startswith(reason), str(err.value)
    with pytest.raises(CommandError, match=r"--every|--max-frames"):
        call_command("import_video", str(video), dataset="clips", verbosity=0, **options)
    assert not Job.objects.exists() and not Dataset.objects.exists()


def test_the_admin_import_form_bounds_every_and_max_frames():
    form = ImportForm(
        data={"kind": Job.Kind.IMPORT_VIDEO, "dataset": "clips", "server_path": "/x", "every": str(10**30)}
    )
    assert not form.is_valid() and "every" in form.errors
    form = ImportForm(
        data={"kind": Job.Kind.IMPORT_VIDEO, "dataset": "clips", "server_path": "/x", "max_frames": "9" * 5000}
    )
    assert not form.is_valid() and "max_frames" in form.errors
