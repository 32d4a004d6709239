from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from annotator.common.rows import RowScope, values_json
from annotator.datasets.models import Dataset, Face
from annotator.exports.batch_sql import BatchQuery, LabelRows
from annotator.exports.points import points
from annotator.labeling.selectors import finished_label_values, ground_truth_values
from annotator.proposals.selectors import newest_proposal_values
from annotator.quality.selectors import consensus_values
from annotator.sequences.selectors import track_rows
from workers.core.label_columns import RowsBatch
from workers.core.label_rows import LabelRow

# --- the label kinds --------------------------------------------------------------
# Each kind of `labels=` is one entry of LABELS: its help text and, in order, the
# sources a face's row is picked from (the first that has the face wins). Each
# source's rows are read by the feature that owns them (labeling, proposals,
# quality, sequences); this module only turns them into LabelRows.


@dataclass(frozen=True)
class Source:
    """Where a face's row comes from: `load(scope, proposer)` reads {face_id: value}
    in one query; `rows(ctx, face, value)` turns the value into LabelRows."""

    load: Callable[..., dict]
    rows: Callable[..., Iterator[LabelRow]]


@dataclass(frozen=True)
class LabelKind:
    help: str
    sources: tuple[Source, ...]
    sequences_as_tracks: bool = False  # frames of sequences from their tracks; the other images as the sources say


@dataclass(frozen=True)
class _Context:
    dataset: Dataset

    def row(self, f, pose, origin, detail, provenance, matches) -> LabelRow:
        return LabelRow(
            f["image__file_name"],
            f["index"],
            pose["R"],
            pose["t"],
            origin,
            detail,
            image_id=f["image_id"],
            face_id=f["pk"],
            width=f["image__width"],
            height=f["image__height"],
            K=f["image__K"],
            box=f["box"],
            # (batch_sql parses a batch's landmarks at once: `landmarks_2d` / `landmarks_3d`)
            landmarks_2d=f["landmarks_2d"] if "landmarks_2d" in f else points(f.get("landmarks_2d_text"), 2),
            landmarks_3d=f["landmarks_3d"] if "landmarks_3d" in f else points(f.get("landmarks_3d_text"), 3),
            landmark_scheme=f["landmark_scheme"],
            landmarks_match_pose=matches,
            provenance={"dataset": self.dataset.name, **provenance},
            landmark_pins=pose.get("landmark_pins") or [],
            sequence=f["image__sequence__name"] or "",
            frame_index=f["image__frame_index"],
        )


def _annotation_row(ctx: _Context, f, a) -> LabelRow:
    who = a["author__username"]
    prov = {
        "origin": "annotator",
        "author": who,
        "status": a["status"],
        "version": a["version"],
        "updated_at": _iso_text(a["updated_text"]),
    }
    if a["proposal__proposer"]:
        prov["started_from"] = f"{a['proposal__proposer']}@{a['proposal__proposer_version']}"
        # how far the label moved from that proposal (degrees, mm): the per-label metadata of JSON and COCO
        prov["moved_deg"], prov["moved_mm"] = a["moved_deg"], a["moved_mm"]
    return ctx.row(f, a, "annotator", who, prov, False)


def _latest_label_rows(ctx, f, labels):
    yield _annotation_row(ctx, f, labels[-1])


def _every_label_rows(ctx, f, labels):
    for a in labels:
        yield _annotation_row(ctx, f, a)


def _ground_truth_rows(ctx, f, a):
    yield ctx.row(
        f,
        a,
        "ground_truth",
        ctx.dataset.name,
        {"origin": "ground_truth", "status": "ground_truth", "version": a["version"]},
        True,
    )


def _proposal_rows(ctx, f, p):
    detail = f"{p['proposer']}@{p['proposer_version']}"
    yield ctx.row(
        f,
        p,
        "proposal",
        detail,
        {
            "origin": "proposal",
            "proposer": p["proposer"],
            "proposer_version": p["proposer_version"],
            "weights_sha256": p["weights_sha256"],
            "score": p["score"],
            "created_at": p["created_at"].isoformat(),
        },
        False,
    )


def _consensus_rows(ctx, f, c):
    r = ctx.row(
        f,
        c,
        "consensus",
        f"{c['member_count']} annotators",
        {
            "origin": "consensus",
            "member_count": c["member_count"],
            "dispersion_deg": c["dispersion_deg"],
            "computed_at": c["computed_at"].isoformat(),
        },
        False,
    )
    r.member_count, r.dispersion_deg = c["member_count"], c["dispersion_deg"]
    yield r


LATEST_LABEL = Source(lambda scope, proposer: finished_label_values(scope), _latest_label_rows)
EVERY_LABEL = Source(lambda scope, proposer: finished_label_values(scope), _every_label_rows)
GROUND_TRUTH = Source(lambda scope, proposer: ground_truth_values(scope), _ground_truth_rows)
NEWEST_PROPOSAL = Source(newest_proposal_values, _proposal_rows)
CONSENSUS = Source(lambda scope, proposer: consensus_values(scope), _consensus_rows)

BEST = (LATEST_LABEL, GROUND_TRUTH, NEWEST_PROPOSAL)
# the sources batch_sql reads in one query a batch, by its names for them, with their rows' builders
_BATCH_SQL = {LATEST_LABEL: "label", GROUND_TRUTH: "ground_truth", NEWEST_PROPOSAL: "proposal"}
_BUILDERS = {"label": _latest_label_rows, "ground_truth": _ground_truth_rows, "proposal": _proposal_rows}
LABELS: dict[str, LabelKind] = {
    "best": LabelKind(
        "per face: the latest accepted/corrected annotation (not rejected by a reviewer), else the "
        "ground truth, else the newest proposal",
        BEST,
    ),
    "ground_truth": LabelKind("the dataset's own labels", (GROUND_TRUTH,)),
    "accepted": LabelKind(
        "per face: the latest accepted or corrected annotation by any annotator (not rejected by a reviewer)",
        (LATEST_LABEL,),
    ),
    "annotations": LabelKind(
        "every annotator's accepted or corrected annotation (several rows per face)", (EVERY_LABEL,)
    ),
    "proposals": LabelKind("the newest proposal per face (of `proposer` if given)", (NEWEST_PROPOSAL,)),
    "track": LabelKind(
        "per frame of each sequence: its keyframe, else its interpolated pose, else its smoothed "
        "proposal (track_label says which); images outside a sequence: as best",
        BEST,
        sequences_as_tracks=True,
    ),
    "consensus": LabelKind(
        "per face: the robust consensus of its annotators' accepted/corrected labels, with "
        "member_count and dispersion_deg (faces nobody labeled are left out)",
        (CONSENSUS,),
    ),
}
LABEL_CHOICES = tuple(LABELS)
LABEL_HELP = {name: kind.help for name, kind in LABELS.items()}


# faces per batch: one query for their values and one per source; what a batch
# holds (a few MB with landmarks) is all an export keeps of its rows at once
BATCH = 2000


def label_rows(
    dataset: Dataset,
    labels: str = "best",
    proposer: str | None = None,
    split=None,
    with_landmarks: bool | tuple[str, ...] = True,
    batch: int | None = None,
):
    """LabelRows (workers.core.label_rows) of a dataset's faces, in image-name order.

    Streams, `batch` faces at a time (label_batches), never a per-face query.
    `split` limits to the split's images; `with_landmarks` names the landmark
    columns to read ("landmarks_2d", "landmarks_3d"; True: both, False: none)
    -- they dominate the row size."""
    for rows in label_batches(dataset, labels, proposer, split, with_landmarks, batch):
        yield from rows.rows()
    if LABELS[labels].sequences_as_tracks:
        yield from track_rows(dataset, split)


def label_batches(
    dataset: Dataset,
    labels: str = "best",
    proposer: str | None = None,
    split=None,
    with_landmarks: bool | tuple[str, ...] = True,
    batch: int | None = None,
    lean_csv: bool = False,
):
    """label_rows' faces a batch at a time (workers.core.label_columns.LabelBatch:
    its LabelRows, or its CSV columns), without labels=track's sequence frames.

    On PostgreSQL, the kinds whose sources batch_sql reads (best, accepted,
    ground_truth, proposals, track) come from one query for the whole export,
    streamed (batch_sql). Otherwise the faces' ids are read first, in export
    order (8 bytes a face, kept as an int64 array), then the faces `batch` at a
    time by id, with one query for the batch's faces and one per source, each
    reading plain values, not model instances. `lean_csv`: batches for
    label_columns.write_csv_batches (PostgreSQL reads only what its columns
    need; a batch whose rows() are wanted after all reads its faces again)."""
    if labels not in LABELS:
        raise ValueError(f"labels must be one of {LABEL_CHOICES}")
    kind = LABELS[labels]
    batch = batch or BATCH
    faces = Face.objects.filter(image__dataset=dataset)
    if kind.sequences_as_tracks:
        faces = faces.filter(image__sequence__isnull=True)
    if split is not None:
        faces = faces.filter(image__in=split.images.values("pk"))
    if with_landmarks is True:
        with_landmarks = ("landmarks_2d", "landmarks_3d")
    landmarks = tuple(with_landmarks or ())
    ordered = faces.order_by("image__file_name", "index", "pk")
    ctx = _Context(dataset)
    with _no_jit():
        if connection.vendor == "postgresql" and all(s in _BATCH_SQL for s in kind.sources):
            sources = tuple(_BATCH_SQL[s] for s in kind.sources)
            query = BatchQuery.build(sources, proposer, landmarks)
            lean = BatchQuery.build(sources, proposer, (), lean=True) if lean_csv else None
            for tuples in (lean or query).streamed(ordered, batch):
                yield LabelRows(lean or query, tuples, ctx, _BUILDERS, full=query)
            return
        ids = face_ids(ordered)
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch].tolist()
            yield RowsBatch(list(_source_rows(kind, ctx, chunk, landmarks, proposer, batch)))


def _source_rows(kind: LabelKind, ctx: _Context, chunk: list[int], landmarks: tuple[str, ...], proposer, batch: int):
    # landmark columns as text, parsed by numpy (points): json.loads was most of a json export's time
    landmark_text = {f"{name}_text": Cast(name, TextField()) for name in landmarks}
    by_id = {
        f["pk"]: f
        for f in values_json(
            Face.objects.filter(pk__in=_ids(chunk)).annotate(**landmark_text),
            _FACE_FIELDS + list(landmark_text),
            ["box", "image__K"],
            batch,
        )
    }
    # each source reads the rows of the batch's faces that no earlier source had
    picked: dict[int, tuple[Source, object]] = {}
    missing = [pk for pk in chunk if pk in by_id]  # (a face deleted since the ids were read is left out)
    for source in kind.sources:
        if not missing:
            break
        values = source.load(RowScope(ctx.dataset, split_faces=_ids(missing)), proposer)
        picked.update((pk, (source, values[pk])) for pk in missing if pk in values)
        missing = [pk for pk in missing if pk not in values]
    for pk in chunk:
        if pk in picked:
            source, value = picked[pk]
            yield from source.rows(ctx, by_id[pk], value)


@contextmanager
def _no_jit():
    """PostgreSQL's JIT off for an export's reads: compiling the export's query
    took about a third of its time (0.14 s of 0.4 s at 20k faces: its estimated
    cost passes jit_above_cost). Restored afterwards, also when the export fails."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        (before,) = cursor.fetchone()
        cursor.execute("SET jit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('jit', %s, false)", [before])


_FACE_FIELDS = [
    "pk",
    "index",
    "image_id",
    "image__file_name",
    "image__width",
    "image__height",
    "landmark_scheme",
    "image__sequence__name",
    "image__frame_index",
]


def _ids(ids: list[int]):
    """A batch of ids for an `__in` filter: on PostgreSQL one array parameter
    (`IN (SELECT unnest(%s))`: psycopg spends longer turning 2,000 separate
    parameters into a query than the database takes to run it), else the list."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [ids])
    return ids


# ids fetched per round trip while reading a dataset's face ids (their transient list: about 2 MB)
ID_CHUNK = 20_000


def face_ids(faces) -> np.ndarray:
    """The ids of `faces` in their order, as an int64 array (streamed from the database)."""
    out = array("q")
    out.extend(faces.values_list("pk", flat=True).iterator(chunk_size=ID_CHUNK))
    return np.frombuffer(out, dtype=np.int64) if out else np.zeros(0, dtype=np.int64)


def _iso_text(text: str) -> str:
    """A timestamp cast to text by the database -> ISO 8601 (UTC, as Django stores it):
    much cheaper than building datetime objects for every exported row."""
    text = text.replace(" ", "T", 1)
    if text.endswith("+00"):
        return text + ":00"
    return text if text.endswith("Z") or "+" in text[19:] else text + "+00:00"
