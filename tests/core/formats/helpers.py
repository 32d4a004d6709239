"""Small builders for format tests: images, zips, hand-written rotations."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image


def png_bytes(w=64, h=48, seed=0, fmt="PNG") -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def make_zip(path, entries, symlinks=()):
    """entries: {name: bytes}; symlinks: names stored as symbolic links."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o120777 if name in symlinks else 0o100644) << 16
            zf.writestr(info, data)
    return path


# Hand-written elementary rotations, independent of workers.core.geometry.
def rx(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def ry(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rz(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def get_R(pitch, yaw, roll):
    """6DRepNet's get_R (radians): Rz(roll) Ry(yaw) Rx(pitch)."""
    return rz(roll) @ ry(yaw) @ rx(pitch)


def kabsch(A, B):
    """Rotation Q minimising |Q A_i - B_i| for centred (N, 3) point sets."""
    U, _, Vt = np.linalg.svd(B.T @ A)
    d = np.sign(np.linalg.det(U @ Vt))
    return U @ np.diag([1, 1, d]) @ Vt
