import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.core.proposers.forking import call_in_fork
from workers.core.proposers.parts import detection
from workers.core.proposers.parts.detection import IBUG68_FROM_MESH468, DetectionError, detect_faces

REPO = Path(__file__).resolve().parents[3]


def astronaut_bgr():
    import skimage.data

    return cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)


def grace_hopper_bgr():
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg

    rgb = mpimg.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def two_faces_bgr():
    """Astronaut (left) and Grace Hopper (right) side by side, height 512."""
    a = astronaut_bgr()
    g = grace_hopper_bgr()
    g = cv2.resize(g, (round(g.shape[1] * 512 / g.shape[0]), 512), interpolation=cv2.INTER_AREA)
    return np.hstack([a, g]), a.shape[1]


def inside(points, box, margin=0.0):
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return np.all(
        (points[:, 0] >= x0 - margin * w)
        & (points[:, 0] <= x1 + margin * w)
        & (points[:, 1] >= y0 - margin * h)
        & (points[:, 1] <= y1 + margin * h)
    )


def test_it_finds_no_face_in_a_blank_or_a_coffee_image():
    import skimage.data

    assert detect_faces(np.zeros((480, 640, 3), np.uint8)) == []
    assert detect_faces(np.full((50, 70, 3), 200, np.uint8)) == []
    assert detect_faces(cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR)) == []


def test_it_finds_the_astronaut_with_468_landmarks_on_her_face():
    img = astronaut_bgr()
    faces = detect_faces(img)
    assert len(faces) == 1
    f = faces[0]
    assert f.score >= 0.5 and f.landmarks.shape == (468, 3) and f.keypoints.shape == (6, 2)
    # the face is in the upper-middle of this portrait (x 170-280, y 50-200 by eye)
    cx, cy = (f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2
    assert 170 < cx < 280 and 60 < cy < 200
    assert inside(f.landmarks[:, :2], f.box, margin=0.25)
    assert inside(f.keypoints, f.box, margin=0.25)


def test_it_finds_two_faces_side_by_side():
    img, split = two_faces_bgr()
    faces = detect_faces(img)
    assert len(faces) == 2
    left, right = sorted(faces, key=lambda f: f.box[0])
    assert left.box[2] < split < right.box[0]
    for f in faces:
        assert f.landmarks is not None and inside(f.landmarks[:, :2], f.box, margin=0.25)
    assert faces[0].score >= faces[1].score


def test_landmarks_follow_the_image_when_it_is_resized():
    # independent check of the crop / back-mapping: in OpenCV pixel-centre coordinates
    # a 2x resize maps u to 2u + 0.5
    img = astronaut_bgr()
    big = cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    a = detect_faces(img)[0]
    b = detect_faces(big)[0]
    face_size = a.box[2] - a.box[0]
    err = np.linalg.norm(b.landmarks[:, :2] - (2 * a.landmarks[:, :2] + 0.5), axis=1) / 2
    assert np.median(err) < 0.01 * face_size
    z_scale = np.polyfit(a.landmarks[:, 2], b.landmarks[:, 2], 1)[0]
    assert 1.8 < z_scale < 2.2


def test_it_upscales_a_tiny_face_and_maps_back_to_its_pixels():
    import skimage.data

    found = 0
    for crop in skimage.data.lfw_subset()[:10]:  # 25x25 face crops
        img = cv2.cvtColor((crop * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        faces = detect_faces(img, min_score=0.3)
        if faces and faces[0].landmarks is not None:
            found += 1
            lm = faces[0].landmarks[:, :2]
            assert np.all(lm > -5) and np.all(lm < 30)
    assert found >= 7


def test_the_68_point_subset_is_ibug_ordered():
    assert IBUG68_FROM_MESH468.shape == (68,)
    assert len(set(IBUG68_FROM_MESH468.tolist())) == 68
    assert IBUG68_FROM_MESH468.min() >= 0 and IBUG68_FROM_MESH468.max() < 468
    lm = detect_faces(astronaut_bgr())[0].landmarks68
    assert lm.shape == (68, 3)
    x, y = lm[:, 0], lm[:, 1]
    # iBUG order on a near-frontal face: jaw runs image-left to image-right through the
    # chin (8, lowest), point 36 (outer corner of the eye on image-left) left of 45,
    # brows above eyes above nose tip (30) above mouth above chin
    assert x[0] < x[8] < x[16] and y[8] == y[:17].max()
    assert x[36] < x[39] < x[42] < x[45] and x[48] < x[54]
    assert y[17:27].mean() < y[36:48].mean() < y[30] < y[48:68].mean() < y[8]


def test_the_mapping_matches_the_bundled_reference_face():
    from workers.core.proposers.parts.reference_face import load_reference_face

    assert np.array_equal(load_reference_face().ibug68_from_mesh468, IBUG68_FROM_MESH468)


def test_it_rejects_bad_input_with_a_message():
    with pytest.raises(DetectionError, match="BGR"):
        detect_faces(np.zeros((10, 10, 5), np.uint8))
    with pytest.raises(DetectionError, match="uint8"):
        detect_faces(np.zeros((10, 10, 3), np.float64))
    with pytest.raises(DetectionError, match="min_score"):
        detect_faces(np.zeros((10, 10, 3), np.uint8), min_score=2)


def test_a_worker_forked_after_mediapipe_was_used_gets_a_clear_error_not_an_abort():
    img = astronaut_bgr()
    assert len(detect_faces(img)) == 1  # mediapipe has now run in this process
    status, message = call_in_fork(lambda: len(detect_faces(img)))
    assert status == "error" and "does not survive a fork" in message
    assert len(detect_faces(img)) == 1  # the parent still works


def test_a_worker_forked_before_first_use_detects_faces():
    # the Celery prefork case: the master imports the code, each child builds graphs
    script = textwrap.dedent("""
        import os, sys, cv2, skimage.data
        from workers.core.proposers.parts.detection import detect_faces
        img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
        pid = os.fork()
        if pid == 0:
            os._exit(0 if len(detect_faces(img)) == 1 else 3)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status) or (0 if len(detect_faces(img)) == 1 else 4))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]


def test_the_mirror_permutation_pairs_left_and_right_vertices():
    from workers.core.proposers.parts.reference_face import load_reference_face

    m = detection.mesh_mirror()
    assert m.shape == (468,) and np.array_equal(m[m], np.arange(468))  # an involution
    P = load_reference_face().points468
    mirrored = P[m] * [-1, 1, 1]  # vertex i of the mirror image sits where m[i] is, x negated
    assert np.abs(mirrored - P).mean() < 0.05 * np.ptp(P[:, 0])


def test_the_mirrored_reading_is_a_second_reading_of_the_same_face(aflw_samples_dir):
    for jpg in sorted(aflw_samples_dir.glob("*.jpg"))[:4]:
        faces = detect_faces(cv2.imread(str(jpg)))
        assert faces, jpg.name
        f = faces[0]
        assert f.landmarks_mirrored is not None and f.landmarks_mirrored.shape == (468, 3)
        size = max(f.box[2] - f.box[0], f.box[3] - f.box[1])
        gap = np.linalg.norm(f.landmarks_mirrored[:, :2] - f.landmarks[:, :2], axis=1).mean()
        assert 0 < gap < 0.05 * size, (jpg.name, gap / size)  # close, but an independent reading
        plain = detect_faces(cv2.imread(str(jpg)), refine=False)[0]
        assert plain.landmarks_mirrored is None
