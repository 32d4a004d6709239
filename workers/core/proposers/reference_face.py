"""Deprecated path, kept while annotator/ imports it: the reference face is a building block,
workers.core.proposers.parts.reference_face."""

from workers.core.proposers.parts.reference_face import (
    ASSET_PATH,
    ReferenceFace,
    ReferenceFaceError,
    load_reference_face,
    read_reference_face,
    reference_face_from_arrays,
)

__all__ = [
    "ASSET_PATH",
    "ReferenceFace",
    "ReferenceFaceError",
    "load_reference_face",
    "read_reference_face",
    "reference_face_from_arrays",
]
