from django.db.models import TextField
from django.db.models.functions import Cast

from annotator.common.rows import _values_json
from annotator.datasets.models import Dataset, Face
from annotator.labeling.models import Annotation, AnnotationOrigin, AnnotationStatus, ReviewState
from annotator.proposals.models import Proposal
from annotator.quality.models import FaceConsensus
from annotator.sequences.selectors import track_rows
from workers.core.label_rows import LabelRow

LABEL_CHOICES = ("best", "ground_truth", "accepted", "annotations", "proposals", "track", "consensus")
LABEL_HELP = {
    "best": "per face: the latest accepted/corrected annotation (not rejected by a reviewer), else the ground truth, "
            "else the newest proposal",
    "ground_truth": "the dataset's own labels",
    "accepted": "per face: the latest accepted or corrected annotation by any annotator (not rejected by a reviewer)",
    "annotations": "every annotator's accepted or corrected annotation (several rows per face)",
    "proposals": "the newest proposal per face (of `proposer` if given)",
    "track": ("per frame of each sequence: its keyframe, else its interpolated pose, else its smoothed proposal "
              "(track_label says which); images outside a sequence: as best"),
    "consensus": "per face: the robust consensus of its annotators' accepted/corrected labels, with member_count "
                 "and dispersion_deg (faces nobody labeled are left out)",
}


def label_rows(dataset: Dataset, labels: str = "best", proposer: str | None = None, split=None,
               with_landmarks: bool = True):
    """LabelRows (workers.core.label_rows) of a dataset's faces, in image-name order.

    Reads plain values, not model instances, in three queries (faces, annotations,
    proposals): an export of 100k faces would otherwise spend most of its time
    building objects. `split` limits to the split's images; with_landmarks=False
    skips the heavy landmark columns for formats that do not write them."""

    if labels not in LABEL_CHOICES:
        raise ValueError(f"labels must be one of {LABEL_CHOICES}")
    track = labels == "track"
    if track:  # frames of sequences from their tracks (below); the other images as best
        labels = "best"
    faces = Face.objects.filter(image__dataset=dataset)
    if track:
        faces = faces.filter(image__sequence__isnull=True)
    if split is not None:
        faces = faces.filter(image__in=split.images.values("pk"))
    face_fields = ["pk", "index", "image_id", "image__file_name", "image__width", "image__height", "landmark_scheme",
                   "image__sequence__name", "image__frame_index"]
    face_json = ["box", "image__K"] + (["landmarks_2d", "landmarks_3d"] if with_landmarks else [])
    if split is not None:
        scope = ann_scope = {"face__in": faces.values("pk")}
    else:  # annotations carry their dataset; proposals reach it through the face
        scope, ann_scope = {"face__image__dataset": dataset}, {"dataset": dataset}

    gt, accepted = {}, {}
    ann_fields = ["face_id", "status", "version", "updated_text", "author__username", "proposal__proposer",
                  "proposal__proposer_version"]
    updated_text = {"updated_text": Cast("updated_at", TextField())}
    if labels in ("best", "ground_truth"):
        truth = Annotation.objects.filter(origin=AnnotationOrigin.GROUND_TRUTH, **ann_scope).annotate(**updated_text)
        for a in _values_json(truth, ann_fields, ["R", "t"]):
            gt[a["face_id"]] = a
    if labels in ("best", "accepted", "annotations"):
        # a label a reviewer rejected is not exported until its annotator saves it again
        done = Annotation.objects.filter(origin=AnnotationOrigin.ANNOTATOR, **ann_scope,
                                         status__in=[AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED]
                                         ).exclude(review_state=ReviewState.REJECTED).annotate(**updated_text)
        for a in _values_json(done.order_by("updated_at", "pk"), ann_fields, ["R", "t", "landmark_pins"]):
            accepted.setdefault(a["face_id"], []).append(a)
    agreed = {}
    if labels == "consensus":
        for c in _values_json(FaceConsensus.objects.filter(**ann_scope),
                              ["face_id", "member_count", "dispersion_deg", "computed_at"], ["R", "t"]):
            agreed[c["face_id"]] = c
    props = {}
    if labels in ("best", "proposals"):
        pq = Proposal.objects.filter(**scope).order_by("created_at", "pk")
        if proposer:
            pq = pq.filter(proposer=proposer)
        for p in _values_json(pq, ["face_id", "proposer", "proposer_version", "weights_sha256", "score", "created_at"],
                              ["R", "t"]):
            props[p["face_id"]] = p

    def row(f, pose, origin, detail, provenance, matches):
        return LabelRow(
            f["image__file_name"], f["index"], pose["R"], pose["t"], origin, detail,
            image_id=f["image_id"], face_id=f["pk"], width=f["image__width"], height=f["image__height"],
            K=f["image__K"], box=f["box"], landmarks_2d=f.get("landmarks_2d"), landmarks_3d=f.get("landmarks_3d"),
            landmark_scheme=f["landmark_scheme"], landmarks_match_pose=matches,
            provenance={"dataset": dataset.name, **provenance}, landmark_pins=pose.get("landmark_pins") or [],
            sequence=f["image__sequence__name"] or "", frame_index=f["image__frame_index"],
        )

    def annotation_row(f, a):
        who = a["author__username"]
        prov = {"origin": "annotator", "author": who, "status": a["status"], "version": a["version"],
                "updated_at": _iso_text(a["updated_text"])}
        if a["proposal__proposer"]:
            prov["started_from"] = f'{a["proposal__proposer"]}@{a["proposal__proposer_version"]}'
        return row(f, a, "annotator", who, prov, False)

    for f in _values_json(faces.order_by("image__file_name", "index"), face_fields, face_json):
        fid = f["pk"]
        if labels == "consensus":
            if fid in agreed:
                c = agreed[fid]
                r = row(f, c, "consensus", f'{c["member_count"]} annotators', {
                    "origin": "consensus", "member_count": c["member_count"], "dispersion_deg": c["dispersion_deg"],
                    "computed_at": c["computed_at"].isoformat()}, False)
                r.member_count, r.dispersion_deg = c["member_count"], c["dispersion_deg"]
                yield r
        elif labels == "annotations":
            for a in accepted.get(fid, []):
                yield annotation_row(f, a)
        elif labels in ("best", "accepted") and fid in accepted:
            yield annotation_row(f, accepted[fid][-1])
        elif labels in ("best", "ground_truth") and fid in gt:
            a = gt[fid]
            yield row(f, a, "ground_truth", dataset.name, {"origin": "ground_truth", "status": "ground_truth",
                                                           "version": a["version"]}, True)
        elif labels in ("best", "proposals") and fid in props:
            p = props[fid]
            detail = f'{p["proposer"]}@{p["proposer_version"]}'
            yield row(f, p, "proposal", detail, {
                "origin": "proposal", "proposer": p["proposer"], "proposer_version": p["proposer_version"],
                "weights_sha256": p["weights_sha256"], "score": p["score"], "created_at": p["created_at"].isoformat()},
                False)
    if track:
        yield from track_rows(dataset, split)


def _iso_text(text: str) -> str:
    """A timestamp cast to text by the database -> ISO 8601 (UTC, as Django stores it):
    much cheaper than building datetime objects for every exported row."""
    text = text.replace(" ", "T", 1)
    if text.endswith("+00"):
        return text + ":00"
    return text if text.endswith("Z") or "+" in text[19:] else text + "+00:00"
