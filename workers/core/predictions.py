"""Parse and validate an uploaded prediction file for a benchmark.

Accepted content: UTF-8 (optional BOM), or UTF-16 / UTF-32 with a BOM; any
line ending (LF, CRLF, CR). Other encodings are refused with a message.

CSV with a header row; delimiter ',', ';' or tab. An id column ('id',
'sample_id', 'image', 'file' or 'filename') and EITHER yaw,pitch,roll (degrees,
AFLW2000 convention of ../shared/docs/POSE_CONVENTIONS.md) OR
r00,r01,r02,r10,...,r22 (the camera-frame rotation, row-major). Header names are case-insensitive; other columns are
ignored with a warning.

JSON, one of
    [{"id": "...", "yaw": .., "pitch": .., "roll": ..}, ...]
    [{"id": "...", "R": [9 numbers row-major] or [[..],[..],[..]]}, ...]
    {"predictions": <a list as above>, ...any metadata...}
    {"<id>": {"yaw": .., "pitch": .., "roll": ..} or {"R": ...}, ...}
All records of a file use the same form (Euler or R); the id key is any of
the id column names.

Ids are matched to the benchmark's sample ids (image file names, e.g.
'image00002.jpg' or 'hpdb/01/frame_00003_rgb.png') exactly; an id that does
not match exactly is matched by its path components without the extension
('image00002', 'AFLW2000/image00002.jpg' and 'C:\\data\\image00002.png' all
name 'image00002.jpg') when exactly one sample ends with those components:
the longest ending of the id's path that names exactly one sample wins, and an
ending shared by several samples ('frame_00003_rgb' in BIWI) is an error asking
for more of the path.

Bounded: files over `max_bytes`, more than `max_rows` records, a CSV field over
CSV_FIELD_LIMIT characters or JSON nested deeper than MAX_JSON_DEPTH are refused
with a message naming the limit.

Missing expected ids are reported as coverage, not an error (unless nothing
matches). Every other problem is collected and raised together as
PredictionFileError, with line numbers (CSV) or item numbers (JSON).
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray

from workers.core import bounded_json, bounded_numbers, geometry

ANGLE_COLUMNS = ("yaw", "pitch", "roll")
MATRIX_COLUMNS = tuple(f"r{i}{j}" for i in range(3) for j in range(3))
ID_COLUMNS = ("id", "sample_id", "image", "file", "filename")
MAX_BYTES = 32 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_JSON_DEPTH = 64  # a record is 4 deep; metadata may nest a little
CSV_FIELD_LIMIT = csv.field_size_limit()  # 131,072 characters
_BOMS = (  # longest first: the UTF-32-LE BOM starts with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
MAX_LISTED = 10
ROTATION_TOL = 1e-2  # max |R R^T - I| and |det R - 1|; covers values printed with 3-4 decimals
_PROBLEM_CAP = 1000  # stop collecting: a wholly wrong file would list every line


class PredictionFileError(ValueError):
    """The file cannot be used; `problems` lists every problem found (capped)."""

    def __init__(self, problems: list[str], max_listed: int = MAX_LISTED):
        self.problems = list(problems)
        shown = self.problems[:max_listed]
        more = len(self.problems) - len(shown)
        noun = "problem" if len(self.problems) == 1 else "problems"
        msg = f"prediction file rejected, {len(self.problems)} {noun}: " + "; ".join(shown)
        if more > 0:
            msg += f"; ... and {more} more"
        super().__init__(msg)


@dataclass
class Coverage:
    matched: int
    expected: int
    missing: int

    @property
    def fraction(self) -> float:
        return self.matched / self.expected if self.expected else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"matched": self.matched, "expected": self.expected, "missing": self.missing, "fraction": self.fraction}


@dataclass
class ParsedPredictions:
    """ids in file order; R (N,3,3) projected onto SO(3); euler (N,3) as given or None;
    expected_index[i] = position of ids[i] in the expected id list (or None)."""

    ids: list[str]
    R: NDArray[np.float64]
    format: str  # 'csv' or 'json'
    kind: str  # 'euler' or 'matrix'
    euler: NDArray[np.float64] | None = None
    coverage: Coverage | None = None
    expected_index: NDArray[np.int64] | None = None
    missing_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "count": len(self.ids),
            "format": self.format,
            "kind": self.kind,
            "coverage": self.coverage.to_dict() if self.coverage else None,
            "missing_ids_sample": self.missing_ids[:MAX_LISTED],
            "warnings": list(self.warnings),
        }


def parse_predictions(
    data: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    expected_ids: Sequence[str] | None = None,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    allow_unknown_ids: bool = False,
    rotation_tol: float = ROTATION_TOL,
    max_listed: int = MAX_LISTED,
) -> ParsedPredictions:
    """Parse `data`; validate against `expected_ids` when given.

    allow_unknown_ids: ids not in the benchmark are dropped with a warning instead
    of rejecting the file (useful when predicting on a superset of frames)."""

    def fail(problems: list[str]) -> NoReturn:
        raise PredictionFileError(problems, max_listed)

    if not isinstance(data, (bytes, bytearray, memoryview)):
        fail([f"expected the file's bytes, got {type(data).__name__}"])
    data = bytes(data)
    if len(data) > max_bytes:
        fail([f"file is too large: {len(data)} bytes, the limit is {max_bytes} bytes"])
    if not data.strip():
        fail(["file is empty"])
    text = _decode(data, fail)
    if not text.strip():
        fail(["file is empty"])
    if "\x00" in text:
        fail(
            [
                _UTF16_WITHOUT_BOM
                if _looks_utf16(data)
                else "file contains NUL bytes: it looks binary, not CSV or JSON text"
            ]
        )

    fmt = _detect_format(text, filename, content_type)
    problems: list[str] = []
    warnings: list[str] = []
    if fmt == "json":
        records, kind = _read_json(text, problems, warnings, max_rows)
    else:
        records, kind = _read_csv(text, problems, warnings, max_rows)
    if problems:
        fail(problems)
    if not records:
        fail(["file has no prediction rows"])
    assert kind is not None  # set by the reader with the first record

    ids = [r[1] for r in records]
    values = np.array([r[2] for r in records], dtype=np.float64)
    where = [r[0] for r in records]

    _check_duplicates(ids, where, problems)
    bad_value = ~np.isfinite(values).all(axis=1)
    for k in np.flatnonzero(bad_value)[:_PROBLEM_CAP]:
        problems.append(f"{where[k]} (id {ids[k]!r}): NaN or infinite value")
    euler = None
    if kind == "euler":
        with np.errstate(invalid="ignore"):
            out_of_range = (np.abs(values) > 180).any(axis=1) & ~bad_value
        for k in np.flatnonzero(out_of_range)[:_PROBLEM_CAP]:
            vals = ", ".join(f"{n}={v:g}" for n, v in zip(ANGLE_COLUMNS, values[k]) if abs(v) > 180)
            problems.append(f"{where[k]} (id {ids[k]!r}): angle out of range [-180, 180] degrees ({vals})")
        euler = values
        R = geometry.euler_to_matrix(np.where(bad_value[:, None], 0.0, values))
    else:
        M = np.where(bad_value[:, None], np.eye(3).ravel(), values).reshape(-1, 3, 3)
        dev = np.abs(M @ np.swapaxes(M, -1, -2) - np.eye(3)).max(axis=(1, 2))
        det = np.linalg.det(M)
        not_rot = ((dev > rotation_tol) | (np.abs(det - 1) > rotation_tol)) & ~bad_value
        for k in np.flatnonzero(not_rot)[:_PROBLEM_CAP]:
            why = "a reflection (det < 0)" if det[k] < 0 else f"max |R R^T - I| = {dev[k]:.3g}, det = {det[k]:.4g}"
            problems.append(f"{where[k]} (id {ids[k]!r}): R is not a rotation ({why}; tolerance {rotation_tol:g})")
        R = geometry.nearest_rotation(M)
        ok = ~not_rot & ~bad_value
        if ok.any() and dev[ok].max() > 1e-4:
            warnings.append(
                f"rotations were not exactly orthonormal (max deviation {dev[ok].max():.2g}); "
                "each was replaced by the nearest rotation"
            )

    result = ParsedPredictions(ids=ids, R=R, format=fmt, kind=kind, euler=euler, warnings=warnings)
    if expected_ids is not None:
        _match_expected(result, list(expected_ids), where, problems, allow_unknown_ids)
    if problems:
        fail(problems)
    return result


def _decode(data: bytes, fail: Callable[[list[str]], NoReturn]) -> str:
    """The file's text: UTF-8 (BOM optional), or UTF-16/32 with a BOM."""
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":
            fail(
                [
                    f"file is not UTF-8 text, nor valid {encoding.upper()} although it starts with a "
                    f"{encoding.upper()} byte-order mark (undecodable bytes at offset {exc.start}); "
                    "save it as UTF-8 CSV or JSON"
                ]
            )
        if _looks_utf16(data):
            fail([_UTF16_WITHOUT_BOM])
        fail(
            [
                f"file is not UTF-8 text (undecodable byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                "other encodings (Latin-1, Windows-1252 ...) are refused: save it as UTF-8 CSV or JSON"
            ]
        )


_UTF16_WITHOUT_BOM = (
    "file looks like UTF-16 without a byte-order mark; save it as UTF-8 (or UTF-16 with a byte-order mark)"
)


def _looks_utf16(data: bytes) -> bool:
    """ASCII text in UTF-16: every other byte is zero."""
    head = data[:4096]
    return len(head) >= 4 and max(head[0::2].count(0), head[1::2].count(0)) > len(head) // 4


def _detect_format(text: str, filename: str | None, content_type: str | None) -> str:
    name = (filename or "").lower()
    ctype = (content_type or "").lower()
    if name.endswith(".json") or "json" in ctype:
        return "json"
    if name.endswith((".csv", ".tsv")) or "csv" in ctype or "tab-separated" in ctype:
        return "csv"
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


def _check_duplicates(ids: Sequence[str], where: Sequence[str], problems: list[str]) -> None:
    first: dict[str, int] = {}
    for k, i in enumerate(ids):
        if i in first:
            problems.append(f"{where[k]}: duplicate id {i!r} (first at {where[first[i]]})")
        else:
            first[i] = k


_AMBIGUOUS = object()


def _path_key(sample_id: str) -> tuple[str, ...]:
    """Path components of an id without the file extension: 'AFLW2000\\image00002.jpg' -> ('AFLW2000', 'image00002')."""
    parts = [p for p in sample_id.replace("\\", "/").split("/") if p not in ("", ".")]
    if parts:
        stem, dot, ext = parts[-1].rpartition(".")
        if dot and stem and ext.isalnum() and len(ext) <= 5:
            parts[-1] = stem
    return tuple(parts)


def match_ids(ids: list[str], expected: list[str]) -> tuple[list[str], list[str]]:
    """Each id as the expected id it names (module docstring: exact, else the
    longest unambiguous ending of its path); ids naming none stay as they are.
    Returns (ids, problems about ambiguous ids)."""
    position = set(expected)
    if all(i in position for i in ids):
        return list(ids), []
    endings: dict[tuple[str, ...], object] = {}
    for e in expected:
        key = _path_key(e)
        for k in range(1, len(key) + 1):
            endings[key[-k:]] = e if endings.get(key[-k:], e) == e else _AMBIGUOUS
    out: list[str] = []
    problems: list[str] = []
    for i in ids:
        if i in position:
            out.append(i)
            continue
        key, hit = _path_key(i), None
        for k in range(len(key), 0, -1):
            hit = endings.get(key[-k:])
            if hit is not None:
                break
        if hit is _AMBIGUOUS:
            problems.append(
                f"id {i!r} names several benchmark samples (by its ending {'/'.join(key[-k:])!r}); "
                "give more of the path"
            )
            hit = None
        out.append(hit if isinstance(hit, str) else i)  # hit: an expected id, or None
    return out, problems


def _match_expected(
    result: ParsedPredictions, expected: list[str], where: Sequence[str], problems: list[str], allow_unknown: bool
) -> None:
    position = {i: k for k, i in enumerate(expected)}
    given = result.ids
    result.ids, ambiguous = match_ids(given, expected)
    if ambiguous:
        problems.extend(ambiguous[:_PROBLEM_CAP])
        return
    renamed = [(g, i) for g, i in zip(given, result.ids) if g != i]
    if renamed:
        result.warnings.append(
            f"{len(renamed)} id(s) matched by file name, e.g. {renamed[0][0]!r} -> {renamed[0][1]!r}"
        )
        _check_duplicates(result.ids, where, problems)
        if problems:
            return
    known = np.array([i in position for i in result.ids], dtype=bool)
    n_unknown = int((~known).sum())
    matched_ids = {i for i in result.ids if i in position}
    if not matched_ids:
        problems.append(
            f"none of the {len(result.ids)} ids match the benchmark's {len(expected)} ids "
            f"(file ids look like {result.ids[0]!r}, expected ids look like "
            f"{expected[0] if expected else None!r})"
        )
        return
    if n_unknown:
        if allow_unknown:
            sample = ", ".join(repr(result.ids[k]) for k in np.flatnonzero(~known)[:MAX_LISTED])
            result.warnings.append(f"{n_unknown} id(s) not in the benchmark were ignored, e.g. {sample}")
            result.ids = [i for i, ok in zip(result.ids, known) if ok]
            result.R = result.R[known]
            if result.euler is not None:
                result.euler = result.euler[known]
        else:
            for k in np.flatnonzero(~known)[:_PROBLEM_CAP]:
                problems.append(f"{where[k]}: unknown id {result.ids[k]!r} (not in the benchmark)")
            return
    result.expected_index = np.array([position[i] for i in result.ids], dtype=np.int64)
    result.missing_ids = [i for i in expected if i not in matched_ids]
    result.coverage = Coverage(matched=len(matched_ids), expected=len(expected), missing=len(result.missing_ids))
    if result.missing_ids:
        sample = ", ".join(repr(i) for i in result.missing_ids[:MAX_LISTED])
        result.warnings.append(
            f"partial coverage: {len(matched_ids)} of {len(expected)} benchmark ids "
            f"({100 * result.coverage.fraction:.1f}%); {len(result.missing_ids)} missing, "
            f"e.g. {sample}"
        )


# ---- CSV -------------------------------------------------------------------

_Record = tuple[str, str, list[float]]
"""(where in the file, id, the pose's numbers)"""


def _read_csv(
    text: str, problems: list[str], warnings: list[str], max_rows: int = MAX_ROWS
) -> tuple[list[_Record], str | None]:
    # CR-only (old Mac) and CRLF lines become LF: csv would take a lone CR for data
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    head = next((line for line in lines if line.strip()), None)
    if head is None:
        problems.append("file is empty")
        return [], None
    delimiter = max((",", ";", "\t"), key=head.count)
    rows = csv.reader(lines, delimiter=delimiter)
    header: list[str] | None = None
    records: list[_Record] = []
    kind: str | None = None
    columns: list[int] = []
    id_col = -1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(_csv_error(rows.line_num, exc))
            break
        line_no = rows.line_num
        if not any(c.strip() for c in row):
            continue
        if header is None:
            header = [c.strip().lower() for c in row]
            id_col, kind, columns = _csv_layout(header, problems, warnings)
            if problems:
                return [], None
            continue
        if len(records) >= max_rows:
            problems.append(f"too many rows: more than {max_rows:,} (the limit is {max_rows:,} rows)")
            break
        if len(row) != len(header):
            problems.append(f"line {line_no}: {len(row)} fields, the header has {len(header)}")
        else:
            _csv_record(row, line_no, id_col, [(c, header[c]) for c in columns], records, problems)
        if len(problems) >= _PROBLEM_CAP:
            break
    if header is not None and not records and not problems:
        problems.append("file has a header but no prediction rows")
    return records, kind


def _csv_error(line_no: int, exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"line {line_no}: a field is longer than {CSV_FIELD_LIMIT:,} characters (the limit)"
    return f"line {line_no}: unreadable CSV ({exc})"


def _csv_layout(header: list[str], problems: list[str], warnings: list[str]) -> tuple[int, str | None, list[int]]:
    ids = [c for c in ID_COLUMNS if c in header]
    has_angles = [c for c in ANGLE_COLUMNS if c in header]
    has_matrix = [c for c in MATRIX_COLUMNS if c in header]
    dupes = sorted({c for c in header if header.count(c) > 1 and c})
    if dupes:
        problems.append(f"header repeats column(s) {', '.join(dupes)}")
    if not ids:
        problems.append(
            f"missing id column: the header needs one of {', '.join(ID_COLUMNS)} (found {', '.join(header)})"
        )
    elif len(ids) > 1:
        problems.append(f"header has several id columns ({', '.join(ids)}); keep one")
    kind: str | None = None
    wanted: tuple[str, ...] = ()
    if has_angles and has_matrix:
        problems.append("header has both yaw/pitch/roll and r00..r22 columns; give one form")
    elif has_matrix:
        kind, wanted = "matrix", MATRIX_COLUMNS
    elif has_angles:
        kind, wanted = "euler", ANGLE_COLUMNS
    else:
        problems.append(
            f"missing pose columns: give yaw,pitch,roll (degrees) or r00,r01,...,r22 (found {', '.join(header)})"
        )
    missing = [c for c in wanted if c not in header]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)} for the {kind} form")
    if problems:
        return -1, None, []
    extra = [c for c in header if c not in wanted and c != ids[0]]
    if extra:
        warnings.append(f"ignored column(s): {', '.join(extra)}")
    return header.index(ids[0]), kind, [header.index(c) for c in wanted]


def _csv_record(
    row: list[str],
    line_no: int,
    id_col: int,
    columns: list[tuple[int, str]],
    records: list[_Record],
    problems: list[str],
) -> None:
    sid = row[id_col].strip()
    if not sid:
        problems.append(f"line {line_no}: empty id")
        return
    vals: list[float] = []
    for c, name in columns:
        try:  # NaN and infinities are read, to be named below with the other bad values
            vals.append(bounded_numbers.parse_real(row[c], name, finite=False))
        except bounded_numbers.NumberError as exc:
            problems.append(f"line {line_no} (id {sid!r}): {exc}")
            return
    records.append((f"line {line_no}", sid, vals))


# ---- JSON ------------------------------------------------------------------


def _read_json(
    text: str, problems: list[str], warnings: list[str], max_rows: int = MAX_ROWS
) -> tuple[list[_Record], str | None]:
    try:
        doc = bounded_json.loads(text, MAX_JSON_DEPTH, allow_nan=True)
    except json.JSONDecodeError as exc:
        problems.append(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
        return [], None
    except (bounded_json.JsonTooDeep, RecursionError):
        problems.append(f"JSON nested deeper than {MAX_JSON_DEPTH} levels (the limit); a prediction record needs 4")
        return [], None
    except bounded_json.JsonNumberTooLong as exc:
        problems.append(f"invalid JSON: {exc}")
        return [], None
    if isinstance(doc, dict) and "predictions" in doc:
        extra = [k for k in doc if k != "predictions"]
        doc = doc["predictions"]
        if extra:
            warnings.append(f"ignored top-level key(s): {', '.join(map(str, extra[:MAX_LISTED]))}")
    if isinstance(doc, dict):
        items: list[Any] = []
        for k, v in doc.items():
            items.append(dict(v, id=k) if isinstance(v, dict) and "id" not in v else v)
    elif isinstance(doc, list):
        items = doc
    else:
        problems.append('JSON must be a list of records, {"predictions": [...]}, or an object keyed by id')
        return [], None
    if len(items) > max_rows:
        problems.append(f"too many records: {len(items):,} (the limit is {max_rows:,} rows)")
        return [], None
    records: list[_Record] = []
    kind: str | None = None
    ignored: set[str] = set()
    for n, item in enumerate(items, start=1):
        where = f"item {n}"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object, got {type(item).__name__}")
        else:
            kind = _json_record(item, where, kind, records, problems, ignored)
        if len(problems) >= _PROBLEM_CAP:
            break
    if ignored:
        warnings.append(f"ignored key(s): {', '.join(sorted(ignored)[:MAX_LISTED])}")
    return records, kind


def _numbers(values: dict[str, object]) -> tuple[list[float], list[str]]:
    """The named values as floats (NaN and infinities kept: reported with the
    other bad values), and why each of the others is not a number."""
    out: list[float] = []
    bad: list[str] = []
    for name, v in values.items():
        try:
            out.append(bounded_numbers.real(v, name, finite=False))
        except bounded_numbers.NumberError as exc:
            bad.append(str(exc))
    return out, bad


def _json_record(
    item: dict[str, Any], where: str, kind: str | None, records: list[_Record], problems: list[str], ignored: set[str]
) -> str | None:
    sid = next((item[k] for k in ID_COLUMNS if k in item), None)
    sid = str(sid).strip() if isinstance(sid, (int, str)) and not isinstance(sid, bool) else None
    if not sid:
        problems.append(f"{where}: missing or empty id")
        return kind
    where_id = f"{where} (id {sid!r})"
    has_r = "R" in item
    has_angles = any(a in item for a in ANGLE_COLUMNS)
    if has_r and has_angles:
        problems.append(f"{where_id}: has both R and yaw/pitch/roll; give one form")
        return kind
    this = "matrix" if has_r else "euler"
    if kind is not None and this != kind:
        problems.append(f"{where_id}: uses the {this} form but earlier records use the {kind} form")
        return kind
    ignored.update(str(k) for k in item if k not in ID_COLUMNS + ("R",) + ANGLE_COLUMNS)
    if has_r:
        flat = _flatten_r(item["R"])
        if flat is None:
            problems.append(f"{where_id}: R must be 9 numbers (row-major) or a 3x3 list of numbers")
            return this
        vals, bad = _numbers({f"R[{k}]": v for k, v in enumerate(flat)})
    else:
        missing = [a for a in ANGLE_COLUMNS if a not in item]
        if missing:
            problems.append(f"{where_id}: missing {', '.join(missing)} (or give R)")
            return this
        vals, bad = _numbers({a: item[a] for a in ANGLE_COLUMNS})
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        problems.append(f"{where_id}: {bad[0]}{more}")
        return this
    records.append((where, sid, vals))
    return this


def _flatten_r(r: object) -> list[object] | None:
    """9 values of a flat list or of 3 rows of 3; None for any other shape."""
    if not isinstance(r, list):
        return None
    if len(r) == 3 and all(isinstance(row, list) and len(row) == 3 for row in r):
        r = [v for row in r for v in row]
    return r if len(r) == 9 else None
