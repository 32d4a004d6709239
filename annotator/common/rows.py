"""Reading many rows' values at once: the JSON columns decoded in bulk, and the
scope (a dataset, or only a split's faces) every feature's row reader takes."""

import json
from dataclasses import dataclass

from django.db.models import TextField
from django.db.models.functions import Cast

# a row's updated_at as text: much cheaper than a datetime per row (exports format it themselves)
UPDATED_TEXT = {"updated_text": Cast("updated_at", TextField())}


@dataclass(frozen=True)
class RowScope:
    """Whose rows to read: a dataset's, or only a split's faces (`split_faces`, a face-id subquery)."""

    dataset: object
    split_faces: object = None

    def of_annotations(self) -> dict:
        """Filter for rows that carry their dataset (annotations, consensus)."""
        return {"face__in": self.split_faces} if self.split_faces is not None else {"dataset": self.dataset}

    def of_faces(self) -> dict:
        """Filter for rows that reach their dataset through the face (proposals)."""
        if self.split_faces is not None:
            return {"face__in": self.split_faces}
        return {"face__image__dataset": self.dataset}


def values_json(queryset, fields: list[str], json_fields: list[str], chunk: int = 5000):
    """queryset.values(*fields, *json_fields), streamed, with the JSON columns
    read as text and decoded a chunk at a time: one json.loads per few thousand
    values instead of one per value (per-value decoding was most of the time of
    a 100k-face export)."""
    aliases = {f"{name.replace('__', '_')}_as_json": name for name in json_fields}
    rows = queryset.annotate(**{a: Cast(name, TextField()) for a, name in aliases.items()}).values(*fields, *aliases)
    batch = []
    for row in rows.iterator(chunk_size=chunk):
        batch.append(row)
        if len(batch) >= chunk:
            yield from _decode_json(batch, aliases)
            batch = []
    if batch:
        yield from _decode_json(batch, aliases)


def _decode_json(batch: list[dict], aliases: dict) -> list[dict]:
    for alias, name in aliases.items():
        texts = [row.pop(alias) or "null" for row in batch]  # SQL NULL -> JSON null
        unique = list(dict.fromkeys(texts))
        if len(unique) < len(texts) // 2:
            # e.g. K: every image of a camera has the same one; the rows share the decoded list (read-only)
            decoded = dict(zip(unique, json.loads("[" + ",".join(unique) + "]")))
            for row, text in zip(batch, texts):
                row[name] = decoded[text]
        else:
            for row, value in zip(batch, json.loads("[" + ",".join(texts) + "]")):
                row[name] = value
    return batch
