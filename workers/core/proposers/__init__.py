"""Pose proposers: a registry of named, versioned models that turn an image and
its intrinsics K into one proposed 6DoF head pose per detected face.

    from workers.core.proposers import create_proposer, list_proposers
    proposer = create_proposer("landmarks-fit")  # needs no weights
    proposer = create_proposer("fused", weights_dir=settings.HEADPOSE_WEIGHTS_DIR)
    proposals = proposer.propose([image_bgr], [K])[0]

The names below are the package's interface: config.py (ProposerConfig), base.py
(Proposer, PoseProposal), errors.py, and the registry's functions (_registry.py,
private: register, look up, build). One module per proposer sits next to them
(default.py, fused.py, ...); their building blocks (detection, crops, the landmark
fit, fusion, confidence, weights files) are in parts/.
Importing this package is cheap: mediapipe and torch load on first use.
"""

from workers.core.proposers._registry import (
    available_proposers,
    create_proposer,
    get_config,
    list_proposers,
    register_proposer,
)
from workers.core.proposers.base import PoseProposal, Proposer
from workers.core.proposers.config import ProposerConfig
from workers.core.proposers.errors import (
    InvalidInputError,
    MissingWeightsError,
    ProposerError,
    UnknownProposerError,
)

__all__ = [
    "DEFAULT_PROPOSER",
    "InvalidInputError",
    "MissingWeightsError",
    "PoseProposal",
    "Proposer",
    "ProposerConfig",
    "ProposerError",
    "UnknownProposerError",
    "available_proposers",
    "create_proposer",
    "get_config",
    "list_proposers",
    "register_proposer",
]

DEFAULT_PROPOSER = "landmarks-fit"
