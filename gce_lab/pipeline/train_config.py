"""The trainer's inputs: :class:`TrainConfig` (every setting of a run, in the trainer's own names)
and :class:`TrainData` (the noisy training and validation splits and the clean test set).

Both check themselves when built, so that a bad setting is refused with its name and allowed
range before anything trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from gce_lab.methods import METHODS
from gce_lab.pipeline.device import DEVICE_CHOICES, PRECISION_CHOICES
from gce_lab.validation import check_bool, check_choice, check_in_range, check_int, check_labels

__all__ = ["OPTIMIZERS", "TrainConfig", "TrainData"]

OPTIMIZERS = ("sgd", "adam")


#: The numeric fields of :class:`TrainConfig` and the Python type each is stored as.
_NUMBER_FIELDS = {
    **dict.fromkeys(("epochs", "batch_size", "eval_batch_size", "prune_start", "prune_every", "seed"), int),
    **dict.fromkeys(("lr", "momentum", "weight_decay", "lr_decay", "q", "k"), float),
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything the trainer needs to know besides the model and the data.

    Attributes:
        method: loss, one of :data:`gce_lab.methods.METHODS`.
        epochs: number of training epochs (>= 1).
        optimizer: ``"sgd"`` (momentum, weight decay) or ``"adam"`` (``lr`` only, other defaults).
        lr, momentum, weight_decay: optimiser settings (momentum/weight decay: SGD only).
        milestones: epochs after which the learning rate is multiplied by ``lr_decay``.
        batch_size, eval_batch_size: training / evaluation batch sizes.
        q, k: L_q parameter (``lq``, ``truncated_lq``) and truncation threshold (``truncated_lq``).
        prune_start, prune_every: ACS schedule for ``truncated_lq`` (None: never prune).
        augment: random crops (padding 4) and horizontal flips of training batches.
        test_every_epoch: evaluate the test set after every epoch (the curves of Fig. 1a and 2);
            when False, only after the last epoch and, with the best-validation model, once at
            the end: all that Tables 1 and 2 report (the other epochs record NaN).
        seed: seeds every epoch's permutation and augmentation (the model is seeded by its builder).
        compile: ``torch.compile`` the model where it can work (a CUDA GPU with Triton and compute
            capability >= 7.0); elsewhere the run is eager and says why
            (:func:`gce_lab.pipeline.device.training_policy`).
        channels_last: ``torch.channels_last`` layout for model and inputs.
        precision: ``"auto"`` (the device's best: bfloat16 autocast where the GPU has it natively,
            else float16 autocast with gradient scaling on CUDA, float32 on MPS and the CPU),
            ``"bf16"``, ``"fp16"`` (with gradient scaling) or ``"fp32"``.
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cuda"``, ``"mps"``, ``"cpu"``.
    """

    method: str
    epochs: int
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    milestones: tuple[int, ...] = ()
    lr_decay: float = 0.1
    batch_size: int = 128
    eval_batch_size: int = 1024
    q: float = 0.7
    k: float = 0.5
    prune_start: int | None = None
    prune_every: int | None = None
    augment: bool = True
    test_every_epoch: bool = True
    seed: int = 0
    compile: bool = False
    channels_last: bool = False
    precision: str = "auto"
    device: str = "auto"

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_int("epochs", self.epochs, 1)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_in_range("lr", self.lr, 0.0, math.inf, low_open=True)
        check_in_range("momentum", self.momentum, 0.0, 1.0, high_open=True)
        check_in_range("weight_decay", self.weight_decay, 0.0, math.inf)
        check_in_range("lr_decay", self.lr_decay, 0.0, 1.0, low_open=True)
        object.__setattr__(self, "milestones", tuple(check_int("milestones", m, 1) for m in self.milestones))
        check_int("batch_size", self.batch_size, 1)
        check_int("eval_batch_size", self.eval_batch_size, 1)
        check_in_range("q", self.q, 0.0, 1.0)
        check_in_range("k", self.k, 0.0, 1.0)
        if (self.prune_start is None) != (self.prune_every is None):
            raise ValueError(
                "prune_start and prune_every must both be integers >= 1 or both None, "
                f"got {self.prune_start!r} and {self.prune_every!r}"
            )
        if self.prune_start is not None:
            check_int("prune_start", self.prune_start, 1)
            check_int("prune_every", self.prune_every, 1)
        for name in ("augment", "test_every_epoch"):
            check_bool(name, getattr(self, name))
        check_int("seed", self.seed, 0)
        check_bool("compile", self.compile)
        check_choice("precision", self.precision, PRECISION_CHOICES)
        check_choice("device", self.device, DEVICE_CHOICES)
        for name, kind in _NUMBER_FIELDS.items():  # numpy scalars pass the checks: store Python numbers,
            if type(getattr(self, name)) not in (int, float, type(None)):  # or they cannot be written as JSON
                object.__setattr__(self, name, kind(getattr(self, name)))


@dataclass
class TrainData:
    """A noisy training split, a noisy validation split and the clean test set.

    Attributes:
        x_train, x_val, x_test: ``uint8`` images ``(N, C, H, W)``.
        y_train, y_val: the given (noisy) labels, ``int64``.
        y_test: the true labels, ``int64``.
        is_noisy: ``(N_train,)`` bool, True where the training sample's label is wrong
            (or, for open-set noise, its image is foreign).
        num_classes: c.
    """

    x_train: Tensor
    y_train: Tensor
    is_noisy: Tensor
    x_val: Tensor
    y_val: Tensor
    x_test: Tensor
    y_test: Tensor
    num_classes: int

    def __post_init__(self) -> None:
        check_int("num_classes", self.num_classes, 2)
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if not isinstance(x, Tensor) or x.dtype != torch.uint8 or x.ndim != 4 or x.shape[0] == 0:
                raise ValueError(f"x_{split} must be a non-empty uint8 tensor (N, C, H, W)")
            if not isinstance(y, Tensor) or y.shape != (x.shape[0],):
                raise ValueError(f"y_{split} must be a label tensor of shape ({x.shape[0]},)")
            check_labels(f"y_{split}", y, self.num_classes)
            if x.shape[1:] != self.x_train.shape[1:]:
                raise ValueError(f"x_{split} must have the image shape of x_train {tuple(self.x_train.shape[1:])}")
        if (
            not isinstance(self.is_noisy, Tensor)
            or self.is_noisy.dtype != torch.bool
            or self.is_noisy.shape != self.y_train.shape
        ):
            raise ValueError(f"is_noisy must be a bool tensor of shape ({self.y_train.shape[0]},)")

    def to(self, device: torch.device) -> TrainData:
        """A copy with every tensor on ``device`` (labels as int64)."""
        moved = {name: getattr(self, name).to(device) for name in ("x_train", "is_noisy", "x_val", "x_test")}
        labels = {name: getattr(self, name).to(device, torch.int64) for name in ("y_train", "y_val", "y_test")}
        return TrainData(**moved, **labels, num_classes=self.num_classes)
