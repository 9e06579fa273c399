"""The trainer, in one file to read top to bottom: its settings (:class:`TrainConfig`) and data
(:class:`TrainData`), the steps (one batch, one epoch, batched prediction, the model and optimiser
set-up, a stopwatch), checkpoints, evaluation, and the epoch loop (:func:`train`) with ACS pruning
for truncated L_q. It trains any loss of :data:`gce_lab.methods.METHOD_INFO`; the schedules are the
paper's (:mod:`gce_lab.schedules`). :mod:`gce_lab.pipeline.bench` times its steps against a plain
PyTorch loop.

One code path serves the CPU (tests, smoke runs) and the GPU fast path:

* the whole data set lives on the device as ``uint8``; each epoch draws a permutation of
  sample indices there, and batches are gathered by index, normalised and augmented with
  batched tensor operations (:func:`gce_lab.pipeline.augment.prepare_batch`);
* one precision and compile policy per device (:func:`gce_lab.pipeline.device.training_policy`):
  bfloat16 autocast where the GPU has it natively, else float16 autocast with a
  ``torch.amp.GradScaler`` on CUDA, float32 on MPS and the CPU; ``torch.compile`` of the training
  forward pass for full batches where it can work (a CUDA GPU with Triton, compute capability
  >= 7.0), else eager with a warning saying why; a shorter last batch and the evaluations run
  the same weights eagerly, so the compiled graph is never recompiled for another shape or for
  eval mode; ``channels_last`` layout; a fused optimiser step on CUDA where torch has one;
* per-epoch metrics are accumulated in device tensors and read with one synchronisation at the
  end of the epoch, never per batch: the labels are checked once (:class:`TrainData`), and the
  loss modules are built with ``check_inputs=False`` so they do not re-check them on the host
  for every batch. A pruning step reads its pruned count once more. Each epoch records its
  training time (batches only, no evaluation), measured with CUDA events on a GPU.

Protocol (Zhang & Sabuncu 2018, Sec. 4): SGD with momentum or Adam, batch 128, the learning
rate multiplied by ``lr_decay`` after each milestone epoch; each epoch records the training
loss, the loss and accuracy on the *noisy* validation split, the accuracy on the *clean* test
set, and the mean softmax output of the given label over correctly and wrongly labelled
training samples (Fig. 1c; accumulated over the epoch's training batches, in training mode
and on augmented images). The best-validation epoch maximises the noisy validation accuracy
(Table 1 caption; ties keep the earlier epoch); its test accuracy and the last epoch's are both
kept (Table 2 reports the last).

Truncated L_q is optimised by alternating convex search (Sec. 3.3, Algorithm 1): all weights
are 1 for the first ``prune_start`` epochs; then, before epochs ``prune_start + 1``,
``prune_start + 1 + prune_every``, ..., the weights of *all* training samples are reset to
``w_i = [f_{y_i}(x_i) > k]`` using the model of the best-validation epoch so far ("to prevent
overfitting, we used the model at the optimal epoch based on maximum validation accuracy for
pruning", Sec. 4.2). Each epoch then records how many samples are pruned and which fraction
of them is truly mislabelled (precision) and of the mislabelled ones is pruned (recall).

Checkpoints (every epoch, written atomically) hold the model, optimiser, loss weights, best
model and history; a rerun continues after the last completed epoch. Every epoch reseeds the
global RNGs from ``(seed, epoch)``, so a resumed run draws the same permutations and
augmentations as an uninterrupted one, and on the CPU reproduces it exactly.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import json
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm  # the text bar: notebooks without ipywidgets get no warning

from gce_lab.files import atomic_path
from gce_lab.methods import METHOD_INFO, make_loss
from gce_lab.pipeline.augment import per_pixel_mean, prepare_batch
from gce_lab.pipeline.device import DEVICE_CHOICES, PRECISION_CHOICES, TrainingPolicy, pick_device, training_policy
from gce_lab.schedules import check_pruning_schedule, learning_rate, pruning_epochs
from gce_lab.seeds import derived_seed
from gce_lab.validation import check_bool, check_choice, check_in_range, check_int, check_labels, number_fields

__all__ = [
    "OPTIMIZERS",
    "TrainConfig",
    "TrainData",
    "autocast",
    "batch_bounds",
    "predict_logits",
    "make_optimizer",
    "grad_scaler",
    "prepare_model",
    "train_step",
    "train_epoch",
    "Stopwatch",
    "CHECKPOINT_FORMAT",
    "fingerprint",
    "save_checkpoint",
    "load_checkpoint",
    "EpochRecord",
    "TrainResult",
    "TrainingInterrupted",
    "TrainingDiverged",
    "train",
]


# --------------------------------------------------------------------------- settings and data
# Both check themselves when built: a bad setting is refused with its name and allowed range
# before anything trains.
OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class TrainConfig:
    """Everything the trainer needs to know besides the model and the data.

    Attributes:
        method: loss, a name in :data:`gce_lab.methods.METHOD_INFO`.
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
        check_choice("method", self.method, METHOD_INFO)
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
        check_pruning_schedule(self.prune_start, self.prune_every)
        for name in ("augment", "test_every_epoch"):
            check_bool(name, getattr(self, name))
        check_int("seed", self.seed, 0)
        check_bool("compile", self.compile)
        check_choice("precision", self.precision, PRECISION_CHOICES)
        check_choice("device", self.device, DEVICE_CHOICES)
        for name, kind in _NUMBER_FIELDS.items():  # numpy scalars pass the checks: store Python numbers,
            if type(getattr(self, name)) not in (int, float, type(None)):  # or they cannot be written as JSON
                object.__setattr__(self, name, kind(getattr(self, name)))


#: The numeric fields of :class:`TrainConfig` and the Python type each is stored as.
_NUMBER_FIELDS = number_fields(TrainConfig)


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


# --------------------------------------------------------------------------- steps
# One batch, one epoch, batched prediction, the model and optimiser set-up and a stopwatch: the
# blocks of the epoch loop below, timed by the benchmark. Nothing here synchronises the host with
# the device.
def autocast(device: torch.device, amp_dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """``torch.autocast`` to ``amp_dtype`` on ``device``'s type, or nothing when ``amp_dtype`` is None."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=amp_dtype)


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """(start, end) of each batch; a last batch of one sample joins the previous one (batch norm
    cannot train on a single sample)."""
    bounds = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    x_uint8: Tensor,
    mean: Tensor,
    *,
    batch_size: int = 1024,
    amp_dtype: torch.dtype | None = None,
    channels_last: bool = False,
) -> Tensor:
    """Float32 logits ``(N, c)`` of ``model`` (set to eval mode) on uint8 images, in large batches."""
    model.eval()
    device = x_uint8.device
    outputs = []
    for start, end in batch_bounds(x_uint8.shape[0], batch_size):
        inputs = prepare_batch(x_uint8[start:end], mean, train=False, channels_last=channels_last)
        with autocast(device, amp_dtype):
            outputs.append(model(inputs).float())
    return torch.cat(outputs)


def make_optimizer(model: nn.Module, config: TrainConfig, device: torch.device | None = None) -> torch.optim.Optimizer:
    """The run's optimiser: SGD with momentum and weight decay, or Adam with its defaults but ``lr``.

    On CUDA it is the fused implementation (one kernel for all parameters) where this torch has one.
    """
    cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.SGD
    kwargs: dict[str, Any] = {"lr": config.lr}
    if config.optimizer == "sgd":
        kwargs.update(momentum=config.momentum, weight_decay=config.weight_decay)
    if device is not None and torch.device(device).type == "cuda" and "fused" in inspect.signature(cls).parameters:
        kwargs["fused"] = True
    return cls(model.parameters(), **kwargs)


def grad_scaler(policy: TrainingPolicy) -> torch.amp.GradScaler | None:
    """A ``torch.amp.GradScaler`` for float16 autocast (its gradients underflow unscaled, above all
    MAE's and L_q's, which f_y^q scales down); None for bfloat16 and float32."""
    return torch.amp.GradScaler(policy.device.type) if policy.grad_scaling else None


def prepare_model(model: nn.Module, config: TrainConfig, policy: TrainingPolicy) -> tuple[nn.Module, nn.Module, bool]:
    """Move ``model`` to the policy's device in the configured memory format; compile it when the
    policy says so (:func:`gce_lab.pipeline.device.training_policy`).

    Returns ``(model, step_model, compiled)``: ``step_model`` is ``torch.compile(model)`` (static
    shapes) when ``compiled``, else ``model`` itself; both share the same parameters.
    """
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(device=policy.device, memory_format=memory_format)
    return model, (torch.compile(model, dynamic=False) if policy.compile else model), policy.compile


def train_step(
    model: nn.Module,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    x_uint8: Tensor,
    target: Tensor,
    index: Tensor,
    noisy: Tensor,
    mean: Tensor,
    config: TrainConfig,
    amp_dtype: torch.dtype | None,
    scaler: torch.amp.GradScaler | None = None,
) -> Tensor:
    """One optimiser step on a batch of uint8 images already on the device; no host sync.

    Args:
        model: the network in training mode (compiled or not).
        loss_fn: a loss module of :mod:`gce_lab.losses` (``forward(logits, target, index)``).
        x_uint8, target, index, noisy: the batch's images, given labels, sample ids and
            mislabelled flags (float 0/1).
        mean: per-pixel mean image (:func:`gce_lab.pipeline.augment.per_pixel_mean`).
        config: ``augment`` and ``channels_last`` are used.
        amp_dtype: autocast dtype or None.
        scaler: gradient scaler of float16 autocast (:func:`grad_scaler`), or None.

    The loss is computed in float32 from the (autocast) logits.

    Returns:
        Device tensor ``[loss * batch size, sum of f_y over correctly labelled samples, sum of
        f_y over mislabelled ones]`` (``f_y``: softmax output of the given label).
    """
    inputs = prepare_batch(x_uint8, mean, train=config.augment, channels_last=config.channels_last)
    with autocast(inputs.device, amp_dtype):
        logits = model(inputs)
    loss = loss_fn(logits.float(), target, index)
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:  # a step whose scaled gradients overflowed is skipped, and the scale lowered
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    with torch.no_grad():
        p_label = torch.softmax(logits.float(), dim=1).gather(1, target[:, None]).squeeze(1)
        return torch.stack(
            [loss.detach().float() * target.shape[0], (p_label * (1 - noisy)).sum(), (p_label * noisy).sum()]
        )


def train_epoch(
    model: nn.Module,
    step_model: nn.Module,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    x_train: Tensor,
    y_train: Tensor,
    noisy: Tensor,
    order: Tensor,
    mean: Tensor,
    config: TrainConfig,
    amp_dtype: torch.dtype | None,
    scaler: torch.amp.GradScaler | None = None,
) -> Tensor:
    """One pass over the training set in the order ``order`` (a permutation of sample ids), in
    batches of ``config.batch_size``; no host sync.

    Full batches run through ``step_model`` (the compiled model, if any), a shorter last batch
    through ``model`` (same weights, eager), so a compiled graph only ever sees one shape.
    Returns the sum of :func:`train_step`'s outputs over the batches.
    """
    model.train()
    sums = torch.zeros(3, device=x_train.device)
    for start, end in batch_bounds(order.shape[0], config.batch_size):
        index = order[start:end]
        net = step_model if end - start == config.batch_size else model
        batch = (x_train[index], y_train[index], index, noisy[index])
        sums += train_step(net, loss_fn, optimizer, *batch, mean, config, amp_dtype, scaler)
    return sums


class Stopwatch:
    """Times a stretch of device work without a host sync: CUDA events on a GPU (read after the
    epoch's one sync), the host clock elsewhere (after a sync on MPS)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.events = (
            (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
            if device.type == "cuda"
            else None
        )
        self.begin = self.end = 0.0

    def _mark(self) -> float:
        if self.device.type == "mps":
            torch.mps.synchronize()
        return time.perf_counter()

    def start(self) -> None:
        if self.events is not None:
            self.events[0].record()
        else:
            self.begin = self._mark()

    def stop(self) -> None:
        if self.events is not None:
            self.events[1].record()
        else:
            self.end = self._mark()

    def seconds(self) -> float:
        """Elapsed seconds; on CUDA call it only after a synchronisation that follows :meth:`stop`."""
        if self.events is not None:
            return self.events[0].elapsed_time(self.events[1]) / 1000.0
        return self.end - self.begin


# --------------------------------------------------------------------------- checkpoints
# Written atomically every epoch; read back only when they belong to the same configuration and
# data (a fingerprint), otherwise ignored with a warning.
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


# --------------------------------------------------------------------------- evaluation and the epoch loop
@dataclass(frozen=True)
class EpochRecord:
    """What the trainer records of one epoch (a row of ``epochs.csv`` after the run's identity).

    Accuracies are in percent; NaN where a value is undefined (the pruning columns of a method
    that does not prune, the test accuracy of an epoch that was not tested).

    Attributes:
        epoch: 1-based epoch; lr: its learning rate.
        train_loss: mean training loss over the epoch's batches.
        val_loss, val_cce: the run's own loss (plain L_q for truncated L_q) and CCE on the noisy
            validation split; val_acc: accuracy on it.
        test_acc: accuracy on the clean test set.
        mean_softmax_clean, mean_softmax_noisy: mean softmax output of the given label over correctly
            and wrongly labelled training samples (Fig. 1c).
        prune_step: a pruning step ran before this epoch; n_pruned, prune_precision,
            prune_recall: the pruned set after the epoch.
        train_time_s: the training batches alone; epoch_time_s: everything.
    """

    epoch: int
    lr: float
    train_loss: float
    val_loss: float
    val_cce: float
    val_acc: float
    test_acc: float
    mean_softmax_clean: float
    mean_softmax_noisy: float
    prune_step: bool
    n_pruned: float
    prune_precision: float
    prune_recall: float
    train_time_s: float
    epoch_time_s: float


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        history: one dict per epoch, the fields of :class:`EpochRecord`.
        best_epoch, best_val_acc, test_acc_best_val: the best-validation epoch and its accuracies.
        test_acc_last: test accuracy of the last epoch.
        n_pruned_final, pruning_precision, pruning_recall: the pruned set at the end (NaN
            unless truncated L_q).
        best_model: the network with the best-validation weights, in eval mode, on ``device``.
        mean: the per-pixel mean image the inputs are normalised with.
        device, amp_dtype, compiled: how it ran.
        wall_time_s: training time over all attempts (resumed runs add up).
        resumed_from_epoch: epochs already done when this call started (0 = fresh).
    """

    history: list[dict[str, Any]]
    best_epoch: int
    best_val_acc: float
    test_acc_best_val: float
    test_acc_last: float
    n_pruned_final: float
    pruning_precision: float
    pruning_recall: float
    best_model: nn.Module
    mean: Tensor
    device: torch.device
    amp_dtype: torch.dtype | None
    compiled: bool
    wall_time_s: float
    resumed_from_epoch: int
    config: TrainConfig = field(repr=False)

    def predict_proba(self, x_uint8: Tensor) -> Tensor:
        """Softmax outputs ``(N, c)`` of the best-validation model on uint8 images."""
        logits = predict_logits(
            self.best_model,
            x_uint8.to(self.device),
            self.mean,
            batch_size=self.config.eval_batch_size,
            amp_dtype=self.amp_dtype,
            channels_last=self.config.channels_last,
        )
        return torch.softmax(logits, dim=1)


class TrainingInterrupted(RuntimeError):
    """Raised by an ``on_epoch_end`` callback to stop training after a checkpoint (tests, tools)."""


class TrainingDiverged(RuntimeError):
    """The training loss of an epoch was not finite: the run failed (its weights are NaN or
    meaningless) and has no result. The checkpoint of the epoch before is kept."""

    def __init__(self, epoch: int, loss: float, lr: float) -> None:
        self.epoch, self.loss, self.lr = epoch, loss, lr
        super().__init__(
            f"training diverged: the training loss was {loss} at epoch {epoch} (learning rate {lr:g}); "
            "a smaller learning rate may train"
        )


@torch.no_grad()
def _evaluate(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    mean: Tensor,
    losses: tuple[nn.Module, ...],
    config: TrainConfig,
    amp_dtype: torch.dtype | None,
) -> Tensor:
    """Device tensor ``[sum of each loss..., number correct]`` over the split, no host sync."""
    model.eval()
    sums = torch.zeros(len(losses) + 1, device=x.device)
    for start, end in batch_bounds(x.shape[0], config.eval_batch_size):
        inputs = prepare_batch(x[start:end], mean, train=False, channels_last=config.channels_last)
        with autocast(x.device, amp_dtype):
            logits = model(inputs)
        logits, target = logits.float(), y[start:end]
        values = [loss(logits, target) for loss in losses]
        values.append((logits.argmax(dim=1) == target).sum())
        sums += torch.stack(values).float()
    return sums


@torch.no_grad()
def _check_output_width(model: nn.Module, data: TrainData, config: TrainConfig) -> None:
    """The model must map the images to one logit per class (a clear error, not torch's IndexError)."""
    model.eval()
    probe = prepare_batch(
        data.x_val[:2], per_pixel_mean(data.x_val[:2]), train=False, channels_last=config.channels_last
    )
    try:
        out = model(probe)
    except RuntimeError as err:
        raise ValueError(f"model must accept images of shape {tuple(data.x_train.shape[1:])}: {err}") from err
    if out.ndim != 2 or out.shape[1] != data.num_classes:
        raise ValueError(
            f"model must output (N, {data.num_classes}) logits for the {data.num_classes} classes, "
            f"got shape {tuple(out.shape)}"
        )
    model.train()


def _validation_losses(config: TrainConfig, T: Tensor | None) -> tuple[nn.Module, nn.Module]:
    """(the run's own loss, CCE) summed over a split; truncated L_q is validated with plain L_q.
    The labels are checked once by :class:`TrainData`, so the modules skip the per-call checks."""
    method = "lq" if METHOD_INFO[config.method].prunes else config.method
    own = make_loss(method, q=config.q, T=T, reduction="sum", check_inputs=False)
    return own, make_loss("cce", reduction="sum", check_inputs=False)


def _prune_stats(loss_fn: nn.Module, is_noisy: Tensor, n_noisy: int) -> Tensor:
    """Device tensor [n_pruned, precision, recall] of the current pruned set (NaN where undefined)."""
    pruned = loss_fn.pruned_mask()
    n_pruned = pruned.sum().float()
    hits = (pruned & is_noisy).sum().float()
    precision = hits / n_pruned  # NaN when nothing is pruned
    recall = hits / n_noisy if n_noisy else torch.full_like(hits, math.nan)
    return torch.stack([n_pruned, precision, recall])


def train(
    model: nn.Module,
    data: TrainData,
    config: TrainConfig,
    *,
    T: np.ndarray | Tensor | None = None,
    checkpoint_path: str | os.PathLike[str] | None = None,
    progress: bool = False,
    desc: str = "",
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train ``model`` on ``data`` as ``config`` says; see the module docstring for the protocol.

    Args:
        model: a freshly initialised network (seed before building it: the seed fixes the init).
        data: training / validation / test splits (moved to the device here).
        config: the run's settings.
        T: (c, c) transition matrix for ``forward_t`` / ``forward_t_hat`` (Eq. 1).
        checkpoint_path: where to checkpoint each epoch; an existing checkpoint of the same
            configuration and data is resumed from.
        progress: show a tqdm bar over epochs (loss, validation and test accuracy).
        desc: the bar's label.
        on_epoch_end: called with each epoch's record after its checkpoint is written;
            raising (e.g. :class:`TrainingInterrupted`) stops training there.

    Returns:
        :class:`TrainResult`.

    Raises:
        TrainingDiverged: an epoch's training loss was not finite (with that epoch; the
            checkpoint of the epoch before is kept).
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    if not isinstance(data, TrainData):
        raise ValueError(f"data must be a TrainData, got {type(data).__name__}")
    needs_t = METHOD_INFO[config.method].needs_T
    if needs_t != (T is not None):
        raise ValueError(
            f"T must be given for the methods forward_t and forward_t_hat and only for them; "
            f"method {config.method!r} got {'no T' if T is None else 'a T'}"
        )
    device = pick_device(config.device)
    policy = training_policy(device, config.precision, config.compile)
    for note in policy.notes:
        warnings.warn(note, stacklevel=2)
    amp_dtype = policy.amp_dtype
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    data = data.to(device)
    n_train = data.x_train.shape[0]
    T_tensor = None if T is None else torch.as_tensor(T, dtype=torch.float32)
    # The labels were range-checked once (TrainData); the modules skip the per-batch host check.
    loss_fn = make_loss(config.method, q=config.q, k=config.k, T=T_tensor, num_samples=n_train, check_inputs=False).to(
        device
    )
    val_losses = tuple(loss.to(device) for loss in _validation_losses(config, T_tensor))

    model, step_model, compiled = prepare_model(model, config, policy)
    _check_output_width(model, data, config)
    best_model = copy.deepcopy(model)
    optimizer = make_optimizer(model, config, device)
    scaler = grad_scaler(policy)

    history: list[dict[str, Any]] = []
    best_epoch, best_val_acc, test_at_best = 0, -math.inf, math.nan
    wall_before = 0.0
    run_fingerprint = fingerprint(config, data, T_tensor)
    path = Path(checkpoint_path) if checkpoint_path is not None else None
    state = load_checkpoint(path, run_fingerprint, device, model)
    if state is not None:
        model.load_state_dict(state["model"])
        best_model.load_state_dict(state["best_model"])
        optimizer.load_state_dict(state["optimizer"])
        loss_fn.load_state_dict(state["loss"])
        if scaler is not None and "scaler" in state:  # the loss scale reached, when it ran in float16
            scaler.load_state_dict(state["scaler"])
        history = list(state["history"])
        best_epoch, best_val_acc, test_at_best = state["best_epoch"], state["best_val_acc"], state["test_at_best"]
        wall_before = state["wall_time_s"]
    start_epoch = len(history)

    mean = per_pixel_mean(data.x_train)
    n_noisy = int(data.is_noisy.sum())
    n_clean = n_train - n_noisy
    noisy_f = data.is_noisy.float()
    prune_at = set(pruning_epochs(config.epochs, config.prune_start, config.prune_every))
    truncated = METHOD_INFO[config.method].prunes
    all_index = torch.arange(n_train, device=device)
    nan = torch.tensor(math.nan, device=device)
    stopwatch = Stopwatch(device)
    started = time.perf_counter()

    bar = tqdm(
        total=config.epochs,
        initial=start_epoch,
        desc=desc or config.method,
        disable=not progress,
        leave=False,
        dynamic_ncols=True,
    )
    try:
        for epoch in range(start_epoch + 1, config.epochs + 1):
            epoch_start = time.perf_counter()
            torch.manual_seed(derived_seed(config.seed, "epoch", epoch))
            lr = learning_rate(epoch, config.lr, config.milestones, config.lr_decay)
            for group in optimizer.param_groups:
                group["lr"] = lr

            pruned_now = epoch in prune_at and truncated
            if pruned_now:  # Algorithm 1's pruning step, with the best-validation model so far
                logits = predict_logits(
                    best_model,
                    data.x_train,
                    mean,
                    batch_size=config.eval_batch_size,
                    amp_dtype=amp_dtype,
                    channels_last=config.channels_last,
                )
                loss_fn.prune(logits, data.y_train, all_index)

            order = torch.randperm(n_train, device=device)
            stopwatch.start()
            # sums: loss * batch, softmax of the label over clean and over noisy samples
            sums = train_epoch(
                model,
                step_model,
                loss_fn,
                optimizer,
                data.x_train,
                data.y_train,
                noisy_f,
                order,
                mean,
                config,
                amp_dtype,
                scaler,
            )
            stopwatch.stop()

            # Evaluation runs eagerly: the compiled graph stays the training-mode, full-batch one.
            val = _evaluate(model, data.x_val, data.y_val, mean, val_losses, config, amp_dtype)
            if config.test_every_epoch or epoch == config.epochs:
                test_correct = _evaluate(model, data.x_test, data.y_test, mean, (), config, amp_dtype)
            else:  # the best-validation model is tested once, after the last epoch
                test_correct = nan.reshape(1)
            prune = _prune_stats(loss_fn, data.is_noisy, n_noisy) if truncated else nan.expand(3)
            (
                loss_sum,
                soft_clean,
                soft_noisy,
                val_own,
                val_cce,
                val_correct,
                test_right,
                n_pruned,
                precision,
                recall,
            ) = torch.cat([sums, val, test_correct, prune]).tolist()  # the epoch's one sync
            if not math.isfinite(loss_sum):  # before its checkpoint: the last one kept is a finite epoch
                raise TrainingDiverged(epoch, loss_sum / n_train, lr)

            n_val, n_test = data.x_val.shape[0], data.x_test.shape[0]
            record = asdict(
                EpochRecord(
                    epoch=epoch,
                    lr=lr,
                    train_loss=loss_sum / n_train,
                    val_loss=val_own / n_val,
                    val_cce=val_cce / n_val,
                    val_acc=100.0 * val_correct / n_val,
                    test_acc=100.0 * test_right / n_test,
                    mean_softmax_clean=soft_clean / n_clean if n_clean else math.nan,
                    mean_softmax_noisy=soft_noisy / n_noisy if n_noisy else math.nan,
                    prune_step=pruned_now,
                    n_pruned=n_pruned,
                    prune_precision=precision,
                    prune_recall=recall,
                    train_time_s=stopwatch.seconds(),
                    epoch_time_s=time.perf_counter() - epoch_start,
                )
            )
            history.append(record)
            if record["val_acc"] > best_val_acc:
                best_epoch, best_val_acc, test_at_best = epoch, record["val_acc"], record["test_acc"]
                best_model.load_state_dict(model.state_dict())
            wall = wall_before + time.perf_counter() - started
            if path is not None:
                save_checkpoint(
                    path,
                    {
                        "format": CHECKPOINT_FORMAT,
                        "fingerprint": run_fingerprint,
                        "model": model.state_dict(),
                        "best_model": best_model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "loss": loss_fn.state_dict(),
                        "history": history,
                        "best_epoch": best_epoch,
                        "best_val_acc": best_val_acc,
                        "test_at_best": test_at_best,
                        "wall_time_s": wall,
                        **({} if scaler is None else {"scaler": scaler.state_dict()}),
                    },
                )
            bar.update(1)
            bar.set_postfix(
                loss=f"{record['train_loss']:.3f}", val=f"{record['val_acc']:.1f}", test=f"{record['test_acc']:.1f}"
            )
            if on_epoch_end is not None:
                on_epoch_end(record)
    finally:
        bar.close()

    last = history[-1]
    if not config.test_every_epoch and best_epoch != last["epoch"]:
        right = _evaluate(best_model, data.x_test, data.y_test, mean, (), config, amp_dtype).item()
        test_at_best = 100.0 * right / data.x_test.shape[0]
        history[best_epoch - 1] = {**history[best_epoch - 1], "test_acc": test_at_best}
    best_model.eval()
    return TrainResult(
        history=history,
        best_epoch=best_epoch,
        best_val_acc=best_val_acc,
        test_acc_best_val=test_at_best,
        test_acc_last=last["test_acc"],
        n_pruned_final=last["n_pruned"],
        pruning_precision=last["prune_precision"],
        pruning_recall=last["prune_recall"],
        best_model=best_model,
        mean=mean,
        device=device,
        amp_dtype=amp_dtype,
        compiled=compiled,
        wall_time_s=wall_before + time.perf_counter() - started,
        resumed_from_epoch=start_epoch,
        config=config,
    )
