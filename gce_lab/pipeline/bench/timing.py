"""The benchmark's clocks and counters: device time over a number of steps, the first step
alone, host synchronisations per step, the floating-point operations of one step, and the fp32
matrix-multiply rate that the achieved rates are read against.

Device time is the trainer's :class:`~gce_lab.pipeline.train.Stopwatch` (CUDA events on a
GPU, the host clock elsewhere); the first step, which compiles and autotunes, is wall time.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

from gce_lab.pipeline.train import Stopwatch

__all__ = ["timed", "measure_steps", "host_syncs_per_step", "count_step_flops", "matmul_gflops"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(fn: Callable[[], int], steps: int, device: torch.device) -> tuple[float, int]:
    """(seconds, images) of ``steps`` calls of ``fn`` (each returns its batch's image count),
    on a :class:`~gce_lab.pipeline.train.Stopwatch`."""
    watch = Stopwatch(device)
    watch.start()
    images = sum(fn() for _ in range(steps))
    watch.stop()
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # the stopwatch's events are read after a sync
    return watch.seconds(), images


def host_syncs_per_step(fn: Callable[[], Any], steps: int, device: torch.device) -> float | None:
    """Synchronising CUDA calls per step, counted with ``torch.cuda.set_sync_debug_mode``; None off CUDA."""
    if device.type != "cuda":
        return None
    _sync(device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            for _ in range(steps):
                fn()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    _sync(device)
    return sum("synchroniz" in str(w.message) for w in caught) / steps


def measure_steps(
    step: Callable[[], int], opts: dict[str, Any], device: torch.device
) -> tuple[float, list[tuple[float, int]], float | None]:
    """Time ``step`` (which returns the images it trained on): the first step alone (compilation,
    autotuning, worker start-up), ``warmup - 1`` more untimed, then ``repeats`` windows of
    ``steps`` steps; also the host syncs per step. Returns (first step s, windows, syncs)."""
    begin = time.perf_counter()
    step()
    _sync(device)
    first = time.perf_counter() - begin
    for _ in range(opts["warmup"] - 1):
        step()
    windows = [timed(step, opts["steps"], device) for _ in range(opts["repeats"])]
    return first, windows, host_syncs_per_step(step, 2, device)


def count_step_flops(step: Callable[[], Any]) -> int:
    """Floating-point operations of one call of ``step`` (matrix products and convolutions,
    forward and backward), counted by ``torch.utils.flop_counter.FlopCounterMode``."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return int(counter.get_total_flops())


def matmul_gflops(device: torch.device, size: int = 2048, repeats: int = 5) -> float:
    """The fp32 matrix-multiply rate (GFLOP/s) of ``device`` on ``size`` x ``size`` matrices, best
    of ``repeats`` products after one warm-up: the roof that a network's achieved rate is read
    against (convolutions are matrix products at heart)."""
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=g).to(device) for _ in range(2))
    a @ b
    best = math.inf
    for _ in range(repeats):
        seconds, _ = timed(lambda: (a @ b, 1)[1], 1, device)
        best = min(best, seconds)
    return 2 * size**3 / best / 1e9
