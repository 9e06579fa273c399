"""The trainer's building blocks: the learning-rate and pruning schedules, one batch, one epoch,
batched prediction, the model and optimiser set-up, and a stopwatch for device work.

:func:`gce_lab.pipeline.train.train` is built from these; :mod:`gce_lab.pipeline.bench` times
them against a plain PyTorch loop. Nothing here synchronises the host with the device.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from typing import Any

import torch
from torch import Tensor, nn

from gce_lab.pipeline.augment import prepare_batch
from gce_lab.pipeline.device import TrainingPolicy
from gce_lab.pipeline.train_config import TrainConfig

__all__ = [
    "learning_rate",
    "pruning_epochs",
    "autocast",
    "batch_bounds",
    "predict_logits",
    "make_optimizer",
    "grad_scaler",
    "prepare_model",
    "train_step",
    "train_epoch",
    "Stopwatch",
]


def learning_rate(epoch: int, lr: float, milestones: tuple[int, ...], lr_decay: float) -> float:
    """Learning rate of 1-based ``epoch``: ``lr * lr_decay ** #{m in milestones : m < epoch}``.

    "Divided by 10 after 40 and 80 epochs" (Sec. 4.2): epochs 1-40 at lr, 41-80 at lr/10, 81- at lr/100.
    """
    return lr * lr_decay ** sum(1 for m in milestones if m < epoch)


def pruning_epochs(epochs: int, prune_start: int | None, prune_every: int | None) -> tuple[int, ...]:
    """The 1-based epochs *before* whose training a pruning step runs (Algorithm 1).

    Training uses all samples for the first ``prune_start`` epochs, then prunes every
    ``prune_every`` epochs: ``prune_start + 1, prune_start + 1 + prune_every, ... <= epochs``.
    """
    if prune_start is None:
        return ()
    return tuple(range(prune_start + 1, epochs + 1, prune_every))


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
