"""Ground-truth and predicted head axes drawn on an image (OpenCV, server side).

Axes are the head frame's x (image-right at identity, red), y (chin, green) and
z (back of the head, blue), projected through the image's own K with
geometry.project. Both poses are drawn at the ground-truth head origin, so only
the rotations differ: solid lines = ground truth, dashed = prediction."""
from __future__ import annotations

import cv2
import numpy as np

from workers.core import geometry

AXIS_COLORS_BGR = ((40, 40, 230), (40, 190, 40), (230, 120, 30))  # x red, y green, z blue
DEFAULT_HEAD_WIDTH_MM = 150.0


def head_origin_from_box(box, K, head_width_mm: float = DEFAULT_HEAD_WIDTH_MM) -> np.ndarray:
    """A head origin for labels without t: the box centre at the depth where a
    head of average width spans the box."""
    x0, y0, x1, y1 = (float(v) for v in box)
    K = np.asarray(K, dtype=np.float64)
    z = K[0, 0] * head_width_mm / max(x1 - x0, 1.0)
    u, v = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z])


def _dashed(img, p, q, color, thickness, dash_px):
    p, q = np.asarray(p, float), np.asarray(q, float)
    length = float(np.linalg.norm(q - p))
    n = max(int(length // dash_px), 1)
    for i in range(0, n, 2):
        a = p + (q - p) * (i / n)
        b = p + (q - p) * (min(i + 1, n) / n)
        cv2.line(img, _pt(a), _pt(b), color, thickness, cv2.LINE_AA)


def _pt(p):
    return int(round(float(p[0]))), int(round(float(p[1])))


def draw_axes(bgr: np.ndarray, K, t, R_gt, R_pred=None, axis_mm: float = 90.0) -> np.ndarray:
    """A copy of `bgr` with the ground-truth (solid) and predicted (dashed) axes."""
    img = bgr.copy()
    scale = max(img.shape[:2]) / 500.0
    thick = max(int(round(3 * scale)), 2)
    pts = np.array([[0, 0, 0], [axis_mm, 0, 0], [0, axis_mm, 0], [0, 0, axis_mm]], dtype=np.float64)
    t = np.asarray(t, dtype=np.float64).reshape(3)
    K = np.asarray(K, dtype=np.float64).reshape(3, 3)
    gt = geometry.project(pts, np.asarray(R_gt, float).reshape(3, 3), t, K)
    for k in range(3):
        cv2.line(img, _pt(gt[0]), _pt(gt[k + 1]), (255, 255, 255), thick + 2, cv2.LINE_AA)
        cv2.line(img, _pt(gt[0]), _pt(gt[k + 1]), AXIS_COLORS_BGR[k], thick, cv2.LINE_AA)
    if R_pred is not None:
        pr = geometry.project(pts, np.asarray(R_pred, float).reshape(3, 3), t, K)
        for k in range(3):
            _dashed(img, pr[0], pr[k + 1], (20, 20, 20), thick + 2, 8 * scale)
            _dashed(img, pr[0], pr[k + 1], AXIS_COLORS_BGR[k], thick, 8 * scale)
            cv2.circle(img, _pt(pr[k + 1]), thick + 1, AXIS_COLORS_BGR[k], -1, cv2.LINE_AA)
    cv2.circle(img, _pt(gt[0]), thick + 1, (255, 255, 255), -1, cv2.LINE_AA)
    return img


def encode_jpeg(bgr: np.ndarray, quality: int = 88) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the image could not be encoded")
    return buf.tobytes()
