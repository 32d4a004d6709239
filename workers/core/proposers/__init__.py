"""Pose proposers: a registry of named, versioned models that turn an image and
its intrinsics K into one proposed 6DoF head pose per detected face.

    from workers.core.proposers import create_proposer, list_proposers
    proposer = create_proposer("landmarks-fit")
    proposals = proposer.propose([image_bgr], [K])[0]

Importing this package is cheap: mediapipe and torch load on first use.
"""
from workers.core.proposers.registry import (  # noqa: F401
    InvalidInputError,
    MissingWeightsError,
    PoseProposal,
    Proposer,
    ProposerConfig,
    ProposerError,
    UnknownProposerError,
    available_proposers,
    create_proposer,
    default_weights_dir,
    get_config,
    list_proposers,
    register_proposer,
)

DEFAULT_PROPOSER = "landmarks-fit"
