"""Ground-truth and predicted head axes drawn on an image (OpenCV, server side).

Axes are the head frame's x (image-right at identity, red), y (chin, green) and
z (back of the head, blue), projected through the image's own K with
geometry.project. Both poses are drawn at the ground-truth head origin, so only
the rotations differ: solid lines = ground truth, dashed = prediction."""

from __future__ import annotations

import cv2
import numpy as np

from workers.core import geometry

AXIS_COLORS_BGR = ((30, 30, 220), (30, 150, 30), (210, 100, 20))  # x red, y green, z blue (prediction)
GT_COLORS_BGR = ((150, 150, 255), (150, 235, 150), (255, 200, 140))  # the same hues, pale and thick
DEFAULT_HEAD_WIDTH_MM = 150.0


def head_origin_from_box(box, K, head_width_mm: float = DEFAULT_HEAD_WIDTH_MM) -> np.ndarray:
    """A head origin for labels without t: the box centre at the depth where a
    head of average width spans the box."""
    x0, y0, x1, y1 = (float(v) for v in box)
    K = np.asarray(K, dtype=np.float64)
    z = K[0, 0] * head_width_mm / max(x1 - x0, 1.0)
    u, v = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z])


def _pt(p):
    return int(round(float(p[0]))), int(round(float(p[1])))


def draw_axes(bgr: np.ndarray, K, t, R_gt, R_pred=None, axis_mm: float = 110.0) -> np.ndarray:
    """A copy of `bgr` with the ground-truth (thick, pale) and predicted (thin arrows) axes."""
    img = bgr.copy()
    scale = max(img.shape[:2]) / 450.0
    thick = max(int(round(7 * scale)), 4)
    thin = max(int(round(2 * scale)), 2)
    pts = np.array([[0, 0, 0], [axis_mm, 0, 0], [0, axis_mm, 0], [0, 0, axis_mm]], dtype=np.float64)
    t = np.asarray(t, dtype=np.float64).reshape(3)
    K = np.asarray(K, dtype=np.float64).reshape(3, 3)
    gt = geometry.project(pts, np.asarray(R_gt, float).reshape(3, 3), t, K)
    for k in range(3):
        cv2.line(img, _pt(gt[0]), _pt(gt[k + 1]), (255, 255, 255), thick + 2, cv2.LINE_AA)
        cv2.line(img, _pt(gt[0]), _pt(gt[k + 1]), GT_COLORS_BGR[k], thick, cv2.LINE_AA)
    if R_pred is not None:
        pr = geometry.project(pts, np.asarray(R_pred, float).reshape(3, 3), t, K)
        for k in range(3):
            length = float(np.linalg.norm(pr[k + 1] - pr[0]))
            tip = min(0.25, 12 * scale / max(length, 1.0))
            cv2.arrowedLine(img, _pt(pr[0]), _pt(pr[k + 1]), (0, 0, 0), thin + 2, cv2.LINE_AA, tipLength=tip)
            cv2.arrowedLine(img, _pt(pr[0]), _pt(pr[k + 1]), AXIS_COLORS_BGR[k], thin, cv2.LINE_AA, tipLength=tip)
    cv2.circle(img, _pt(gt[0]), thin + 1, (255, 255, 255), -1, cv2.LINE_AA)
    return img


def encode_jpeg(bgr: np.ndarray, quality: int = 88) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the image could not be encoded")
    return buf.tobytes()
