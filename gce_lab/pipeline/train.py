"""The trainer: any loss of :mod:`gce_lab.losses`, ACS pruning for truncated L_q, checkpoints.

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

The loop's building blocks (one batch, one epoch, prediction, schedules) are in
:mod:`gce_lab.pipeline.steps`, the settings and splits in :mod:`gce_lab.pipeline.train_config`,
checkpoints in :mod:`gce_lab.pipeline.checkpoints`.

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

import copy
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm  # the text bar: notebooks without ipywidgets get no warning

from gce_lab.losses import make_loss
from gce_lab.methods import METHOD_INFO
from gce_lab.pipeline.augment import per_pixel_mean, prepare_batch
from gce_lab.pipeline.checkpoints import CHECKPOINT_FORMAT, fingerprint, load_checkpoint, save_checkpoint
from gce_lab.pipeline.device import pick_device, training_policy
from gce_lab.pipeline.steps import (
    Stopwatch,
    autocast,
    batch_bounds,
    grad_scaler,
    learning_rate,
    make_optimizer,
    predict_logits,
    prepare_model,
    pruning_epochs,
    train_epoch,
)
from gce_lab.pipeline.train_config import TrainConfig, TrainData
from gce_lab.seeds import derived_seed

__all__ = ["TrainResult", "TrainingInterrupted", "TrainingDiverged", "train"]


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        history: one dict per epoch (keys: epoch, lr, train_loss, val_loss, val_cce, val_acc,
            test_acc, mean_softmax_clean, mean_softmax_noisy, prune_step, n_pruned,
            prune_precision, prune_recall, train_time_s (the training batches alone),
            epoch_time_s (everything); accuracies in percent).
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
            record = {
                "epoch": epoch,
                "lr": lr,
                "train_loss": loss_sum / n_train,
                "val_loss": val_own / n_val,
                "val_cce": val_cce / n_val,
                "val_acc": 100.0 * val_correct / n_val,
                "test_acc": 100.0 * test_right / n_test,
                "mean_softmax_clean": soft_clean / n_clean if n_clean else math.nan,
                "mean_softmax_noisy": soft_noisy / n_noisy if n_noisy else math.nan,
                "prune_step": pruned_now,
                "n_pruned": n_pruned,
                "prune_precision": precision,
                "prune_recall": recall,
                "train_time_s": stopwatch.seconds(),
                "epoch_time_s": time.perf_counter() - epoch_start,
            }
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
