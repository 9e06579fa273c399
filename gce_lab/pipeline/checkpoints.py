"""Checkpoints of a training run: written atomically every epoch, read back only when they belong
to the same configuration and data (a fingerprint), otherwise ignored with a warning.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gce_lab.files import atomic_path
from gce_lab.pipeline.train_config import TrainConfig, TrainData

__all__ = ["CHECKPOINT_FORMAT", "fingerprint", "save_checkpoint", "load_checkpoint"]

CHECKPOINT_FORMAT = 1
_CHECKPOINT_KEYS = (
    "model",
    "best_model",
    "optimizer",
    "loss",
    "history",
    "best_epoch",
    "best_val_acc",
    "test_at_best",
    "wall_time_s",
)
# Config fields that do not change the numbers of a CPU run (so a resume may differ in them).
_NOT_FINGERPRINTED = ("eval_batch_size", "compile", "channels_last", "precision", "device")


def fingerprint(config: TrainConfig, data: TrainData, T: Tensor | None) -> str:
    """Digest of everything that fixes a run's numbers (a checkpoint from elsewhere is ignored)."""
    digest = hashlib.sha256()
    settings = {k: v for k, v in asdict(config).items() if k not in _NOT_FINGERPRINTED}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for tensor in (data.y_train, data.is_noisy, data.y_val, data.y_test):
        digest.update(tensor.detach().cpu().numpy().tobytes())
    digest.update(str([tuple(getattr(data, f"x_{s}").shape) for s in ("train", "val", "test")]).encode())
    if T is not None:
        digest.update(T.detach().cpu().double().numpy().tobytes())
    return digest.hexdigest()[:20]


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (a cut write leaves the previous checkpoint); a write
    that fails (a full disk) raises ``OSError`` naming the file."""
    try:
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    except (OSError, RuntimeError) as err:  # torch reports a full disk as "[enforce fail ...] unexpected pos"
        raise OSError(
            f"checkpoint {path} could not be written ({str(err).splitlines()[0] if str(err) else type(err).__name__}); "
            "is the disk full? Free space and run the same command again: the run resumes from its last checkpoint"
        ) from err


def _shapes(weights: Any) -> dict[str, tuple[int, ...]] | None:
    """Parameter name -> shape of a state dict (None when it is not one)."""
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        return None
    return {name: tuple(value.shape) for name, value in weights.items()}


def load_checkpoint(
    path: Path | None, expected: str, device: torch.device, model: nn.Module | None = None
) -> dict[str, Any] | None:
    """The state saved at ``path`` if it has the fingerprint ``expected``, every key and (when
    ``model`` is given) weights of ``model``'s names and shapes; else None (a missing, unreadable,
    foreign or damaged file, or one of another network, is ignored with a warning: the run starts over)."""
    if path is None or not path.is_file():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # a corrupt file is no reason to fail: start over
        warnings.warn(f"ignoring unreadable checkpoint {path}: {err}", stacklevel=3)
        return None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT or state.get("fingerprint") != expected:
        warnings.warn(f"ignoring checkpoint {path}: it belongs to a different configuration or data", stacklevel=3)
        return None
    missing = [key for key in _CHECKPOINT_KEYS if key not in state]
    if missing:
        warnings.warn(f"ignoring damaged checkpoint {path}: it lacks {missing}; the run starts over", stacklevel=3)
        return None
    if model is not None:
        wanted = _shapes(model.state_dict())
        if any(_shapes(state[key]) != wanted for key in ("model", "best_model")):
            warnings.warn(
                f"ignoring checkpoint {path}: its weights belong to another network; the run starts over", stacklevel=3
            )
            return None
    return state
