"""Pose proposer registry, in the spirit of timm's model registry: register,
look up, build. Private: callers use the names the package exports
(`from workers.core.proposers import create_proposer, register_proposer, ...`).

A proposer module anywhere in this package declares a `ProposerConfig`
(config.py) and registers a builder; dropping the module into the package is
all it takes (every module is imported on first lookup, no list to edit):

    @register_proposer("my-net", config=ProposerConfig(name="my-net", ...))
    def build(config, weight_files, device): return MyNet(config, weight_files, device)

`create_proposer(name, weights_dir, device)` finds the config's weights files in
the weights dir its caller passes (parts/weights.py; the app passes
settings.HEADPOSE_WEIGHTS_DIR, the core never reads the environment), refuses
missing ones with `MissingWeightsError`, builds the proposer with them and
records their sha256 on it.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable

from workers.core.proposers.base import Proposer
from workers.core.proposers.config import ProposerConfig
from workers.core.proposers.errors import UnknownProposerError
from workers.core.proposers.parts.weights import WeightFiles, find_weights, missing_weights

Builder = Callable[[ProposerConfig, WeightFiles, str], Proposer]
_REGISTRY: dict[str, tuple[ProposerConfig, Builder]] = {}
_discovered = False


def register_proposer(name: str, *, config: ProposerConfig) -> Callable[[Builder], Builder]:
    """Decorator: register `builder(config, weight_files, device) -> Proposer`."""
    if config.name != name:
        raise ValueError(f"config name {config.name!r} differs from registered name {name!r}")

    def decorator(builder: Builder) -> Builder:
        if name in _REGISTRY and _REGISTRY[name][1] is not builder:
            existing = _REGISTRY[name][1]
            # re-importing the same module (reload) may re-register; a clash is an error
            if (
                getattr(existing, "__qualname__", None) != builder.__qualname__
                or existing.__module__ != builder.__module__
            ):
                raise ValueError(f"a proposer named {name!r} is already registered")
        _REGISTRY[name] = (config, builder)
        builder.proposer_config = config  # type: ignore[attr-defined]  # the builder function carries its config
        return builder

    return decorator


def discover_proposers() -> None:
    """Import every module of this package once, so that each one's
    @register_proposer runs. Imported on first lookup, not with the package, so
    that `import workers.core.proposers` stays cheap (no torch, no mediapipe)."""
    global _discovered
    if _discovered:
        return
    _discovered = True  # before the imports: a module may look proposers up while it loads
    package = importlib.import_module(__package__)
    try:
        for module in pkgutil.iter_modules(package.__path__, prefix=f"{__package__}."):
            # parts/ holds the building blocks (detection, crops, fits), not proposers
            if not module.name.rsplit(".", 1)[1].startswith("_") and module.name != f"{__package__}.parts":
                importlib.import_module(module.name)
    except BaseException:
        _discovered = False
        raise


def list_proposers() -> list[str]:
    discover_proposers()
    return sorted(_REGISTRY)


def get_config(name: str) -> ProposerConfig:
    return _lookup(name)[0]


def _lookup(name: str) -> tuple[ProposerConfig, Builder]:
    discover_proposers()
    if name not in _REGISTRY:
        raise UnknownProposerError(f"unknown proposer {name!r}; known: {', '.join(sorted(_REGISTRY)) or 'none'}")
    return _REGISTRY[name]


def available_proposers(weights_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Registered proposers whose weights files are all in weights_dir (or that need none)."""
    return [name for name in list_proposers() if not missing_weights(get_config(name), weights_dir)]


def create_proposer(name: str, weights_dir: str | os.PathLike[str] | None = None, device: str = "cpu") -> Proposer:
    """The proposer `name` built on `device` from the weights in weights_dir
    (None: only proposers that need no weights file can be built)."""
    config, builder = _lookup(name)
    weight_files = find_weights(config, weights_dir)
    proposer = builder(config, weight_files, device)
    if not isinstance(proposer, Proposer):
        raise TypeError(f"builder of {name!r} returned {type(proposer).__name__}, not a Proposer")
    if not proposer.weights_sha256:
        if not weight_files.paths:
            raise TypeError(f"proposer {name!r} has no weights file and set no weights_sha256")
        proposer.weights_sha256 = weight_files.sha256()
    return proposer
