"""Sequences (writes): the Sequence rows an import creates, and the stored
proposal tracks (linked across frames, smoothed on SO(3)) built after proposals.

The geometry is workers/core/tracking; this module only reads rows into it and
stores what it returns."""

from __future__ import annotations

import numpy as np
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery

from annotator.common import pipeline
from annotator.common.poses import flat
from annotator.datasets.models import Dataset, Image
from annotator.proposals.models import Proposal
from annotator.sequences.models import Sequence, SequenceTrack
from workers.core.tracking.linking import Detection, link_detections
from workers.core.tracking.smoothing import smooth_track
from workers.core.tracking.spikes import spike_frames


def stored_sequence(dataset: Dataset, frame) -> Sequence:
    sequence, _ = Sequence.objects.get_or_create(
        dataset=dataset, name=frame.sequence, defaults={"fps": frame.fps, "input_name": frame.input_name}
    )
    return sequence


def stored_frame(sequence: Sequence, frame_index: int, checksum: str) -> Image | None:
    """The frame already stored at this place (a re-run import), or None; a
    different picture there is an error, never an overwrite."""
    existing = Image.objects.filter(sequence=sequence, frame_index=frame_index).first()
    if existing is not None and existing.checksum != checksum:
        raise ValueError(f"frame {frame_index} of sequence {sequence.name} is already stored with other content.")
    return existing


def count_frames(dataset: Dataset) -> None:
    frames = Image.objects.filter(sequence=OuterRef("pk")).order_by().values("sequence").annotate(n=Count("pk"))
    Sequence.objects.filter(dataset=dataset).update(frame_count=Subquery(frames.values("n")[:1]))


def build_tracks(sequence_id: int) -> list[SequenceTrack]:
    """Link the newest proposer's proposals on a sequence's frames into tracks,
    smooth each, and store them (replacing the previous ones). Holding the
    sequence row's lock while reading makes concurrent runs (one per proposal
    batch) end with the track of everything committed."""
    with transaction.atomic():
        sequence = Sequence.objects.select_for_update().get(pk=sequence_id)
        frames = list(sequence.frames.order_by("frame_index").values("pk", "frame_index"))
        latest = (
            Proposal.objects.filter(face__image__sequence=sequence)
            .order_by("-created_at")
            .values("proposer", "proposer_version")
            .first()
        )
        if latest is None or not frames:
            return []
        proposals = (
            Proposal.objects.filter(
                face__image__sequence=sequence, proposer=latest["proposer"], proposer_version=latest["proposer_version"]
            )
            .select_related("face")
            .order_by("face__image__frame_index", "face__index")
            # a proposer's faces carry hundreds of landmarks each: not read here
            .only("R", "t", "face__id", "face__box", "face__image_id", "face__index")
        )
        position = {f["pk"]: i for i, f in enumerate(frames)}
        per_frame: list[list] = [[] for _ in frames]
        for p in proposals:
            per_frame[position[p.face.image_id]].append(p)
        detections = [[Detection(tuple(p.face.box), p.R_matrix) for p in ps] for ps in per_frame]
        links = sorted(link_detections(detections), key=lambda tr: (-len(tr.members), min(tr.members)))
        SequenceTrack.objects.filter(sequence=sequence).delete()
        rows = []
        tag = f"{latest['proposer']}@{latest['proposer_version']}"
        for index, link in enumerate(links):
            chosen = [per_frame[i][link.members[i]] if i in link.members else None for i in range(len(frames))]
            rows.append(
                SequenceTrack.objects.create(
                    sequence=sequence, index=index, proposer=tag, **track_fields(frames, chosen, sequence.fps)
                )
            )
        return rows


def track_fields(frames: list[dict], chosen: list, fps: float) -> dict:
    """The stored form of one linked track: per frame its raw proposal and the smoothed pose."""
    observations = [None if p is None else (p.R_matrix, None if p.t is None else np.asarray(p.t)) for p in chosen]
    smoothed = smooth_track(observations)
    raw = [p.R_matrix for p in chosen if p is not None]
    raw_frames = [f["frame_index"] for f, p in zip(frames, chosen) if p is not None]
    spikes = [raw_frames[i] for i in spike_frames(np.stack(raw), fps)] if raw else []
    rows = []
    for i, (frame, p) in enumerate(zip(frames, chosen)):
        assert smoothed is not None  # a linked track has a proposal on at least one of its frames
        rows.append(
            {
                "frame_index": frame["frame_index"],
                "image": frame["pk"],
                "face": None if p is None else p.face_id,
                "raw_R": None if p is None else flat(p.R_matrix),
                "R": flat(smoothed.R[i]),
                "t": None if smoothed.t is None else flat(smoothed.t[i]),
                "filled": bool(smoothed.filled[i]),
                "rejected": bool(smoothed.rejected[i]),
            }
        )
    return {"frames": rows, "spikes": spikes}


def sequences_of_faces(face_ids: list[int]) -> list[int]:
    return sorted(
        set(Image.objects.filter(faces__pk__in=face_ids, sequence__isnull=False).values_list("sequence_id", flat=True))
    )


@pipeline.step("proposals_stored", "tracks")
def _track_sequences(face_ids: list[int]) -> None:
    if face_ids:
        for sequence_id in sequences_of_faces(face_ids):
            pipeline.enqueue("build_sequence_tracks", sequence_id)
