"""Texture crop and UVs, checked on a gradient image whose colour encodes the
pixel position: sampling the texture at a landmark's UV must give back the
landmark's own coordinates."""

import numpy as np
import pytest

from workers.core.meshing import MeshingError, face_texture
from workers.core.meshing.texture import square_crop


def gradient_image(width=250, height=240):
    """BGR uint8: blue = x, green = y (pixel centres), red = 128."""
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    return np.stack([x, y, np.full_like(x, 128)], axis=-1).astype(np.uint8)


def sample_bilinear(rgb: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Texture lookup with v = 0 at the top row, texel centres at (i + 0.5) / size."""
    h, w = rgb.shape[:2]
    x = np.clip(u * w - 0.5, 0, w - 1)
    y = np.clip(v * h - 0.5, 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    img = rgb.astype(np.float64)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


@pytest.mark.parametrize("max_size", [512, 64])
@pytest.mark.parametrize("where", ["centre", "corner"])
def test_uv_maps_landmarks_to_their_pixels(max_size, where):
    rng = np.random.default_rng(3)
    if where == "centre":
        pts = rng.uniform([60, 50], [190, 190], size=(68, 2))
    else:  # the crop runs past the top-left image edges
        pts = rng.uniform([0, 0], [70, 60], size=(68, 2))
    tex = face_texture(gradient_image(), pts, margin=0.2, max_size=max_size)
    assert np.all((tex.uv >= 0) & (tex.uv <= 1))
    rgb = np.asarray(tex.image)
    assert rgb.shape[0] == rgb.shape[1] == min(tex.crop[2], max_size)
    got = sample_bilinear(rgb, tex.uv[:, 0], tex.uv[:, 1])
    # RGB order in the texture: red = 128, green = y, blue = x
    assert np.allclose(got[:, 0], 128)
    # without resizing the lookup is exact (a linear ramp); after shrinking, the
    # 8-bit texels are rounded, worth up to half a value: a half-texel UV shift
    # would be ~1.4 px here
    tol = 1e-6 if max_size == 512 else 0.6
    assert np.abs(got[:, 2] - pts[:, 0]).max() < tol
    assert np.abs(got[:, 1] - pts[:, 1]).max() < tol


def test_crop_is_square_with_margin():
    pts = np.array([[100.0, 50.0], [200.0, 250.0]])
    x0, y0, side = square_crop(pts, margin=0.25)
    assert side >= 200 * 1.5
    assert x0 < 100 - 0.25 * 200 + 1 and x0 + side > 200 + 50 - 1
    assert y0 < 50 - 0.25 * 200 + 1 and y0 + side > 250 + 50 - 1


def test_gray_and_bgra_images():
    pts = np.array([[50.0, 60.0], [120.0, 70.0], [80, 150]])
    gray = gradient_image()[:, :, 0]
    assert face_texture(gray, pts).image.mode == "RGB"
    bgra = np.dstack([gradient_image(), np.full(gray.shape, 255, np.uint8)])
    assert face_texture(bgra, pts).image.mode == "RGB"


@pytest.mark.parametrize(
    "image, pts, message",
    [
        (np.zeros((10, 10, 3), np.float32), [[1.0, 1.0]], "8-bit"),
        (np.zeros((10, 10, 3), np.uint8), np.zeros((0, 2)), "non-empty"),
        (np.zeros((10, 10, 3), np.uint8), [[np.nan, 1.0]], "finite"),
        (np.zeros((10, 10, 3), np.uint8), [[500.0, 500.0], [510, 505]], "outside the image"),
    ],
)
def test_bad_input(image, pts, message):
    with pytest.raises(MeshingError, match=message):
        face_texture(image, np.asarray(pts, float))
