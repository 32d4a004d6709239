"""Deprecated path, kept while annotator/ imports it (`from workers.core.proposers import registry`):
the registry is private (_registry.py); use the names `workers.core.proposers` exports."""

from workers.core.proposers._registry import (
    _REGISTRY,
    available_proposers,
    create_proposer,
    discover_proposers,
    get_config,
    list_proposers,
    register_proposer,
)
from workers.core.proposers.errors import ProposerError, UnknownProposerError
from workers.core.proposers.parts.weights import WeightFiles, find_weights, missing_weights, weights_path_for

__all__ = [
    "_REGISTRY",
    "ProposerError",
    "UnknownProposerError",
    "WeightFiles",
    "available_proposers",
    "create_proposer",
    "discover_proposers",
    "find_weights",
    "get_config",
    "list_proposers",
    "missing_weights",
    "register_proposer",
    "weights_path_for",
]
