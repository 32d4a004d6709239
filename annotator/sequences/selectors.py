"""Sequences (reads): the label of every frame (keyframe | interpolated |
smoothed_proposal) and what the timeline shows. Rules in
workers/core/tracking/labels.py; this module only gathers the rows.

A keyframe is an annotator's accepted or corrected annotation on the frame's
face (the face the sequence's main track follows on that frame, else the
frame's first face); with several annotators on one frame, the latest save."""

from __future__ import annotations

import numpy as np

from annotator.common import access
from annotator.common.poses import reference_face_state
from annotator.datasets.models import Face, Image
from annotator.labeling.models import Annotation, AnnotationOrigin, AnnotationStatus
from annotator.labeling.selectors import dataset_for_labeling
from annotator.sequences.models import Sequence, SequenceTrack
from workers.core import geometry
from workers.core.label_rows import LabelRow
from workers.core.tracking.labels import KEYFRAME, frame_labels
from workers.core.tracking.smoothing import SmoothedTrack


def main_track(sequence: Sequence) -> SequenceTrack | None:
    return sequence.tracks.filter(index=0).first()


def _smoothed(track: SequenceTrack | None) -> SmoothedTrack | None:
    if track is None or not track.frames:
        return None
    has_t = all(f["t"] is not None for f in track.frames)
    return SmoothedTrack(
        R=np.asarray([f["R"] for f in track.frames], dtype=np.float64).reshape(-1, 3, 3),
        t=np.asarray([f["t"] for f in track.frames], dtype=np.float64) if has_t else None,
        filled=np.asarray([f["filled"] for f in track.frames]),
        rejected=np.asarray([f["rejected"] for f in track.frames]),
    )


def frames_of(sequence: Sequence) -> list[dict]:
    return list(
        sequence.frames.order_by("frame_index").values(
            "pk", "frame_index", "timestamp_s", "file_name", "width", "height", "K"
        )
    )


def sequence_labels(sequence: Sequence, only_author=None) -> list[dict]:
    """One dict per frame, in order: frame_index, image, face, R (9), t (3 or
    None), track_label (keyframe | interpolated | smoothed_proposal | None), author
    (of a keyframe), raw_R (the raw proposal, 9 or None), gap_deg (geodesic
    gap between the label and the raw proposal, None without either)."""
    frames = frames_of(sequence)
    track = main_track(sequence)
    entries = {e["image"]: e for e in track.frames} if track is not None else {}
    if track is not None and len(track.frames) != len(frames):
        track, entries = None, {}  # frames were added after the track was built: it is rebuilt after proposals
    faces: dict[int, int] = {}  # image -> the face labeled on it
    for face in (
        Image.objects.filter(sequence=sequence).values("pk", "faces__pk", "faces__index").order_by("pk", "faces__index")
    ):
        if face["faces__pk"] is not None:
            faces.setdefault(face["pk"], face["faces__pk"])
    for image, entry in entries.items():
        if entry["face"] is not None:
            faces[image] = entry["face"]
    saved = Annotation.objects.filter(
        origin=AnnotationOrigin.ANNOTATOR,
        face__in=list(faces.values()),
        status__in=[AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED],
    )
    if only_author is not None:
        saved = saved.filter(author=only_author)
    saved = saved.order_by("updated_at", "pk").values("face_id", "face__image_id", "R", "t", "author__username")
    keyed = {a["face__image_id"]: a for a in saved}  # the latest save wins
    number = {f["pk"]: f["frame_index"] for f in frames}
    keyframes = {
        number[image]: (np.asarray(a["R"]).reshape(3, 3), None if a["t"] is None else np.asarray(a["t"]))
        for image, a in keyed.items()
    }
    labels = frame_labels([f["frame_index"] for f in frames], keyframes, _smoothed(track))
    out = []
    for f, lab in zip(frames, labels):
        raw = entries.get(f["pk"], {}).get("raw_R")
        gap = None
        if lab is not None and raw is not None:
            gap = float(geometry.geodesic_distance(lab.R, np.asarray(raw).reshape(3, 3)))
        out.append(
            {
                "frame_index": f["frame_index"],
                "timestamp_s": f["timestamp_s"],
                "image": f["pk"],
                "file_name": f["file_name"],
                "face": faces.get(f["pk"]),
                "R": None if lab is None else [float(v) for v in lab.R.reshape(-1)],
                "t": None if lab is None or lab.t is None else [float(v) for v in lab.t],
                "track_label": None if lab is None else lab.kind,
                "author": keyed[f["pk"]]["author__username"] if lab is not None and lab.kind == KEYFRAME else None,
                "raw_R": raw,
                "gap_deg": gap,
            }
        )
    return out


TRACK_ORIGINS = {"keyframe": "annotator", "interpolated": "annotator", "smoothed_proposal": "proposal"}


def track_rows(dataset, split=None, sequence: Sequence | None = None):
    """LabelRows (labels=track) of every labeled frame of the dataset's sequences,
    by sequence name then frame: origin annotator for keyframes and the frames
    interpolated between them, proposal for the smoothed track outside them."""

    in_split = None if split is None else set(split.images.values_list("pk", flat=True))
    sequences = [sequence] if sequence is not None else dataset.sequences.order_by("name")
    for sequence in sequences:
        track = main_track(sequence)
        images = {f["pk"]: f for f in frames_of(sequence)}
        faces = {f["pk"]: f for f in Face.objects.filter(image__sequence=sequence).values("pk", "index", "box")}
        for lab in sequence_labels(sequence):
            if lab["track_label"] is None or (in_split is not None and lab["image"] not in in_split):
                continue
            image, face = images[lab["image"]], faces.get(lab["face"])
            kind = lab["track_label"]
            if kind == "keyframe":
                detail = lab["author"]
            elif kind == "smoothed_proposal":
                assert track is not None  # a smoothed frame's label comes from the sequence's track
                detail = track.proposer
            else:
                detail = kind
            yield LabelRow(
                image["file_name"],
                face["index"] if face else 0,
                lab["R"],
                lab["t"],
                TRACK_ORIGINS[kind],
                detail or "",
                image_id=image["pk"],
                face_id=lab["face"],
                width=image["width"],
                height=image["height"],
                K=image["K"],
                box=face["box"] if face else None,
                provenance={
                    "dataset": dataset.name,
                    "origin": TRACK_ORIGINS[kind],
                    "track_label": kind,
                    "sequence": sequence.name,
                    "author": lab["author"],
                    "track_proposer": track.proposer if track else None,
                },
                sequence=sequence.name,
                frame_index=lab["frame_index"],
                track_label=kind,
            )


def sequence_for(user, sequence_id: int, labeling: bool) -> Sequence:
    """The sequence if `user` may label its dataset (`labeling`) or read all its
    labels; Sequence.DoesNotExist (a 404) when they cannot see the dataset,
    PermissionDenied (a 403) when they see it but may not do this."""
    from django.core.exceptions import PermissionDenied

    sequence = Sequence.objects.select_related("dataset").get(pk=sequence_id)
    if sequence.dataset_id not in access.visible_dataset_ids(user):
        raise Sequence.DoesNotExist
    if labeling:
        dataset_for_labeling(user, sequence.dataset_id)
    elif not access.may_read_labels(user, sequence.dataset_id):
        raise PermissionDenied("Reading every label of this dataset is not allowed for your role.")
    return sequence


def sequence_editor_state(user, sequence: Sequence) -> dict:
    """What the sequence editor shows: every frame's label, raw proposal and gap,
    the spikes, and the caller's own annotation version per face (for saving)."""

    own_only = None if access.may_read_labels(user, sequence.dataset_id) else user
    frames = sequence_labels(sequence, only_author=own_only)
    versions = dict(
        Annotation.objects.filter(
            author=user, origin=AnnotationOrigin.ANNOTATOR, face__image__sequence=sequence
        ).values_list("face_id", "version")
    )
    first = sequence.frames.order_by("frame_index").values("width", "height", "K").first() or {}
    track = main_track(sequence)
    for f in frames:
        f["version"] = versions.get(f["face"], 0)
    return {
        "sequence": {
            "id": sequence.pk,
            "name": sequence.name,
            "fps": sequence.fps,
            "frame_count": len(frames),
            "dataset": sequence.dataset_id,
        },
        "image": {"width": first.get("width", 0), "height": first.get("height", 0), "K": first.get("K")},
        "proposer": track.proposer if track else None,
        "spikes": track.spikes if track else [],
        "frames": frames,
        "reference_face": reference_face_state(),  # the landmark tool's points (each frame's face: its own state)
    }
