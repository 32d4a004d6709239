import io
import os
import zipfile

import pytest

from workers.core.formats import images
from workers.core.formats.archive import ArchiveLimitError, Limits, is_ignored, open_source, pack_folder

from .helpers import make_zip, png_bytes


def _by_name(records):
    return {r.name: r for r in records}


def test_folder_and_zip_list_the_same_entries(tmp_path):
    entries = {
        "a.png": png_bytes(seed=1),
        "sub/b.png": png_bytes(seed=2),
        ".DS_Store": b"x",
        "__MACOSX/sub/._b.png": b"x",
        "README.txt": b"hi",
        "LICENSE": b"mit",
        "notes.md": b"#",
    }
    root = tmp_path / "d"
    for name, data in entries.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    zpath = make_zip(tmp_path / "d.zip", entries)
    for src in (open_source(root), open_source(zpath), open_source(io.BytesIO(zpath.read_bytes()))):
        with src:
            assert src.names() == ["a.png", "sub/b.png"]
            assert src.read("sub/b.png") == entries["sub/b.png"]
            assert src.rejected == []


def test_ignore_policy():
    for name in [
        "__MACOSX/x.jpg",
        "a/.DS_Store",
        "a/._x.jpg",
        ".git/config",
        "Thumbs.db",
        "README",
        "readme.txt",
        "LICENSE.source-repo",
        "docs/notes.md",
    ]:
        assert is_ignored(name), name
    for name in ["image00050.jpg", "12/frame_00003_pose.txt", "12/rgb.cal", "BIWI_test.npz"]:
        assert not is_ignored(name), name


def test_unsafe_zip_entries_are_rejected_and_good_ones_still_read(tmp_path):
    good = png_bytes(seed=3)
    z = make_zip(
        tmp_path / "u.zip",
        {
            "/etc/passwd.png": good,
            "../evil.png": good,
            "ok/../../evil2.png": good,
            "C:\\win.png": good,
            "link.png": b"/etc/passwd",
            "good.png": good,
        },
        symlinks={"link.png"},
    )
    recs = list(images.iter_samples(z))
    by = _by_name(recs)
    assert "absolute path" in by["/etc/passwd.png"].message
    assert "absolute path" in by["C:\\win.png"].message
    assert "'..'" in by["../evil.png"].message
    assert "'..'" in by["ok/../../evil2.png"].message
    assert "symbolic link" in by["link.png"].message
    assert by["good.png"].ok and by["good.png"].width == 64
    assert len(recs) == 6
    assert images.count(z) == 6


def test_zip_bomb_is_refused_by_ratio_and_the_rest_is_read(tmp_path):
    z = make_zip(
        tmp_path / "bomb.zip", {"a.png": png_bytes(seed=4), "bomb.png": bytes(50 << 20), "z.png": png_bytes(seed=5)}
    )
    assert z.stat().st_size < 200_000  # small on disk, 50 MiB inside
    recs = _by_name(images.iter_samples(z, limits=Limits(max_total_bytes=1 << 30)))
    assert "zip bomb" in recs["bomb.png"].message
    assert recs["a.png"].ok and recs["z.png"].ok


def test_total_cap_counts_real_bytes_not_the_header(tmp_path):
    z = make_zip(
        tmp_path / "big.zip", {"a.png": png_bytes(seed=6), "big.png": bytes(8 << 20), "z.png": png_bytes(seed=7)}
    )
    # A ratio cap high enough that only the size cap can stop the big entry.
    limits = Limits(max_total_bytes=4 << 20, max_ratio=1e9)
    recs = _by_name(images.iter_samples(z, limits=limits))
    assert "over the size limit" in recs["big.png"].message
    assert recs["a.png"].ok and recs["z.png"].ok

    # Forge the header: claim the big entry is 100 bytes. Reading must still stop.
    data = bytearray(z.read_bytes())
    with zipfile.ZipFile(z) as zf:
        info = zf.getinfo("big.png")
    forged = tmp_path / "forged.zip"
    _patch_sizes(data, info, 100)
    forged.write_bytes(bytes(data))
    with open_source(forged, limits) as src:
        with pytest.raises(Exception) as err:
            src.read("big.png")
        # either the real-byte count trips or zipfile notices the lie; never 8 MiB returned
        assert src.bytes_read < 4 << 20
        assert "limit" in str(err.value) or "cannot extract" in str(err.value)


def _patch_sizes(data: bytearray, info: zipfile.ZipInfo, size: int):
    import struct

    # local header: uncompressed size at offset 22
    struct.pack_into("<I", data, info.header_offset + 22, size)
    # central directory entry: find it by name and patch offset 24
    sig = b"PK\x01\x02"
    pos = data.find(sig)
    while pos != -1:
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + n] == info.filename.encode():
            struct.pack_into("<I", data, pos + 24, size)
        pos = data.find(sig, pos + 4)


def test_limit_error_type(tmp_path):
    z = make_zip(tmp_path / "b.zip", {"bomb.bin": bytes(20 << 20)})
    with open_source(z) as src, pytest.raises(ArchiveLimitError):
        src.read("bomb.bin")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_folder_symlinks_are_rejected(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "good.png").write_bytes(png_bytes(seed=8))
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes(seed=9))
    os.symlink(secret, tmp_path / "d" / "link.png")
    os.symlink(tmp_path, tmp_path / "d" / "loop")
    recs = _by_name(images.iter_samples(tmp_path / "d"))
    assert "symbolic link" in recs["link.png"].message
    assert "symbolic link" in recs["loop"].message
    assert recs["good.png"].ok


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_a_packed_folder_reads_as_the_folder_and_never_carries_a_link_target(tmp_path):
    """A server folder queued to a remote worker travels as a zip (pack_folder):
    the worker must see the same samples and the same rejections."""
    root = tmp_path / "d"
    for name, data in {
        "a.png": png_bytes(seed=1),
        "sub/b.png": png_bytes(seed=2),
        ".git/x.png": b"x",
        "README.txt": b"hi",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes(seed=9))
    os.symlink(secret, root / "link.png")
    os.symlink(tmp_path, root / "loop")
    packed = io.BytesIO()
    assert pack_folder(root, packed) == 4  # a.png, sub/b.png and the two links (as links)
    assert secret.read_bytes() not in packed.getvalue()
    packed.seek(0)
    folder, zipped = _by_name(images.iter_samples(root)), _by_name(images.iter_samples(packed))
    assert sorted(folder) == sorted(zipped) == ["a.png", "link.png", "loop", "sub/b.png"]
    for name in ("link.png", "loop"):
        assert "symbolic link" in folder[name].message and "symbolic link" in zipped[name].message
    assert zipped["sub/b.png"].ok and zipped["sub/b.png"].image_bytes == folder["sub/b.png"].image_bytes


def test_not_a_zip(tmp_path):
    p = tmp_path / "x.rar"
    p.write_bytes(b"Rar!\x1a\x07\x00")
    with pytest.raises(ValueError, match="neither a folder nor a zip"):
        open_source(p)


def test_folder_total_cap_counts_bytes_read(tmp_path):
    # A folder has no header to trust: only the running count can stop a read.
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.png").write_bytes(png_bytes(seed=10))
    (d / "b.png").write_bytes(png_bytes(400, 400, seed=11))  # ~480 kB of noise
    (d / "c.png").write_bytes(png_bytes(seed=12))
    size_a = (d / "a.png").stat().st_size
    limits = Limits(max_total_bytes=size_a + 100_000)
    with open_source(d, limits) as src:
        recs = _by_name(images.iter_samples(src))
        assert recs["a.png"].ok
        assert "over the size limit" in recs["b.png"].message
        assert recs["c.png"].ok  # the refused entry's bytes are not charged
        assert src.bytes_read == size_a + (d / "c.png").stat().st_size
