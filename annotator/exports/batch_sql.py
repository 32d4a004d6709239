"""One query for an export's faces with their picked labels (PostgreSQL), for
the label kinds whose sources are the latest finished label, the ground truth
and the newest proposal (labels=best, accepted, ground_truth, proposals, and
the images outside sequences of labels=track).

selectors.label_rows reads a batch of faces with one query for the faces and
one per source, each through Django's values() and a dict a row: most of an
export's time at 1M faces. Here each source is a LATERAL sub-query (its first
row in the source's own order: the row the source's reader leaves last in its
dict), the JSON columns come as text and the rows stay tuples: `LabelRows`
turns a batch of them into the LabelRows the sources' `rows` build (the same
functions), or into the CSV writer's columns without a per-face object. The
rules each sub-query repeats are the sources' readers' (labeling and proposals
selectors): tests/api/test_export_batch_sql.py holds the two ways side by side
on every origin and edge case."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connection, connections

from annotator.datasets.models import Face, Image
from annotator.exports.points import batch_points
from annotator.labeling.models import Annotation, AnnotationOrigin, AnnotationStatus, ReviewState
from annotator.proposals.models import Proposal
from annotator.sequences.models import Sequence
from workers.core.label_columns import LabelColumns, parse_floats
from workers.core.label_rows import LabelRow

# (key of the source's value dict, SQL) of each column; LEAN: the keys the CSV columns need
_FACE = (
    ("pk", "f.id"),
    ("index", 'f."index"'),
    ("image_id", "f.image_id"),
    ("image__file_name", "i.file_name"),
    ("image__sequence__name", "s.name"),
    ("image__frame_index", "i.frame_index"),
    ("image__width", "i.width"),
    ("image__height", "i.height"),
    ("landmark_scheme", "f.landmark_scheme"),
    ("box", "f.box::text"),
    ("image__K", 'i."K"::text'),
)
_LABEL = (  # an annotation's (latest label, ground truth): selectors' _LABEL_FIELDS, R, t
    ("id", "a.id"),
    ("author__username", "u.username"),
    ("R", 'a."R"::text'),
    ("t", "a.t::text"),
    ("status", "a.status"),
    ("version", "a.version"),
    ("updated_text", "a.updated_at::text"),
    ("proposal__proposer", "lp.proposer"),
    ("proposal__proposer_version", "lp.proposer_version"),
    ("moved_deg", "a.moved_deg"),
    ("moved_mm", "a.moved_mm"),
)
_PINS = (("landmark_pins", "a.landmark_pins::text"),)  # the latest label's only (finished_label_values)
_PROPOSAL = (
    ("id", "p.id"),
    ("proposer", "p.proposer"),
    ("proposer_version", "p.proposer_version"),
    ("R", 'p."R"::text'),
    ("t", "p.t::text"),
    ("weights_sha256", "p.weights_sha256"),
    ("score", "p.score"),
    ("created_at", "p.created_at"),
)
LEAN = {"pk", "index", "image_id", "image__file_name", "image__sequence__name", "image__frame_index"}
LEAN_SOURCE = {"id", "author__username", "R", "t", "proposer", "proposer_version"}
JSON_KEYS = ("box", "image__K", "R", "t", "landmark_pins")

_ANNOTATION_FROM = (
    "FROM {annotation} a LEFT JOIN {user} u ON u.id = a.author_id LEFT JOIN {proposal} lp ON lp.id = a.proposal_id "
)
# name: (alias, columns, the sub-query after its SELECT list, parameters)
_SOURCES: dict[str, tuple[str, tuple[tuple[str, str], ...], str, list[object]]] = {
    "label": (
        "la",
        _LABEL + _PINS,
        _ANNOTATION_FROM + "WHERE a.face_id = f.id AND a.origin = %s AND a.status IN (%s, %s) "
        "AND a.review_state <> %s{unless} ORDER BY a.updated_at DESC, a.id DESC LIMIT 1",
        [
            AnnotationOrigin.ANNOTATOR,
            AnnotationStatus.ACCEPTED,
            AnnotationStatus.CORRECTED,
            ReviewState.REJECTED,
        ],
    ),
    "ground_truth": (
        "gt",
        _LABEL,
        _ANNOTATION_FROM + "WHERE a.face_id = f.id AND a.origin = %s{unless} LIMIT 1",
        [AnnotationOrigin.GROUND_TRUTH],
    ),
    "proposal": (
        "pr",
        _PROPOSAL,
        "FROM {proposal} p WHERE p.face_id = f.id{only}{unless} ORDER BY p.created_at DESC, p.id DESC LIMIT 1",
        [],
    ),
}


@dataclass(frozen=True)
class BatchQuery:
    """The query for a kind's sources (in order) and where each column lands in its rows."""

    sql: str  # with {faces} and {order}: where the faces come from, in export order
    params: list
    sources: tuple[str, ...]
    landmarks: tuple[str, ...]
    face_at: dict[str, int]
    at: dict[str, dict[str, int]]  # per source: key -> column
    lean: bool

    @classmethod
    def build(
        cls, sources: tuple[str, ...], proposer: str | None, landmarks: tuple[str, ...], lean: bool = False
    ) -> BatchQuery:
        """`lean`: only what the CSV columns need (LEAN, LEAN_SOURCE; no landmarks)."""
        tables = {
            "annotation": Annotation._meta.db_table,
            "user": get_user_model()._meta.db_table,
            "proposal": Proposal._meta.db_table,
        }
        face = [(k, sql) for k, sql in _FACE if not lean or k in LEAN]
        face += [(f"{name}_text", f"f.{name}::text") for name in landmarks]
        columns = [sql for _, sql in face]
        face_at = {k: i for i, (k, _) in enumerate(face)}
        joins: list[str] = []
        params: list = []
        at: dict[str, dict[str, int]] = {}
        before: list[str] = []
        for source in sources:
            alias, fields, body, source_params = _SOURCES[source]
            fields = tuple((k, sql) for k, sql in fields if not lean or k in LEAN_SOURCE)
            at[source] = {k: len(columns) + i for i, (k, _) in enumerate(fields)}
            columns += [f"{alias}.c{i}" for i in range(len(fields))]
            select = ", ".join(f"{sql} AS c{i}" for i, (_, sql) in enumerate(fields))
            # a later source is read only for the faces no earlier one had
            unless = "".join(f" AND {other}.c0 IS NULL" for other in before)
            only = " AND p.proposer = %s" if proposer else ""
            joins.append(
                f"LEFT JOIN LATERAL (SELECT {select} {body.format(unless=unless, only=only, **tables)}) {alias} ON true"
            )
            params += source_params + ([proposer] if source == "proposal" and proposer else [])
            before.append(alias)
        sql = (
            f"SELECT {', '.join(columns)} FROM {{faces}} JOIN {Image._meta.db_table} i ON i.id = f.image_id "
            f"LEFT JOIN {Sequence._meta.db_table} s ON s.id = i.sequence_id {' '.join(joins)} ORDER BY {{order}}"
        )
        return cls(sql, params, sources, landmarks, face_at, at, lean)

    def by_ids(self, ids: list[int]) -> list[tuple]:
        """The rows of these faces, in this order (a face deleted meanwhile left out)."""
        sql = self.sql.format(
            faces=(
                "unnest(%s::bigint[]) WITH ORDINALITY AS b(id, ord) "
                # LATERAL ... LIMIT 1: a lookup by primary key per id; joined plainly, the planner
                # hashed the whole face table for every batch (quadratic in the dataset's size)
                f"CROSS JOIN LATERAL (SELECT * FROM {Face._meta.db_table} WHERE id = b.id LIMIT 1) f"
            ),
            order="b.ord",
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [ids, *self.params])
            return cursor.fetchall()

    def streamed(self, faces, batch: int) -> Iterator[list[tuple]]:
        """The rows of a queryset of faces in export order (image file name, face
        index, id), `batch` at a time, from one query."""
        inner, inner_params = faces.values_list("pk", "image__file_name", "index").query.sql_with_params()
        sql = self.sql.format(
            faces=f"({inner}) AS o(id, file_name, idx) JOIN {Face._meta.db_table} f ON f.id = o.id",
            order="o.file_name, o.idx, o.id",
        )
        params = [*inner_params, *self.params]
        if connection.in_atomic_block or not connection.get_autocommit():
            # inside the caller's transaction (tests): its connection, a server-side cursor
            with connection.chunked_cursor() as cursor:
                cursor.execute(sql, params)
                while rows := cursor.fetchmany(batch):
                    yield rows
            return
        # Else a connection of its own, streaming (libpq's chunked rows): PostgreSQL
        # computes the next rows while this process formats the last ones (the
        # export's two halves on two cores), and keeps nothing of the result.
        reader = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with reader.cursor() as setup:
                setup.execute("SET jit = off")  # see selectors._no_jit
            with reader.connection.cursor() as cursor:
                rows_of = cursor.stream(sql, params, size=batch)
                while rows := list(islice(rows_of, batch)):
                    yield rows
        finally:
            reader.close()


def _json(texts: list[str | None]) -> list:
    """JSON texts (None: SQL NULL) decoded with one json.loads (as common.rows.values_json does)."""
    return json.loads("[" + ",".join(text or "null" for text in texts) + "]") if texts else []


class LabelRows:
    """One batch of the query's rows (workers.core.label_columns.LabelBatch): its
    LabelRows (`rows`, through the sources' own row builders; a lean query's
    batch is read again by `full`) or its CSV columns (`columns`)."""

    def __init__(self, query: BatchQuery, tuples: list[tuple], ctx, builders: dict, full: BatchQuery | None = None):
        self.query, self.tuples, self.ctx, self.builders, self.full = query, tuples, ctx, builders, full
        # each face's picked source (the first whose sub-query found a row), faces without one left out
        first = [(source, query.at[source]["id"]) for source in query.sources]
        self.picked: list[tuple[tuple, str]] = []
        for row in tuples:
            for source, k in first:
                if row[k] is not None:
                    self.picked.append((row, source))
                    break

    def rows(self) -> list[LabelRow]:
        if self.query.lean:
            assert self.full is not None
            ids = [row[self.query.face_at["pk"]] for row in self.tuples]
            return LabelRows(self.full, self.full.by_ids(ids), self.ctx, self.builders).rows()
        q = self.query
        faces = [{k: row[i] for k, i in q.face_at.items()} for row, _ in self.picked]
        values = [{k: row[i] for k, i in q.at[source].items()} for row, source in self.picked]
        for key in JSON_KEYS:
            have = [v for v in faces + values if key in v]
            for v, decoded in zip(have, _json([v[key] for v in have])):
                v[key] = decoded
        for name, dims in (("landmarks_2d", 2), ("landmarks_3d", 3)):
            if name in q.landmarks:
                for face, parsed in zip(faces, batch_points([face[f"{name}_text"] for face in faces], dims)):
                    face[name] = parsed
        out: list[LabelRow] = []
        for face, value, (_, source) in zip(faces, values, self.picked):
            out.extend(self.builders[source](self.ctx, face, [value] if source == "label" else value))
        return out

    def columns(self) -> LabelColumns | None:
        picked, at, face_at = self.picked, self.query.at, self.query.face_at
        R = parse_floats([row[at[source]["R"]] for row, source in picked], 9)
        if R is None:
            return None
        t_texts = [row[at[source]["t"]] for row, source in picked]
        has_t = np.array([text is not None and text != "null" for text in t_texts], dtype=bool)
        t = np.ones((len(picked), 3))
        if has_t.any():
            parsed = parse_floats([text for text, has in zip(t_texts, has_t.tolist()) if has], 3)
            if parsed is None:
                return None
            t[has_t] = parsed
        origin, detail = [], []
        for row, source in picked:
            if source == "label":
                origin.append("annotator")
                detail.append(row[at["label"]["author__username"]])
            elif source == "ground_truth":
                origin.append("ground_truth")
                detail.append(self.ctx.dataset.name)
            else:
                origin.append("proposal")
                detail.append(f"{row[at['proposal']['proposer']]}@{row[at['proposal']['proposer_version']]}")

        def column(key: str) -> list:
            i = face_at[key]
            return [row[i] for row, _ in picked]

        return LabelColumns(
            image=column("image__file_name"),
            face_index=column("index"),
            R=R,
            t=t,
            has_t=has_t,
            origin=origin,
            origin_detail=detail,
            image_id=column("image_id"),
            face_id=column("pk"),
            sequence=[name or "" for name in column("image__sequence__name")],
            frame_index=column("image__frame_index"),
        )
