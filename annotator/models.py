"""The annotator app's models, defined by the feature that owns each (datasets/,
labeling/, review/, quality/, sequences/, proposals/, accounts/, common/) and
gathered here: Django finds an app's models in `<app>.models`, and
`from annotator.models import Face` keeps working. Every class keeps the app
label `annotator` and its table name, so moving one needs no migration."""

from annotator.accounts.models import ApiToken, UserSettings
from annotator.common.models import Job, PoseFields
from annotator.datasets.models import Assignment, Dataset, Face, Image, Role, Split
from annotator.labeling.models import (
    Annotation,
    AnnotationOrigin,
    AnnotationRevision,
    AnnotationStatus,
    AnnotatorQueueTotals,
    FaceClaim,
    FlagReason,
    QueueEntry,
    QueueTotals,
    RejectReason,
    ReviewState,
    RevisionFields,
)
from annotator.proposals.models import FaceMesh, Proposal
from annotator.quality.models import ConsensusDue, FaceConsensus, Honeypot, HoneypotAnswer, QualitySnapshot
from annotator.review.models import ReviewClaim
from annotator.sequences.models import Sequence, SequenceTrack

__all__ = [
    "Annotation",
    "AnnotationOrigin",
    "AnnotationRevision",
    "AnnotationStatus",
    "AnnotatorQueueTotals",
    "ApiToken",
    "Assignment",
    "ConsensusDue",
    "Dataset",
    "Face",
    "FaceClaim",
    "FaceConsensus",
    "FaceMesh",
    "FlagReason",
    "Honeypot",
    "HoneypotAnswer",
    "Image",
    "Job",
    "PoseFields",
    "Proposal",
    "QualitySnapshot",
    "QueueEntry",
    "QueueTotals",
    "RejectReason",
    "ReviewClaim",
    "ReviewState",
    "RevisionFields",
    "Role",
    "Sequence",
    "SequenceTrack",
    "Split",
    "UserSettings",
]
