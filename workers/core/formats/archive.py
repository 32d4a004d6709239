"""One interface over a dataset folder or a .zip file: list entries, read bytes.

Safety rules (an upload is untrusted):
- Zip entries with an absolute path (``/x``, ``C:\\x``), a ``..`` component, a
  NUL byte, a symbolic link or encryption are rejected. A folder's symbolic
  links are rejected too (they could point anywhere on the server). Rejected
  entries are listed in ``Source.rejected`` as `SampleError`s; the rest stays
  readable.
- Reading counts the bytes really produced by decompression, never the sizes the
  zip header claims. An entry is refused once it passes the remaining total
  budget (default 2 GiB, ``max_total_bytes``) or, past ``ratio_floor_bytes``,
  a compression ratio of ``max_ratio`` (default 100; JPEG/PNG store at about 1,
  .mat/.txt at a few). A refused entry raises `ArchiveLimitError` for that entry
  only; its bytes are thrown away and not charged, so the good entries after a
  zip bomb are still read.

Silently ignored (never reach the readers, never reported): any path component
starting with '.' (.DS_Store, ._* resource forks, .git/), ``__MACOSX/``,
``Thumbs.db``, ``desktop.ini``, and documentation files: names starting with
README, LICENSE, LICENCE, COPYING or NOTICE (any extension) and ``*.md``. Every
other file is handed to the reader, which reports types it does not know.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, Self, TypeVar

from .records import FormatError, SampleError

GiB = 1 << 30
MiB = 1 << 20
_CHUNK = 1 << 20

_IGNORED_NAMES = {"thumbs.db", "desktop.ini"}
_DOC_PREFIXES = ("readme", "license", "licence", "copying", "notice")


class ArchiveError(FormatError):
    pass


class UnsafeEntryError(ArchiveError):
    pass


class ArchiveLimitError(ArchiveError):
    pass


@dataclass(frozen=True)
class Limits:
    max_total_bytes: int = 2 * GiB
    max_entry_bytes: int | None = None  # None: only the total budget applies
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 1 * MiB  # small entries may compress well without harm


def is_ignored(name: str) -> bool:
    parts = name.split("/")
    if parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
        return True
    base = parts[-1].lower()
    return base in _IGNORED_NAMES or base.startswith(_DOC_PREFIXES) or base.endswith(".md")


def _hidden_dir(part: str) -> bool:
    return part.startswith(".") or part == "__MACOSX"


def suffix(name: str) -> str:
    """Lower-case extension with the dot, '' if none."""
    return PurePosixPath(name).suffix.lower()


def _unsafe_reason(raw: str) -> str | None:
    if "\x00" in raw:
        return "contains a NUL byte"
    name = raw.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "is an absolute path"
    if ".." in name.split("/"):
        return "contains a '..' component"
    return None


def _clean(raw: str) -> str:
    parts = [p for p in raw.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


class Source:
    """Base class; use `open_source`."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.rejected: list[SampleError] = []
        self._names: list[str] = []
        self._used = 0

    def names(self) -> list[str]:
        """Readable, non-ignored file entries, sorted, '/'-separated."""
        return list(self._names)

    @property
    def bytes_read(self) -> int:
        return self._used

    def _budget(self) -> int:
        left = self.limits.max_total_bytes - self._used
        if self.limits.max_entry_bytes is not None:
            left = min(left, self.limits.max_entry_bytes)
        return max(left, 0)

    def _read_stream(self, name: str, stream: IO[bytes], compressed: int | None) -> bytes:
        budget = self._budget()
        buf = io.BytesIO()
        n = 0
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            n += len(chunk)
            if n > budget:
                raise ArchiveLimitError(
                    f"{name}: more than {budget:,} bytes uncompressed; over the size limit "
                    f"(total {self.limits.max_total_bytes:,} bytes, {self._used:,} already read)"
                )
            if (
                compressed is not None
                and n > self.limits.ratio_floor_bytes
                and n > self.limits.max_ratio * max(compressed, 1)
            ):
                raise ArchiveLimitError(
                    f"{name}: compression ratio over {self.limits.max_ratio:g} "
                    f"({compressed:,} compressed bytes gave more than {n:,}); refused as a possible zip bomb"
                )
            buf.write(chunk)
        self._used += n
        return buf.getvalue()

    def read(self, name: str) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FolderSource(Source):
    def __init__(self, root: Path, limits: Limits):
        super().__init__(limits)
        self.root = Path(root)
        names = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            dirnames[:] = [d for d in dirnames if not _hidden_dir(d)]
            for entry in sorted(dirnames + filenames):
                full = Path(dirpath) / entry
                rel = entry if rel_dir == "." else f"{rel_dir}/{entry}"
                is_file = entry in filenames
                if is_file and is_ignored(rel):
                    continue
                if full.is_symlink():
                    self.rejected.append(SampleError(rel, f"{rel}: rejected, symbolic links are not allowed"))
                elif is_file:
                    names.append(rel)
            dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
        self._names = sorted(names)
        self._known = set(self._names)

    def read(self, name: str) -> bytes:
        if name not in self._known:
            raise ArchiveError(f"{name}: no such file in the dataset")
        with open(self.root / name, "rb") as f:
            return self._read_stream(name, f, None)


class ZipSource(Source):
    def __init__(self, file: str | os.PathLike[str] | BinaryIO, limits: Limits):
        super().__init__(limits)
        try:
            self._zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ArchiveError(f"not a readable zip file: {exc}") from exc
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in self._zip.infolist():
            raw = info.filename
            if info.is_dir():
                continue
            reason = _unsafe_reason(raw)
            mode = info.external_attr >> 16
            if reason is None and stat.S_ISLNK(mode):
                reason = "is a symbolic link"
            if reason is None and info.flag_bits & 0x1:
                reason = "is encrypted"
            name = _clean(raw)
            if reason is None and name in self._infos:
                reason = "appears twice in the archive"
            if reason is not None:
                self.rejected.append(SampleError(raw, f"{raw}: rejected, the entry {reason}"))
                continue
            if is_ignored(name):
                continue
            self._infos[name] = info
        self._names = sorted(self._infos)

    def read(self, name: str) -> bytes:
        info = self._infos.get(name)
        if info is None:
            raise ArchiveError(f"{name}: no such entry in the archive")
        if info.file_size > self._budget():
            # The header may lie; it is only trusted to refuse early, never to accept.
            raise ArchiveLimitError(
                f"{name}: declares {info.file_size:,} bytes uncompressed, over the size limit "
                f"({self._budget():,} bytes left)"
            )
        try:
            with self._zip.open(info) as stream:
                return self._read_stream(name, stream, info.compress_size)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
            raise ArchiveError(f"{name}: cannot extract: {exc}") from exc

    def close(self) -> None:
        self._zip.close()


def pack_folder(root: str | os.PathLike[str], out: BinaryIO) -> int:
    """Write the folder `root` as a zip to `out` so that `ZipSource` reads what
    `FolderSource` would: hidden folders and ignored files are left out, and a
    symbolic link becomes a link entry (never its target's bytes), which the
    reader rejects as it rejects the link in a folder. Stored uncompressed
    (images are compressed already). Returns the number of file entries."""
    root = Path(root)
    n = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            dirnames[:] = sorted(d for d in dirnames if not _hidden_dir(d))
            for entry in sorted(dirnames + filenames):
                full = Path(dirpath) / entry
                rel = entry if rel_dir == "." else f"{rel_dir}/{entry}"
                if full.is_symlink():
                    info = zipfile.ZipInfo(rel)
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    zf.writestr(info, os.readlink(full))
                    n += 1
                elif entry in filenames and not is_ignored(rel):
                    zf.write(full, rel)
                    n += 1
            dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return n


SourceLike = str | os.PathLike[str] | BinaryIO | Source


def open_source(source: SourceLike, limits: Limits | None = None) -> Source:
    """A folder path, a .zip path or an open binary zip file -> `Source`."""
    limits = limits or Limits()
    if isinstance(source, Source):
        return source
    if hasattr(source, "read"):
        return ZipSource(source, limits)
    path = Path(source)
    if path.is_dir():
        return FolderSource(path, limits)
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise ArchiveError(f"{path.name}: neither a folder nor a zip file")
        return ZipSource(path, limits)
    raise ArchiveError(f"{path}: no such folder or file")


@contextmanager
def opened(source: SourceLike, limits: Limits | None = None) -> Iterator[Source]:
    """Open `source` unless it already is a `Source`; close only what was opened here."""
    if isinstance(source, Source):
        yield source
        return
    src = open_source(source, limits)
    try:
        yield src
    finally:
        src.close()


_Key = TypeVar("_Key", str, tuple[str, str])


def paired(
    primary: Mapping[_Key, str],
    companion: Mapping[_Key, str],
    no_companion: Callable[[_Key, str], str],
    no_primary: Callable[[_Key, str], str],
) -> Iterator[tuple[_Key, str, str] | SampleError]:
    """Walk two {key: entry name} maps (e.g. images and their label files) in
    key order: yields (key, primary, companion) for complete pairs and a
    SampleError, worded by `no_companion(key, primary)` / `no_primary(key,
    companion)`, for an entry whose partner is missing."""
    for key in sorted(set(primary) | set(companion)):
        first, second = primary.get(key), companion.get(key)
        if second is None:
            assert first is not None  # every key comes from one of the two maps
            yield SampleError(first, no_companion(key, first))
        elif first is None:
            yield SampleError(second, no_primary(key, second))
        else:
            yield key, first, second
