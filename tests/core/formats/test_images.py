import numpy as np
import pytest

from workers.core import geometry
from workers.core.formats import images
from workers.core.formats.images import ImageError, decode_image

from .helpers import make_zip, png_bytes


@pytest.fixture
def real_jpg(aflw_samples_dir):
    return (aflw_samples_dir / "image00050.jpg").read_bytes()


def test_decode_real_jpeg(real_jpg):
    img = decode_image(real_jpg, "image00050.jpg")
    assert img.size == (450, 450)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_formats_accepted(fmt):
    assert decode_image(png_bytes(33, 21, fmt=fmt)).size == (33, 21)


def test_truncated_jpeg_is_refused(real_jpg):
    with pytest.raises(ImageError, match="truncated"):
        decode_image(real_jpg[: len(real_jpg) // 2], "cut.jpg")


def test_corrupt_and_unsupported():
    with pytest.raises(ImageError, match="not an image"):
        decode_image(b"this is not an image at all", "x.jpg")
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"", "x.jpg")
    with pytest.raises(ImageError, match="unsupported image format GIF"):
        decode_image(png_bytes(fmt="GIF"), "x.jpg")
    bad = bytearray(png_bytes(40, 40))
    bad[60:80] = b"\x00" * 20  # damage the compressed data, keep the header
    with pytest.raises(ImageError, match=r"x\.png"):
        decode_image(bytes(bad), "x.png")


def test_image_folder_reader_keeps_going(tmp_path, real_jpg):
    z = make_zip(
        tmp_path / "imgs.zip",
        {
            "a.jpg": real_jpg,
            "b/c.png": png_bytes(80, 60),
            "broken.jpg": b"garbage",
            "cut.jpg": real_jpg[:5000],
            "notes.csv": b"a,b",
            "README.md": b"#",
        },
    )
    recs = {r.name: r for r in images.iter_samples(z)}
    assert set(recs) == {"a.jpg", "b/c.png", "broken.jpg", "cut.jpg", "notes.csv"}
    assert images.count(z) == 5
    a = recs["a.jpg"]
    assert a.ok and (a.width, a.height) == (450, 450) and a.faces == [] and a.image_bytes == real_jpg
    np.testing.assert_array_equal(recs["b/c.png"].K, geometry.default_intrinsics(80, 60))
    assert recs["b/c.png"].K[0, 2] == 39.5
    assert "not an image" in recs["broken.jpg"].message
    assert "truncated" in recs["cut.jpg"].message
    assert "unsupported file type '.csv'" in recs["notes.csv"].message
