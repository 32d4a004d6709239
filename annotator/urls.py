"""Every page and /api/label/ route of the annotator app: each feature lists its
own in its urls.py (`urlpatterns`); this module only gathers them."""

from annotator.accounts import urls as accounts
from annotator.datasets import urls as datasets
from annotator.exports import urls as exports
from annotator.labeling import urls as labeling
from annotator.proposals import urls as proposals
from annotator.quality import urls as quality
from annotator.review import urls as review
from annotator.sequences import urls as sequences

FEATURES = (datasets, quality, exports, proposals, accounts, labeling, sequences, review)

urlpatterns = [pattern for feature in FEATURES for pattern in feature.urlpatterns]
