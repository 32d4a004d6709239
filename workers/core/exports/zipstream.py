"""Zip exports whose memory does not grow with the number of members.

zipfile.ZipFile keeps a ZipInfo (about 500 bytes) per member until it writes
the central directory at close: a million .mat files would hold about half a
GB. `StreamingZip` writes the central-directory record of each finished member
to a temporary file every SPILL members and forgets its ZipInfo; at close the
records are copied after the members and the end record (ZIP64 when needed) is
written, as zipfile would. Members are only ever added (mode "w"); reading back
an open StreamingZip is not supported.

`write_skipped` adds the SKIPPED_FACES.json member naming the faces left out,
before the zip is closed (never by reopening it: that reads every ZipInfo back).
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
import zipfile
from typing import Any

from workers.core.label_rows import InvalidRow

SKIPPED_MANIFEST = "SKIPPED_FACES.json"
SPILL = 1024  # members whose ZipInfo is kept before their records go to the temporary file


def _central_record(zinfo: zipfile.ZipInfo) -> bytes:
    """The central-directory record of one member (zipfile.ZipFile._write_end_record's loop body)."""
    dt = zinfo.date_time
    dosdate = (dt[0] - 1980) << 9 | dt[1] << 5 | dt[2]
    dostime = dt[3] << 11 | dt[4] << 5 | (dt[5] // 2)
    extra = []
    if zinfo.file_size > zipfile.ZIP64_LIMIT or zinfo.compress_size > zipfile.ZIP64_LIMIT:
        extra += [zinfo.file_size, zinfo.compress_size]
        file_size = compress_size = 0xFFFFFFFF
    else:
        file_size, compress_size = zinfo.file_size, zinfo.compress_size
    if zinfo.header_offset > zipfile.ZIP64_LIMIT:
        extra.append(zinfo.header_offset)
        header_offset = 0xFFFFFFFF
    else:
        header_offset = zinfo.header_offset
    extra_data = zinfo.extra
    min_version = 0
    if extra:
        extra_data = zipfile._strip_extra(extra_data, (1,))  # type: ignore[attr-defined]
        extra_data = struct.pack("<HH" + "Q" * len(extra), 1, 8 * len(extra), *extra) + extra_data
        min_version = zipfile.ZIP64_VERSION
    extract_version = max(min_version, zinfo.extract_version)
    create_version = max(min_version, zinfo.create_version)
    filename, flag_bits = zinfo._encodeFilenameFlags()  # type: ignore[attr-defined]
    head = struct.pack(
        zipfile.structCentralDir,  # type: ignore[attr-defined]
        zipfile.stringCentralDir,  # type: ignore[attr-defined]
        create_version,
        zinfo.create_system,
        extract_version,
        zinfo.reserved,
        flag_bits,
        zinfo.compress_type,
        dostime,
        dosdate,
        zinfo.CRC,
        compress_size,
        file_size,
        len(filename),
        len(extra_data),
        len(zinfo.comment),
        0,
        zinfo.internal_attr,
        zinfo.external_attr,
        header_offset,
    )
    return bytes(head + filename + extra_data + zinfo.comment)


class StreamingZip(zipfile.ZipFile):
    """zipfile.ZipFile for writing, with the central directory kept on disk (see the module)."""

    def __init__(self, file: Any, compression: int = zipfile.ZIP_DEFLATED) -> None:
        super().__init__(file, "w", compression)
        self._records = tempfile.TemporaryFile()  # noqa: SIM115  # closed in _write_end_record / close
        self._spilled = 0

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)
        if len(self.filelist) >= SPILL:
            self._spill()

    def _spill(self) -> None:
        self._records.write(b"".join(_central_record(z) for z in self.filelist))
        self._spilled += len(self.filelist)
        self.filelist.clear()
        self.NameToInfo.clear()  # zipfile only uses it to warn about duplicate names

    def _write_end_record(self) -> None:
        self._spill()
        self._records.seek(0)
        fp: Any = self.fp
        shutil.copyfileobj(self._records, fp)
        self._records.close()
        pos2 = fp.tell()
        count, size, offset = self._spilled, pos2 - self.start_dir, self.start_dir
        if count > zipfile.ZIP_FILECOUNT_LIMIT or offset > zipfile.ZIP64_LIMIT or size > zipfile.ZIP64_LIMIT:
            fp.write(
                struct.pack(
                    zipfile.structEndArchive64,  # type: ignore[attr-defined]
                    zipfile.stringEndArchive64,  # type: ignore[attr-defined]
                    44,
                    45,
                    45,
                    0,
                    0,
                    count,
                    count,
                    size,
                    offset,
                )
            )
            fp.write(
                struct.pack(
                    zipfile.structEndArchive64Locator,  # type: ignore[attr-defined]
                    zipfile.stringEndArchive64Locator,  # type: ignore[attr-defined]
                    0,
                    pos2,
                    1,
                )
            )
            count, size, offset = min(count, 0xFFFF), min(size, 0xFFFFFFFF), min(offset, 0xFFFFFFFF)
        fp.write(
            struct.pack(
                zipfile.structEndArchive,  # type: ignore[attr-defined]
                zipfile.stringEndArchive,  # type: ignore[attr-defined]
                0,
                0,
                count,
                count,
                size,
                offset,
                len(self._comment),  # type: ignore[attr-defined]
            )
        )
        fp.write(self._comment)  # type: ignore[attr-defined]
        fp.flush()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._records.close()


def write_skipped(zf: zipfile.ZipFile, invalid: list[InvalidRow] | None) -> None:
    """The SKIPPED_MANIFEST member, when faces were left out (write_export keeps the
    file only with skip_invalid; otherwise it refuses the export with the list)."""
    if not invalid:
        return
    zf.writestr(
        SKIPPED_MANIFEST,
        json.dumps(
            {
                "skipped": len(invalid),
                "why": "stored poses that break the pose rules, or faces this format cannot hold; not written",
                "faces": [r.to_dict() for r in invalid],
            },
            indent=1,
        ),
    )
