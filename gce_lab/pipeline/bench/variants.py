"""One variant of a network timed: the plain loop, or the trainer's fast path.

* ``fast`` -- the trainer's own step (:func:`gce_lab.pipeline.train.train_step`, set up by
  :func:`gce_lab.pipeline.train.prepare_model` and :func:`gce_lab.pipeline.train.make_optimizer`):
  the images on the device as uint8, batched crop/flip/normalisation there, the device's autocast
  (:func:`gce_lab.pipeline.device.training_policy`: bfloat16, or float16 with gradient scaling, on
  CUDA), ``channels_last``, ``torch.compile`` where it can work (unless switched off), fused SGD, metrics
  summed on the device; on CUDA also ``fast_eager`` (the same without ``torch.compile``);
* ``fast_eager_batchxK`` -- the fast path, eager, with a K times larger batch: how much
  throughput a fuller GPU would give, i.e. the most that training K models at once could gain;
* ``baseline`` -- the plain loop (:mod:`gce_lab.pipeline.bench.plain_loop`).

Each is timed by :func:`gce_lab.pipeline.bench.timing.measure_steps` and summed up by the same
:func:`summary`; ``full_epoch`` also times one real epoch (the fast path's whole epoch is
:func:`gce_lab.pipeline.train.train_epoch`, and its evaluation
:func:`gce_lab.pipeline.train.predict_logits`).
"""

from __future__ import annotations

import copy
import math
import statistics
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor, nn

from gce_lab.methods import make_loss
from gce_lab.pipeline.augment import per_pixel_mean
from gce_lab.pipeline.bench.cases import BenchCase, fast_config
from gce_lab.pipeline.bench.plain_loop import endless, plain_loader, plain_optimizer, plain_step
from gce_lab.pipeline.bench.timing import count_step_flops, measure_steps, timed
from gce_lab.pipeline.device import training_policy
from gce_lab.pipeline.train import (
    grad_scaler,
    make_optimizer,
    predict_logits,
    prepare_model,
    train_epoch,
    train_step,
)

__all__ = ["summary", "run_baseline", "run_fast"]


def summary(
    name: str,
    case: BenchCase,
    batch_size: int,
    windows: list[tuple[float, int]],
    first_step_s: float,
    flops_per_step: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """A variant's numbers: images per second (median and range of the windows), step and epoch
    time, FLOPs and the achieved rate, and ``extra``."""
    rates = [images / seconds for seconds, images in windows]
    rate = statistics.median(rates)
    step_s = batch_size / rate
    return {
        "variant": name,
        "batch_size": batch_size,
        "first_step_s": first_step_s,
        "images_per_s": rate,
        "images_per_s_min": min(rates),
        "images_per_s_max": max(rates),
        "windows": [{"seconds": s, "images": i} for s, i in windows],
        "step_ms": 1000.0 * step_s,
        "epoch_s_extrapolated": case.epoch_images / rate,
        "flops_per_step": flops_per_step,
        "flops_per_image": flops_per_step / batch_size,
        "tflops": flops_per_step / step_s / 1e12,
        "gflops": flops_per_step / step_s / 1e9,
        **extra,
    }


def run_baseline(
    net: nn.Module, case: BenchCase, x: Tensor, y: Tensor, device: torch.device, opts: dict[str, Any]
) -> dict[str, Any]:
    """Time the plain loop on a copy of ``net`` (see :mod:`gce_lab.pipeline.bench.plain_loop`)."""
    bs = opts["batch_size"]
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False  # torch's default, as a plain script has it
    config = fast_config(bs, device, compile=False, augment=case.augment)
    model = copy.deepcopy(net).to(device)
    model.train()
    optimizer = plain_optimizer(model, config)
    loader = plain_loader(
        x,
        y,
        per_pixel_mean(x),
        batch_size=bs,
        augment=case.augment,
        workers=opts["workers"],
        pin_memory=device.type == "cuda",
        seed=opts["seed"],
    )
    running = [0.0]

    def steps_over(batches: Iterator[tuple[Tensor, Tensor]]) -> Callable[[], int]:
        def step() -> int:
            xb, yb = next(batches)
            running[0] += plain_step(model, optimizer, xb, yb, device)
            return xb.shape[0]

        return step

    batches = endless(loader)
    first, windows, syncs = measure_steps(steps_over(batches), opts, device)

    def flop_step() -> None:
        twin = copy.deepcopy(model)
        xb, yb = next(batches)
        plain_step(twin, plain_optimizer(twin, config), xb, yb, device)

    flops = count_step_flops(flop_step)
    extra: dict[str, Any] = {
        "path": "baseline",
        "compiled": False,
        "amp_dtype": None,
        "channels_last": False,
        "data_on_device": False,
        "workers": opts["workers"],
        "host_syncs_per_step": syncs,
    }
    if opts["full_epoch"]:  # the persistent workers are already running, as from the second epoch on
        seconds, images = timed(steps_over(iter(loader)), len(loader), device)
        extra.update(epoch_s_measured=seconds, epoch_images_measured=images)
    return summary("baseline", case, bs, windows, first, flops, extra)


def run_fast(
    name: str,
    net: nn.Module,
    case: BenchCase,
    x_dev: Tensor,
    y_dev: Tensor,
    device: torch.device,
    opts: dict[str, Any],
    *,
    compile: bool,
    batch_size: int,
    full_epoch: bool,
) -> dict[str, Any]:
    """Time the trainer's step on a copy of ``net`` (see the module docstring)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as gce_lab.pipeline.train.train sets it
    config = fast_config(
        batch_size, device, compile=compile, augment=case.augment, eval_batch_size=opts["eval_batch_size"]
    )
    policy = training_policy(device, config.precision, config.compile)
    amp_dtype, scaler = policy.amp_dtype, grad_scaler(policy)
    model, step_model, compiled = prepare_model(copy.deepcopy(net), config, policy)
    model.train()
    optimizer = make_optimizer(model, config, device)
    loss_fn = make_loss("cce", check_inputs=False).to(device)
    mean = per_pixel_mean(x_dev)
    n = x_dev.shape[0]
    noisy = torch.zeros(n, device=device)
    sums = torch.zeros(3, device=device)  # metrics stay on the device, as in the trainer
    per_perm = n // batch_size
    state = {"order": torch.randperm(n, device=device), "j": 0}

    def next_index() -> Tensor:
        if state["j"] == per_perm:
            state["order"], state["j"] = torch.randperm(n, device=device), 0
        j = state["j"]
        state["j"] += 1
        return state["order"][j * batch_size : (j + 1) * batch_size]

    def step_with(net_: nn.Module, opt: torch.optim.Optimizer) -> int:
        index = next_index()
        sums.add_(
            train_step(
                net_, loss_fn, opt, x_dev[index], y_dev[index], index, noisy[index], mean, config, amp_dtype, scaler
            )
        )
        return batch_size

    def epoch() -> int:
        order = torch.randperm(n, device=device)
        sums.add_(
            train_epoch(
                model, step_model, loss_fn, optimizer, x_dev, y_dev, noisy, order, mean, config, amp_dtype, scaler
            )
        )
        return n

    n_eval = min(n, 10_000)

    def evaluate() -> int:
        predict_logits(
            model, x_dev[:n_eval], mean, batch_size=opts["eval_batch_size"], amp_dtype=amp_dtype, channels_last=True
        )
        return n_eval

    first, windows, syncs = measure_steps(lambda: step_with(step_model, optimizer), opts, device)

    def flop_step() -> None:  # the same arithmetic, eagerly, on a copy
        twin = copy.deepcopy(model)
        step_with(twin, make_optimizer(twin, config, device))

    flops = count_step_flops(flop_step)
    extra: dict[str, Any] = {
        "path": "fast",
        "compiled": compiled,
        "amp_dtype": amp_dtype,
        "channels_last": True,
        "data_on_device": True,
        "workers": 0,
        "host_syncs_per_step": syncs,
    }
    if full_epoch:  # twice: the first meets the last batch's shape for the first time (autotuning)
        first_epoch, _ = timed(epoch, 1, device)
        seconds, _ = timed(epoch, 1, device)
        extra.update(first_epoch_s=first_epoch, epoch_s_measured=seconds, epoch_images_measured=n)
        evaluate()  # warm-up (autotuning of the evaluation shapes)
        seconds, images = timed(evaluate, 1, device)
        extra.update(eval_images_per_s=images / seconds, eval_batch_size=opts["eval_batch_size"])
        model.train()
    if not math.isfinite(sums.sum().item()):  # the one read of the metrics, after timing
        warnings.warn(f"{case.model} {name}: the training loss is not finite", stacklevel=2)
    return summary(name, case, batch_size, windows, first, flops, extra)
