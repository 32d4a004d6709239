"""Numbers in dataset files and import options are bounded where they enter
(issue 24): a frame number too large for the database, a calibration with an
impossible image size or focal length, Pose_Para angles beyond a turn, `every`
beyond 10,000, a video's frame rate beyond 1,000 fps. Each is a per-file error
naming the file (the other files still import) or a FormatError naming the
option; never an exception that stops the import."""

import io
import math
import zipfile

import numpy as np
import pytest
import scipy.io

from workers.core.formats import aflw2000, biwi, video
from workers.core.formats.records import MAX_FRAME_INDEX, FormatError

from .helpers import png_bytes
from .test_biwi import CENTRE, K_RGB, R_E, T_E, _fsanet_arrays, _npz_bytes, doc_matrix, pose_text


def _cal_text(size_line: str = "640 480", K=K_RGB) -> str:
    buf = io.BytesIO()
    biwi.write_rgb_cal(buf, K, R_E, T_E)
    lines = buf.getvalue().decode().rstrip("\n").split("\n")
    return "\n".join(lines[:-1] + [size_line]) + "\n"


def _frame(zf: zipfile.ZipFile, seq: str, number: str, yaw: float = 5.0) -> None:
    zf.writestr(f"hpdb/{seq}/frame_{number}_rgb.png", png_bytes(640, 480, seed=len(number)))
    zf.writestr(f"hpdb/{seq}/frame_{number}_pose.txt", pose_text(doc_matrix(yaw, 1.0, -2.0), CENTRE))


@pytest.fixture
def biwi_zip(tmp_path):
    path = tmp_path / "biwi.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hpdb/12/rgb.cal", _cal_text())
        _frame(zf, "12", "00003")
        _frame(zf, "12", "3" * 5200)  # int() alone refuses over 4,300 digits
        _frame(zf, "12", str(2**31 + 17))  # over the database's integer
        _frame(zf, "12", str(MAX_FRAME_INDEX))  # the largest that fits
        zf.writestr("hpdb/05/rgb.cal", _cal_text("inf 480"))
        _frame(zf, "05", "00001")
        zf.writestr("hpdb/06/rgb.cal", _cal_text("640 480", K=np.diag([3e9, 3e9, 1.0])))
        _frame(zf, "06", "00001")
        zf.writestr("hpdb/08/rgb.cal", _cal_text("640.5 480"))
        _frame(zf, "08", "00001")
        zf.writestr("hpdb/09/rgb.cal", _cal_text("640 480").replace("320.0", "1_0", 1))
        _frame(zf, "09", "00001")
        arrays = _fsanet_arrays(3)
        arrays["pose"][2] = [4000.0, 0.0, 0.0]
        zf.writestr("wide.npz", _npz_bytes(**arrays))
    return path


def test_one_bad_number_is_a_per_file_error_and_the_other_biwi_files_import(biwi_zip):
    records = list(biwi.iter_samples(biwi_zip))  # never raises
    by = {r.name: r for r in records}
    ok = sorted(n for n, r in by.items() if r.ok)
    assert ok == [
        "hpdb/12/frame_00003_rgb.png",
        f"hpdb/12/frame_{MAX_FRAME_INDEX}_rgb.png",
        "wide.npz#000000",
        "wide.npz#000001",
    ]
    assert by[f"hpdb/12/frame_{MAX_FRAME_INDEX}_rgb.png"].frame.frame_index == MAX_FRAME_INDEX

    huge = by[f"hpdb/12/frame_{'3' * 5200}_rgb.png"].message
    assert "frame number is an integer of 5,200 digits, outside the accepted range 0 .. 2,147,483,647" in huge
    over = by[f"hpdb/12/frame_{2**31 + 17}_rgb.png"].message
    assert over.startswith(f"hpdb/12/frame_{2**31 + 17}_rgb.png: frame number = 2147483665 is outside")
    assert "integer out of range" not in over

    def message(seq):
        return by[f"hpdb/{seq}/frame_00001_rgb.png"].message

    assert "hpdb/05/rgb.cal: line 13 must be a finite number, not 'inf'" in message("05")
    assert "hpdb/06/rgb.cal: focal length fx (px) = 3e+09 is outside the accepted range 1e-06 .. 1e+06" in message("06")
    assert "hpdb/08/rgb.cal: image width = 640.5 is not a whole number of pixels" in message("08")
    assert "hpdb/09/rgb.cal: line 1: '1_0' is not a number" in message("09")
    assert "wide.npz#000002: pose angles [4000.0, 0.0, 0.0] go beyond ±360 degrees" in by["wide.npz#000002"].message
    assert len(records) == biwi.count(biwi_zip)


def test_rgb_cal_image_size_is_whole_pixels_within_bounds():
    assert biwi.parse_rgb_cal(_cal_text("640 480").encode())["size"] == (640, 480)
    assert biwi.parse_rgb_cal(_cal_text("640.0 480").encode())["size"] == (640, 480)
    for line, reason in [("0 480", "image width = 0 is outside"), ("640 70000", "image height = 70000 is outside")]:
        with pytest.raises(FormatError, match=reason):
            biwi.parse_rgb_cal(_cal_text(line).encode(), "rgb.cal")
    with pytest.raises(FormatError, match="too large for a number"):
        biwi.parse_rgb_cal(_cal_text("640 " + "4" * 400).encode(), "rgb.cal")


def _mat_bytes(aflw_samples_dir, change) -> bytes:
    mat = scipy.io.loadmat(aflw_samples_dir / "image00514.mat")
    mat = {k: v for k, v in mat.items() if not k.startswith("__")}
    mat["Pose_Para"] = mat["Pose_Para"].astype(np.float64).copy()
    change(mat)
    buf = io.BytesIO()
    scipy.io.savemat(buf, mat)
    return buf.getvalue()


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda m: m["Pose_Para"].__setitem__((0, 1), 7.5e200), "Pose_Para yaw = 7.5e+200 is outside the accepted"),
        (lambda m: m["Pose_Para"].__setitem__((0, 0), -7.0), "Pose_Para pitch = -7 is outside"),
        (lambda m: m["Pose_Para"].__setitem__((0, 5), 3e7), "Pose_Para tz = 3e+07 is outside"),
        (lambda m: m["Pose_Para"].__setitem__((0, 6), 2.5), "Pose_Para s = 2.5 is outside"),
        (lambda m: m["pt3d_68"].__setitem__((2, 7), -5e9), "pt3d_68 holds values beyond ±1e+06 px"),
    ],
)
def test_aflw_pose_para_beyond_its_bounds_is_a_per_file_error(tmp_path, aflw_samples_dir, change, reason):
    path = tmp_path / "aflw.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(aflw_samples_dir / "image00050.jpg", "image00050.jpg")
        zf.write(aflw_samples_dir / "image00050.mat", "image00050.mat")
        zf.write(aflw_samples_dir / "image00514.jpg", "image07777.jpg")
        zf.writestr("image07777.mat", _mat_bytes(aflw_samples_dir, change))
    by = {r.name: r for r in aflw2000.iter_samples(path)}
    assert by["image00050.jpg"].ok
    bad = by["image07777.jpg"]
    assert not bad.ok and bad.message.startswith("image07777.mat: ") and reason in bad.message, bad.message


@pytest.mark.parametrize(
    "every, max_frames, reason",
    [
        (10**25, None, "--every = an integer of 26 digits is outside the accepted range 1 .. 10,000"),
        (10_001, None, "--every = 10001 is outside"),
        (0, None, "--every = 0 is outside"),
        (2.0, None, "--every must be an integer, not float"),
        (True, None, "--every must be an integer, not bool"),
        (1, 2**40, "--max-frames = 1099511627776 is outside the accepted range 1 .. 2,147,483,648"),
        (1, 0, "--max-frames = 0 is outside"),
    ],
)
def test_thinning_options_are_bounded(tmp_path, every, max_frames, reason):
    with pytest.raises(FormatError) as err:
        video.check_thinning(every, max_frames)
    assert str(err.value).startswith(reason), str(err.value)
    (tmp_path / "f.png").write_bytes(png_bytes())
    with pytest.raises(FormatError, match="--"):
        list(video.iter_frames(tmp_path, None, "clip", every=every, max_frames=max_frames))


def test_a_video_frame_rate_is_a_number_in_0_to_1000_fps():
    assert video.video_fps(29.97, "clip.mp4") == 29.97
    assert video.video_fps(0.0, "clip.mp4") == video.FRAMES_FPS  # no rate in the header
    for fps in (90_000.0, -25.0, math.nan, math.inf, 1e-9):
        with pytest.raises(FormatError, match=r"^clip.mp4: frame rate \(fps\)"):
            video.video_fps(fps, "clip.mp4")
