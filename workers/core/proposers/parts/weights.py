"""A proposer's weights: found in the weights dir its caller passes, checked,
hashed and (for torch checkpoints) loaded, the same way for every proposer.

The weights dir is always an argument: workers/core never reads the environment.
The app passes settings.HEADPOSE_WEIGHTS_DIR (default HEADPOSE_SHARED_DIR/weights).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.core.proposers.config import ProposerConfig
from workers.core.proposers.errors import MissingWeightsError

PathLike = str | os.PathLike[str]
"""A weights dir or file as the callers pass it: a str or a Path."""

SETTING = "HEADPOSE_WEIGHTS_DIR (default HEADPOSE_SHARED_DIR/weights)"


@dataclass(frozen=True)
class WeightFiles:
    """The weights dir a proposer was built from (None: none was given) and its
    config.weights_files there, in order, each one checked to exist."""

    directory: Path | None = None
    paths: tuple[Path, ...] = ()

    @property
    def path(self) -> Path | None:
        """The main weights file (config.weights_file), None when there is none."""
        return self.paths[0] if self.paths else None

    def sha256(self) -> str:
        return sha256_of(*self.paths)


def weights_path_for(config: ProposerConfig, weights_dir: PathLike | None) -> Path | None:
    """Where config.weights_file is in weights_dir (None when the proposer needs no file)."""
    if config.weights_file is None or weights_dir is None:
        return None
    return Path(weights_dir) / config.weights_file


def missing_weights(config: ProposerConfig, weights_dir: PathLike | None) -> list[str]:
    """The files of config.weights_files that weights_dir lacks (all of them without a dir)."""
    if weights_dir is None:
        return list(config.weights_files)
    return [str(Path(weights_dir) / name) for name in config.weights_files if not (Path(weights_dir) / name).is_file()]


def find_weights(config: ProposerConfig, weights_dir: PathLike | None) -> WeightFiles:
    """config.weights_files in weights_dir, or MissingWeightsError naming every missing one."""
    directory = None if weights_dir is None else Path(weights_dir)
    missing = missing_weights(config, directory)
    if missing and directory is None:
        raise MissingWeightsError(
            f"proposer {config.name!r} needs {', '.join(missing)} from a weights dir, and none was given: "
            f"pass weights_dir (the app passes {SETTING})."
        )
    if missing:
        raise MissingWeightsError(
            f"proposer {config.name!r} is missing {', '.join(missing)}. Put the file(s) there, or point "
            f"the weights dir setting {SETTING} at the folder that holds {', '.join(config.weights_files)} "
            f"(now {directory})."
        )
    return WeightFiles(directory, tuple(directory / name for name in config.weights_files) if directory else ())


def sha256_of(*paths: Path) -> str:
    """sha256 over the bytes of the given files, in order."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def require_file(path: PathLike, what: str) -> Path:
    """path as a Path, or MissingWeightsError naming it (for loaders called directly)."""
    file = Path(path)
    if not file.is_file():
        raise MissingWeightsError(f"{what} file {file} does not exist")
    return file


def load_torch_state(
    path: PathLike, what: str, wrappers: tuple[str, ...] = ("state_dict", "model_state_dict")
) -> dict[str, Any]:
    """A checkpoint's state_dict, never unpickled beyond tensors (weights_only):
    unwrapped from the first of `wrappers` it is stored under, 'module.' prefixes
    (DataParallel) stripped."""
    import torch

    path = require_file(path, what)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict):
        state = next((state[k] for k in wrappers if isinstance(state.get(k), dict)), state)
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds no state_dict")
    return {k[len("module.") :] if k.startswith("module.") else k: v for k, v in state.items()}


def load_torch_network(net: Any, state: dict[str, Any], device: str = "cpu") -> Any:
    """net with `state` loaded strictly (every key and shape must match), in eval mode on device
    (torch is untyped here: an nn.Module in, the same module out)."""
    net.load_state_dict(state, strict=True)
    return net.eval().to(device)


def resolve_torch_device(device: str) -> str:
    """'cpu', or 'cuda' / 'cuda:N' when torch sees a CUDA GPU; a CUDA request on a
    machine without one falls back to 'cpu' (the proposer's .device says so)."""
    import torch

    device = str(device or "cpu")
    if device == "cpu":
        return device
    if device == "cuda" or device.startswith("cuda:"):
        return device if torch.cuda.is_available() else "cpu"
    raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'")
