"""Pose proposers: a registry of named, versioned models that turn an image and
its intrinsics K into one proposed 6DoF head pose per detected face.

    from workers.core.proposers import create_proposer, list_proposers
    proposer = create_proposer("landmarks-fit")  # needs no weights
    proposer = create_proposer("fused", weights_dir=settings.HEADPOSE_WEIGHTS_DIR)
    proposals = proposer.propose([image_bgr], [K])[0]

config.py (ProposerConfig), base.py (Proposer, PoseProposal), registry.py
(register, look up, build), weights.py (find, hash, load), errors.py.
Importing this package is cheap: mediapipe and torch load on first use.
"""
from workers.core.proposers.base import PoseProposal, Proposer  # noqa: F401
from workers.core.proposers.config import ProposerConfig  # noqa: F401
from workers.core.proposers.errors import (  # noqa: F401
    InvalidInputError,
    MissingWeightsError,
    ProposerError,
    UnknownProposerError,
)
from workers.core.proposers.registry import (  # noqa: F401
    available_proposers,
    create_proposer,
    get_config,
    list_proposers,
    register_proposer,
)

DEFAULT_PROPOSER = "landmarks-fit"
