"""The admin site of the annotator app: each feature registers its own models in
its admin.py (datasets, labeling, sequences, proposals, accounts; jobs in
common/admin.py); Django's admin autodiscovery imports this module, which
imports them."""

from annotator.accounts import admin as accounts_admin  # noqa: F401
from annotator.common import admin as common_admin  # noqa: F401
from annotator.datasets import admin as datasets_admin  # noqa: F401
from annotator.labeling import admin as labeling_admin  # noqa: F401
from annotator.proposals import admin as proposals_admin  # noqa: F401
from annotator.sequences import admin as sequences_admin  # noqa: F401
