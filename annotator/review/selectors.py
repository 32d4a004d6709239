from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotator.datasets.models import Dataset, Face
from annotator.labeling.models import Annotation, AnnotationOrigin, ReviewState
from annotator.labeling.selectors import REVIEWABLE
from annotator.quality.models import FaceConsensus
from annotator.review.models import ReviewClaim


def faces_needing_review(dataset: Dataset):
    """Faces whose annotators disagree: their consensus (annotator/quality.py) spread
    over HEADPOSE_CONSENSUS_REVIEW_DEG or left a member out as an outlier. Most spread first."""
    return (
        Face.objects.filter(consensus__dataset=dataset, consensus__needs_review=True)
        .select_related("consensus")
        .order_by("-consensus__dispersion_deg", "pk")
    )


def awaiting_review(dataset: Dataset, reviewer):
    """Annotations of `dataset` awaiting `reviewer`'s verdict, unordered: finished
    labels of annotators with no verdict on their current version (a range of the
    partial index annotation_review_pending), not their own, not held by another
    reviewer."""
    claims = ReviewClaim.objects.filter(annotation=OuterRef("pk"), expires_at__gt=timezone.now())
    return (
        Annotation.objects.filter(
            dataset=dataset, origin=AnnotationOrigin.ANNOTATOR, status__in=REVIEWABLE, review_state=ReviewState.PENDING
        )
        .exclude(author=reviewer)
        .exclude(Exists(claims.exclude(reviewer=reviewer)))
    )


def review_queue(dataset: Dataset, reviewer):
    """awaiting_review in the order the review page hands them out: labels of faces
    whose annotators disagree (faces_needing_review: consensus spread over the
    setting, or an outlier) first, then the oldest label first. The one place this
    order is decided (review/queue.next_for_review walks it in two index ranges
    instead of sorting it, after a label the reviewer already holds)."""
    disputed = FaceConsensus.objects.filter(face=OuterRef("face_id"), needs_review=True)
    return (
        awaiting_review(dataset, reviewer).annotate(disputed=Exists(disputed)).order_by("-disputed", "updated_at", "pk")
    )


# a review queue's size is counted up to this many labels (pages say "1000+"): a count
# never walks more of the pending-review index than that, whatever the dataset's size
QUEUE_SIZE_CAP = 1_000


def awaiting_count(dataset: Dataset, reviewer) -> int:
    """How many labels await `reviewer` in `dataset`, counted up to QUEUE_SIZE_CAP."""
    return awaiting_review(dataset, reviewer).order_by()[:QUEUE_SIZE_CAP].count()
