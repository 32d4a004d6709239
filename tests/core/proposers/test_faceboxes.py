"""FaceBoxes (workers/core/proposers/parts/faceboxes.py) on real images, and as the
fallback of detect_faces when mediapipe finds no face."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from tests.core.proposers.forking import call_in_fork
from workers.core import geometry
from workers.core.proposers.errors import MissingWeightsError
from workers.core.proposers.parts import faceboxes
from workers.core.proposers.parts.detection import DetectionError, detect_faces
from workers.core.proposers.parts.faceboxes import FaceBoxesDetector

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def weights_path(weights_dir) -> Path:
    return weights_dir / faceboxes.WEIGHTS_FILE


@pytest.fixture
def detector(weights_path) -> FaceBoxesDetector:
    return faceboxes.cached_detector(weights_path)


def skimage_bgr(name):
    import skimage.data

    img = getattr(skimage.data, name)()
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR if img.ndim == 2 else cv2.COLOR_RGB2BGR)


def hair_blob():
    """The back of a head as tests/core/test_wide_range.py draws it: a smooth dark blob, no face."""
    yy, xx = np.mgrid[0:320, 0:320]
    img = np.full((320, 320, 3), 200, np.uint8)
    img[((xx - 160) ** 2 / 90**2 + (yy - 170) ** 2 / 120**2) < 1] = (30, 35, 45)
    rng = np.random.default_rng(0)
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def samples(aflw_samples_dir):
    """(name, BGR image, (68, 2) ground-truth landmarks in pixels) of the 10 real samples."""
    out = []
    for jpg in sorted(aflw_samples_dir.glob("*.jpg")):
        pts = scipy.io.loadmat(str(jpg.with_suffix(".mat")))["pt3d_68"][:2].T
        out.append((jpg.stem, cv2.imread(str(jpg)), pts))
    assert len(out) == 10
    return out


def contains(box, point):
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def test_the_checkpoint_loads_strictly_with_every_key(weights_path):
    from workers.core.proposers.parts.weights import load_torch_state

    state = load_torch_state(weights_path, "FaceBoxes")
    net = faceboxes.load_network(weights_path)
    assert set(net.state_dict()) == set(state)
    assert all(net.state_dict()[k].shape == v.shape for k, v in state.items())
    del state["conf.2.bias"]  # strict: a missing key is an error, not a silently random layer
    with pytest.raises(RuntimeError, match=r"conf\.2\.bias"):
        faceboxes.load_torch_network(faceboxes.build_network(), state)


def test_the_best_box_holds_each_real_face(detector, aflw_samples_dir):
    for name, img, pts in samples(aflw_samples_dir):
        found = detector.detect(img)
        assert found, name
        box, score = found[0]
        assert score >= 0.5 and all(s <= score for _, s in found), name
        assert contains(box, pts.mean(0)), name
        landmark_box = np.r_[pts.min(0), pts.max(0)]
        assert faceboxes.iou(landmark_box, np.array([box]))[0] > 0.4, name


def test_it_finds_the_astronaut_and_nothing_where_there_is_no_face(detector):
    found = detector.detect(skimage_bgr("astronaut"))
    assert len(found) == 1
    (x0, y0, x1, y1), _ = found[0]
    assert 150 < (x0 + x1) / 2 < 300 and 50 < (y0 + y1) / 2 < 200  # her face, top middle
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []
    # why the fallback needs no FaceMesh confirmation (detection._fallback_found):
    # on face-free images nothing comes near detect_faces' 0.5 threshold
    assert detector.detect(hair_blob(), min_score=0.05) == []
    for img in (skimage_bgr("coffee"), skimage_bgr("chelsea")):  # a cup, a cat
        assert all(score < 0.3 for _, score in detector.detect(img, min_score=0.05))


def test_a_large_image_is_resized_down_and_boxes_come_back_in_its_pixels(detector):
    img = skimage_bgr("astronaut")
    big = cv2.resize(img, (2048, 2048), interpolation=cv2.INTER_CUBIC)  # 4x, above 720 x 1080
    assert faceboxes.input_scale(2048, 2048) == pytest.approx(720 / 2048)
    (a, _), (b, _) = detector.detect(img)[0], detector.detect(big)[0]
    np.testing.assert_allclose(np.array(b), (np.array(a) + 0.5) * 4 - 0.5, atol=0.08 * 4 * (a[2] - a[0]))


def test_bad_input_gets_a_clear_error(detector, tmp_path):
    with pytest.raises(DetectionError, match="uint8"):
        detector.detect(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(DetectionError, match="shape"):
        detector.detect(np.zeros((10, 10, 5), np.uint8))
    with pytest.raises(DetectionError, match="min_score"):
        detector.detect(np.zeros((10, 10, 3), np.uint8), min_score=1.5)
    with pytest.raises(MissingWeightsError, match="FaceBoxes"):
        FaceBoxesDetector(tmp_path / "none.pth")
    assert faceboxes.detector_in(None) is None and faceboxes.detector_in(tmp_path) is None


def test_nms_priors_and_decoding():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]], float)
    scores = np.array([0.9, 0.95, 0.5, 0.1])
    assert faceboxes.nms(boxes, scores, 0.3).tolist() == [1, 2]  # 0 and 3 overlap the best one
    assert faceboxes.nms(boxes, scores, 0.99).tolist() == [1, 0, 2, 3]
    priors = faceboxes.prior_boxes(64, 96)
    # stride 32: 2 x 3 cells x 21 anchors; stride 64: 1 x 2; stride 128: 1 x 1
    assert len(priors) == 6 * 21 + 2 + 1
    first = priors[:21]
    assert first[:16, 2].tolist() == [32] * 16 and first[16:20, 2].tolist() == [64] * 4 and first[20, 2] == 128
    assert first[:4, 0].tolist() == [0, 8, 16, 24] and first[20, :2].tolist() == [16, 16]
    np.testing.assert_allclose(faceboxes.decode(np.zeros((1, 4)), np.array([[50.0, 40, 20, 10]])), [[40, 35, 60, 45]])


def rotated_sample(aflw_samples_dir):
    """A real face turned by 90 deg (a phone held sideways): mediapipe finds no
    face in it, FaceBoxes does. Returns the image, the rotated landmarks and the
    camera-frame rotation that turns the image."""
    jpg = aflw_samples_dir / "image00050.jpg"
    img = cv2.imread(str(jpg))
    pts = scipy.io.loadmat(str(jpg.with_suffix(".mat")))["pt3d_68"][:2].T
    h = img.shape[0]
    # clockwise: pixel (u, v) -> (h - 1 - v, u); about the image centre x' = -y, y' = x,
    # so in the camera frame the head turns by Rz (90 deg about the optical axis)
    turned = np.column_stack([h - 1 - pts[:, 1], pts[:, 0]])
    Rz = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    return cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE), turned, Rz


def test_the_fallback_finds_a_face_mediapipe_misses(detector, aflw_samples_dir):
    img, pts, _ = rotated_sample(aflw_samples_dir)
    assert detect_faces(img) == []
    faces = detect_faces(img, fallback=detector)
    assert len(faces) == 1
    f = faces[0]
    assert f.score >= 0.5 and contains(f.box, pts.mean(0))
    assert f.keypoints.shape == (6, 2) and np.isnan(f.keypoints).all()
    # FaceMesh ran on the fallback box as on a mediapipe one (here it finds the face)
    assert f.landmarks.shape == (468, 3) and f.landmarks_mirrored is not None
    assert contains(f.box, f.landmarks[:, :2].mean(0))
    # mediapipe's own faces are untouched when it finds them: the fallback is not consulted
    upright = cv2.imread(str(aflw_samples_dir / "image00050.jpg"))
    a, b = detect_faces(upright), detect_faces(upright, fallback=detector)
    assert len(a) == len(b) == 1 and a[0].box == b[0].box and not np.isnan(b[0].keypoints).any()


def test_proposers_use_the_fallback_from_their_weights_dir(weights_dir, aflw_samples_dir):
    from workers.core.formats.aflw2000 import model_intrinsics
    from workers.core.proposers import create_proposer

    upright = cv2.imread(str(aflw_samples_dir / "image00050.jpg"))
    img, _, Rz = rotated_sample(aflw_samples_dir)
    K = model_intrinsics(*img.shape[:2])
    proposer = create_proposer("fused", weights_dir=weights_dir)
    assert proposer.fallback_detector() is proposer.fallback_detector()  # one per process
    assert create_proposer("landmarks-fit").fallback_detector() is None  # no weights dir, no fallback
    (turned,), (plain,) = proposer.propose([img], [K]), proposer.propose([upright], [K])
    assert len(turned) == 1 and len(plain) == 1
    # the pose found through the fallback is the upright pose turned with the image
    assert geometry.geodesic_distance(turned[0].R, Rz @ plain[0].R) < 10


def test_a_worker_forked_after_faceboxes_ran_gets_a_clear_error_not_a_hang(detector, weights_path):
    assert len(detector.detect(skimage_bgr("astronaut"))) == 1  # torch has now run in this process
    status, message = call_in_fork(lambda: type(faceboxes.cached_detector(weights_path)).__name__)
    assert status == "error" and "hangs after such a fork" in message


def test_a_worker_forked_before_first_use_detects_faces(weights_dir):
    # the Celery prefork case: the master imports the code, each child builds its detector
    script = textwrap.dedent(f"""
        import os, sys, cv2, skimage.data
        from workers.core.proposers.parts.faceboxes import detector_in
        img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
        def faces():
            return len(detector_in({str(weights_dir)!r}).detect(img))
        pid = os.fork()
        if pid == 0:
            os._exit(0 if faces() == 1 else 3)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status) or (0 if faces() == 1 else 4))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
