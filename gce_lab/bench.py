"""How fast does the trainer train? The fast path timed against a plain PyTorch loop.

``python -m gce_lab bench`` measures, in one process on one machine, for each network:

* ``baseline`` -- the usual PyTorch recipe: a ``DataLoader`` over uint8 images, each sample
  through torchvision transforms in worker processes (to float, per-pixel mean subtraction,
  ``RandomCrop(padding=4)``, ``RandomHorizontalFlip``), pinned memory, float32, eager,
  default memory format, ``cudnn.benchmark`` off (torch's default), SGD, cross entropy and
  ``running_loss += loss.item()`` (one host sync per step, as in the PyTorch tutorials);
* ``fast`` -- the trainer's own step (:func:`gce_lab.train.train_step`, set up by
  :func:`gce_lab.train.prepare_model` and :func:`gce_lab.train.make_optimizer`): the images on
  the device as uint8, batched crop/flip/normalisation there, bfloat16 autocast on CUDA,
  ``channels_last``, ``torch.compile`` on CUDA (unless switched off), fused SGD, metrics summed
  on the device; on CUDA also ``fast_eager`` (the same without ``torch.compile``);
* ``fast_eager_batchxK`` -- the fast path, eager, with a K times larger batch: how much
  throughput a fuller GPU would give, i.e. the most that training K models at once could gain.

Per variant: time of the first step (compilation and autotuning), images per second over
``repeats`` windows of ``steps`` steps after ``warmup`` steps (CUDA events; the host clock on
the CPU; median and range), seconds per epoch of the data set's training split (45 000
CIFAR-10 / 54 000 Fashion-MNIST images) extrapolated from that and, with ``--full-epoch``, one
real epoch timed, floating-point operations of one training step (forward and backward,
``torch.utils.flop_counter.FlopCounterMode``), the achieved TFLOP/s and the ratio to the
baseline; on CUDA also the host synchronisations per step (``torch.cuda.set_sync_debug_mode``).
Per network, the fast and the plain path also train a few steps from the same weights on the
same batches (no augmentation) and their losses are compared.

The images are random uint8 tensors of CIFAR-10 shape (3x32x32, ResNet-34, ``small_net``,
``cpu_net``) or Fashion-MNIST shape (1x28x28, ResNet-18): no files needed. Each network is
timed as its profile trains it (``cpu_net`` without augmentation, the others with). The
achieved GFLOP/s are read against the fp32 matrix-multiply rate measured at the start of the
same run (:func:`matmul_gflops`), the roof of what the device can do. On a CPU the default is
the ``cpu`` profile's network alone, and its target is the trainer at least twice the plain loop
(``channels_last``, the images held as one uint8 tensor and normalised in batches, no
``DataLoader`` and no per-step host sync, evaluation without autograd). ``--size tiny`` runs everything
in seconds on a CPU (batch 4, a few steps, the same image shapes) so the tests exercise it;
its numbers say nothing about a GPU.

:func:`lab_run` (``--lab-run``) is the other measurement: the ``lab`` profile's network trained
on clean CIFAR-10 (Table 1's lab settings with noise 0; ``fig1ab`` for Adam) with test
accuracy against cumulative training time, evaluation and compilation excluded (a one-epoch
warm-up on a slice compiles and autotunes first, then the weights are reset).

Results go to ``results/bench/<device>.json`` (``<device>-tiny.json`` for the tiny size,
``...-lab-run.json`` for the lab run), written atomically with provenance.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import platform
import re
import statistics
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gce_lab.augment import per_pixel_mean
from gce_lab.device import DEVICE_CHOICES, device_name, pick_device, resolve_amp_dtype
from gce_lab.experiments import RunSpec
from gce_lab.files import atomic_path
from gce_lab.losses import make_loss
from gce_lab.models import make_model
from gce_lab.profiles import run_settings
from gce_lab.provenance import git_commit, provenance
from gce_lab.results import results_root
from gce_lab.train import (
    TrainConfig,
    TrainData,
    make_optimizer,
    predict_logits,
    prepare_model,
    train,
    train_epoch,
    train_step,
)
from gce_lab.validation import check_choice

__all__ = [
    "CASES",
    "SIZES",
    "DEFAULT_MODELS",
    "DEFAULT_CPU_MODELS",
    "MATMUL_SIZES",
    "matmul_gflops",
    "LAB_EXPERIMENTS",
    "BenchCase",
    "device_slug",
    "default_workers",
    "synthetic_images",
    "plain_transform",
    "plain_loader",
    "plain_step",
    "count_step_flops",
    "compare_paths",
    "run_benchmark",
    "lab_run",
]


@dataclass(frozen=True)
class BenchCase:
    """A network and the shape of the data it trains on in the paper."""

    model: str
    dataset: str
    image_shape: tuple[int, int, int]
    num_classes: int
    epoch_images: int  # training split: 90 % of the training set (Sec. 4: 10 % held out)
    augment: bool = True  # random crops and flips, as the network's profile trains it


#: The benchmarked networks: the paper's (ResNet-34 on CIFAR, ResNet-18 on Fashion-MNIST), Table 2's
#: shallow CNN, the lab profile's network and the smoke-test one.
CASES: dict[str, BenchCase] = {
    "resnet34": BenchCase("resnet34", "cifar10", (3, 32, 32), 10, 45_000),
    "resnet18": BenchCase("resnet18", "fashion_mnist", (1, 28, 28), 10, 54_000),
    "small_net": BenchCase("small_net", "cifar10", (3, 32, 32), 10, 45_000),
    "wang_cnn": BenchCase("wang_cnn", "cifar10", (3, 32, 32), 10, 45_000),
    "tiny_net": BenchCase("tiny_net", "cifar10", (3, 32, 32), 10, 45_000),
    # the cpu profile: 90 % of its 12,500-image subset, no augmentation
    "cpu_net": BenchCase("cpu_net", "cifar10", (3, 32, 32), 10, 11_250, augment=False),
}
DEFAULT_MODELS = ("resnet34", "resnet18", "small_net")
#: On a CPU: the cpu profile's network (the others take minutes per step window there).
DEFAULT_CPU_MODELS = ("cpu_net",)
LAB_EXPERIMENTS = ("table1", "fig1ab")

#: Settings of each size: ``full`` for a GPU, ``tiny`` for a CPU in seconds (tests, dry runs).
#: ``pool``: images held (at least two batches; None: the data set's training split, so that an
#: epoch is a real one).
SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "batch_size": 128,
        "warmup": 20,
        "steps": 50,
        "repeats": 3,
        "pool": None,
        "probe_factor": 4,
        "check_steps": 5,
        "eval_batch_size": 4096,
        "lab_profile": "lab",
        "lab_warmup_batches": 20,
    },
    "tiny": {
        "batch_size": 4,
        "warmup": 1,
        "steps": 2,
        "repeats": 1,
        "pool": 16,
        "probe_factor": 2,
        "check_steps": 2,
        "eval_batch_size": 8,
        "lab_profile": "smoke",
        "lab_warmup_batches": 2,
    },
}
#: Targets: on one H100, fast/baseline throughput and epoch time of ResNet-34 and the lab run; on a
#: CPU, fast/baseline throughput of the cpu profile's network.
TARGETS = {
    "resnet34_speedup": 4.0,
    "resnet34_epoch_s": 5.0,
    "lab_test_acc": 90.0,
    "lab_train_time_s": 15.0,
    "cpu_net_speedup": 2.0,
}
#: Side of the square fp32 matrices whose product rate is the roof the GFLOP/s are read against.
MATMUL_SIZES = {"full": 2048, "tiny": 128}


# ----------------------------------------------------------------------------- argument checks


def _check_positive(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_models(models: Iterable[str] | None, device: torch.device) -> tuple[str, ...]:
    default = DEFAULT_CPU_MODELS if device.type == "cpu" else DEFAULT_MODELS
    if isinstance(models, str):  # never read a name letter by letter
        raise ValueError(f"models must be a list of names (e.g. [{models!r}]), got the string {models!r}")
    chosen = tuple(default if models is None else models)
    if not chosen:
        raise ValueError(f"models must name at least one of {', '.join(CASES)}")
    for name in chosen:
        check_choice("models", name, tuple(CASES))
    return chosen


# ----------------------------------------------------------------------------- small helpers


def _cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux), else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def device_slug(device: torch.device | str) -> str:
    """File-name form of the device, e.g. ``nvidia-h100-80gb-hbm3``, or ``cpu-<processor model>``
    (``cpu-amd-epyc``) for a CPU."""
    name = f"cpu {_cpu_model()}" if torch.device(device).type == "cpu" else device_name(device)
    return re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-") or "device"


def matmul_gflops(device: torch.device, size: int = 2048, repeats: int = 5) -> float:
    """The fp32 matrix-multiply rate (GFLOP/s) of ``device`` on ``size`` x ``size`` matrices, best
    of ``repeats`` products after one warm-up: the roof that a network's achieved rate is read
    against (convolutions are matrix products at heart)."""
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=g).to(device) for _ in range(2))
    a @ b
    best = math.inf
    for _ in range(repeats):
        seconds, _ = _timed(lambda: (a @ b, 1)[1], 1, device)
        best = min(best, seconds)
    return 2 * size**3 / best / 1e9


def default_workers(device: torch.device) -> int:
    """DataLoader workers of the baseline: ``min(8, cores // 2)`` when a GPU computes (the usual
    choice: enough to feed it, half the cores left for the main process and pinning threads),
    0 on a CPU (workers would compete with the training for the same cores)."""
    if device.type == "cpu":
        return 0
    return max(1, min(8, (os.cpu_count() or 2) // 2))


def synthetic_images(case: BenchCase, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` random uint8 images of the case's shape and random labels, on the CPU (never zeros:
    time on data like the real one)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, *case.image_shape), generator=g, dtype=torch.uint8)
    y = torch.randint(0, case.num_classes, (n,), generator=g)
    return x, y


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _timed(fn: Callable[[], int], steps: int, device: torch.device) -> tuple[float, int]:
    """(seconds, images) of ``steps`` calls of ``fn`` (each returns its batch's image count):
    CUDA events around the calls on a GPU, the host clock after a sync elsewhere."""
    images = 0
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            images += fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000.0, images
    _sync(device)
    begin = time.perf_counter()
    for _ in range(steps):
        images += fn()
    _sync(device)
    return time.perf_counter() - begin, images


def _host_syncs_per_step(fn: Callable[[], int], steps: int, device: torch.device) -> float | None:
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


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as JSON atomically (NaN -> null)."""
    with atomic_path(path) as tmp, open(tmp, "w") as handle:
        json.dump(_jsonable(payload), handle, indent=1, allow_nan=False)
        handle.write("\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "")
    return value


def _output_path(out: str | os.PathLike[str] | None, device: torch.device, size: str, suffix: str = "") -> Path:
    """``out``; a folder (existing, or written with a trailing slash) gets the default file name."""
    name = f"{device_slug(device)}{'-tiny' if size == 'tiny' else ''}{suffix}.json"
    if out is None:
        return results_root() / "bench" / name
    text = os.fspath(out)
    path = Path(text)
    return path / name if path.is_dir() or text.endswith(("/", os.sep)) else path


def _environment(device: torch.device) -> dict[str, Any]:
    env = {"python": platform.python_version(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            multiprocessors=props.multi_processor_count,
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
            matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32,
        )
    return env


def _provenance(device: torch.device, profile: str, seed: int, started: float, command: str | None) -> dict[str, Any]:
    """:func:`gce_lab.provenance.provenance` with the wall time since ``started``."""
    return provenance(device, profile=profile, seed=seed, wall_time_s=time.perf_counter() - started, command=command)


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, flush=True)


# ----------------------------------------------------------------------------- the plain baseline


class _SubtractMean(nn.Module):
    """``x - mean``: the paper's per-pixel mean subtraction as a per-sample transform."""

    def __init__(self, mean: Tensor) -> None:
        super().__init__()
        self.mean = mean

    def forward(self, x: Tensor) -> Tensor:
        return x - self.mean


class _PlainImages(torch.utils.data.Dataset):
    """uint8 images ``(N, C, H, W)`` with labels, each image through ``transform`` when read
    (a ``TensorDataset`` with transforms)."""

    def __init__(self, x_uint8: Tensor, labels: Tensor, transform: Callable[[Tensor], Tensor]) -> None:
        self.x, self.y, self.transform = x_uint8, labels, transform

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.transform(self.x[i]), self.y[i]


def plain_transform(mean: Tensor, augment: bool = True, padding: int = 4) -> Callable[[Tensor], Tensor]:
    """The per-sample torchvision pipeline of the baseline, computing what
    :func:`gce_lab.augment.prepare_batch` computes: ``x / 255``, minus the per-pixel mean,
    then (``augment``) zero padding by ``padding`` with a random crop back to size and a
    random horizontal flip."""
    from torchvision.transforms import v2

    steps: list[Callable[[Tensor], Tensor]] = [v2.ToDtype(torch.float32, scale=True), _SubtractMean(mean.cpu())]
    if augment:
        steps += [v2.RandomCrop(tuple(mean.shape[-2:]), padding=padding), v2.RandomHorizontalFlip()]
    return v2.Compose(steps)


def plain_loader(
    x_uint8: Tensor,
    labels: Tensor,
    mean: Tensor,
    *,
    batch_size: int,
    augment: bool = True,
    shuffle: bool = True,
    workers: int = 0,
    pin_memory: bool = False,
    seed: int = 0,
) -> torch.utils.data.DataLoader:
    """The baseline's ``DataLoader`` (persistent workers when ``workers > 0``)."""
    dataset = _PlainImages(x_uint8, labels, plain_transform(mean, augment))
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(seed),
    )


def plain_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor, device: torch.device) -> float:
    """One step of the plain loop: copy the batch over, float32 forward, cross entropy, backward,
    optimiser step; returns ``loss.item()`` like a tutorial's running-loss bookkeeping (a sync)."""
    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def _plain_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """torch's default SGD (foreach on CUDA), with the fast path's hyperparameters."""
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def _endless(loader: torch.utils.data.DataLoader) -> Iterable[tuple[Tensor, Tensor]]:
    while True:
        yield from loader


# ----------------------------------------------------------------------------- FLOPs and agreement


def count_step_flops(step: Callable[[], Any]) -> int:
    """Floating-point operations of one call of ``step`` (matrix products and convolutions,
    forward and backward), counted by ``torch.utils.flop_counter.FlopCounterMode``."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return int(counter.get_total_flops())


def _fast_config(
    batch_size: int, device: torch.device, *, compile: bool, augment: bool = True, eval_batch_size: int = 1024
) -> TrainConfig:
    """The trainer's fast-path settings (CCE; the loss does not change the speed much)."""
    return TrainConfig(
        "cce",
        epochs=1,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        augment=augment,
        compile=compile,
        channels_last=True,
        amp_dtype="auto",
        device=device.type,
    )


def compare_paths(
    model: nn.Module, x_uint8: Tensor, labels: Tensor, *, steps: int, batch_size: int, device: torch.device
) -> dict[str, Any]:
    """Train copies of ``model`` for ``steps`` steps on the same batches (in order, no augmentation),
    once on the plain path (DataLoader, float32, contiguous, eager) and once on the fast path
    (:func:`gce_lab.train.train_step`, channels_last, autocast as on the device, eager), and
    compare the losses of each step. On a CPU both are float32 and agree to rounding."""
    n = steps * batch_size
    if x_uint8.shape[0] < n:
        raise ValueError(f"steps * batch_size must be at most the {x_uint8.shape[0]} images given, got {n}")
    x, y = x_uint8[:n], labels[:n]
    mean = per_pixel_mean(x)
    config = _fast_config(batch_size, device, compile=False, augment=False)
    amp_dtype = resolve_amp_dtype(config.amp_dtype, device)

    plain_model = copy.deepcopy(model).to(device)
    plain_model.train()
    optimizer = _plain_optimizer(plain_model, config)
    loader = plain_loader(x, y, mean, batch_size=batch_size, augment=False, shuffle=False)
    plain = [plain_step(plain_model, optimizer, xb, yb, device) for xb, yb in loader]

    fast_model, _, _ = prepare_model(copy.deepcopy(model), config, device)
    fast_model.train()
    optimizer = make_optimizer(fast_model, config, device)
    loss_fn = make_loss("cce", check_inputs=False)
    x_dev, y_dev, mean_dev = x.to(device), y.to(device), mean.to(device)
    noisy = torch.zeros(n, device=device)
    stats = []
    for s in range(steps):
        index = torch.arange(s * batch_size, (s + 1) * batch_size, device=device)
        stats.append(
            train_step(
                fast_model,
                loss_fn,
                optimizer,
                x_dev[index],
                y_dev[index],
                index,
                noisy[index],
                mean_dev,
                config,
                amp_dtype,
            )[0]
            / batch_size
        )
    fast = torch.stack(stats).tolist()
    diffs = [abs(a - b) for a, b in zip(plain, fast)]
    return {
        "steps": steps,
        "batch_size": batch_size,
        "amp_dtype": amp_dtype,
        "plain_losses": plain,
        "fast_losses": fast,
        "max_abs_diff": max(diffs),
        "max_rel_diff": max(d / max(abs(a), 1e-12) for d, a in zip(diffs, plain)),
    }


# ----------------------------------------------------------------------------- one variant


def _measure_steps(
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
    windows = [_timed(step, opts["steps"], device) for _ in range(opts["repeats"])]
    return first, windows, _host_syncs_per_step(step, 2, device)


def _summary(
    name: str,
    case: BenchCase,
    batch_size: int,
    windows: list[tuple[float, int]],
    first_step_s: float,
    flops_per_step: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
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


def _run_baseline(
    net: nn.Module,
    case: BenchCase,
    x: Tensor,
    y: Tensor,
    device: torch.device,
    opts: dict[str, Any],
) -> dict[str, Any]:
    """Time the plain loop (see the module docstring)."""
    bs = opts["batch_size"]
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False  # torch's default, as a plain script has it
    config = _fast_config(bs, device, compile=False, augment=case.augment)
    model = copy.deepcopy(net).to(device)
    model.train()
    optimizer = _plain_optimizer(model, config)
    mean = per_pixel_mean(x)
    loader = plain_loader(
        x,
        y,
        mean,
        batch_size=bs,
        augment=case.augment,
        workers=opts["workers"],
        pin_memory=device.type == "cuda",
        seed=opts["seed"],
    )
    batches = _endless(loader)
    running = [0.0]

    def step() -> int:
        xb, yb = next(batches)
        running[0] += plain_step(model, optimizer, xb, yb, device)
        return xb.shape[0]

    first, windows, syncs = _measure_steps(step, opts, device)

    def flop_step() -> None:
        twin = copy.deepcopy(model)
        xb, yb = next(batches)
        plain_step(twin, _plain_optimizer(twin, config), xb, yb, device)

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
    if opts["full_epoch"]:
        epoch = iter(loader)  # the persistent workers are already running, as from the second epoch on

        def epoch_step() -> int:
            xb, yb = next(epoch)
            running[0] += plain_step(model, optimizer, xb, yb, device)
            return xb.shape[0]

        seconds, images = _timed(epoch_step, len(loader), device)
        extra.update(epoch_s_measured=seconds, epoch_images_measured=images)
    return _summary("baseline", case, bs, windows, first, flops, extra)


def _run_fast(
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
    """Time the trainer's step (see the module docstring)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as gce_lab.train.train sets it
    config = _fast_config(
        batch_size, device, compile=compile, augment=case.augment, eval_batch_size=opts["eval_batch_size"]
    )
    amp_dtype = resolve_amp_dtype(config.amp_dtype, device)
    model, step_model, compiled = prepare_model(copy.deepcopy(net), config, device)
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
            train_step(net_, loss_fn, opt, x_dev[index], y_dev[index], index, noisy[index], mean, config, amp_dtype)
        )
        return batch_size

    def step() -> int:
        return step_with(step_model, optimizer)

    def epoch() -> int:
        order = torch.randperm(n, device=device)
        sums.add_(
            train_epoch(model, step_model, loss_fn, optimizer, x_dev, y_dev, noisy, order, mean, config, amp_dtype)
        )
        return n

    n_eval = min(n, 10_000)

    def evaluate() -> int:
        predict_logits(
            model, x_dev[:n_eval], mean, batch_size=opts["eval_batch_size"], amp_dtype=amp_dtype, channels_last=True
        )
        return n_eval

    first, windows, syncs = _measure_steps(step, opts, device)

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
        first_epoch, _ = _timed(epoch, 1, device)
        seconds, _ = _timed(epoch, 1, device)
        extra.update(first_epoch_s=first_epoch, epoch_s_measured=seconds, epoch_images_measured=n)
        evaluate()  # warm-up (autotuning of the evaluation shapes)
        seconds, images = _timed(evaluate, 1, device)
        extra.update(eval_images_per_s=images / seconds, eval_batch_size=opts["eval_batch_size"])
        model.train()
    if not math.isfinite(sums.sum().item()):  # the one read of the metrics, after timing
        warnings.warn(f"{case.model} {name}: the training loss is not finite", stacklevel=2)
    return _summary(name, case, batch_size, windows, first, flops, extra)


# ----------------------------------------------------------------------------- the benchmark


def _options(size: str, **overrides: Any) -> dict[str, Any]:
    """The size's settings with the overrides that are not None, checked."""
    opts = dict(SIZES[check_choice("size", size, tuple(SIZES))])
    opts.update({key: value for key, value in overrides.items() if value is not None})
    for key in ("batch_size", "warmup", "steps", "repeats", "check_steps", "eval_batch_size"):
        _check_positive(key, opts[key])
    for key in ("probe_factor", "workers", "seed"):
        _check_positive(key, opts[key], 0)
    return opts


def _cpu_target(models: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The cpu profile's target: the trainer's path at least ``cpu_net_speedup`` x the plain loop."""
    net = next((m for m in models if m["model"] == "cpu_net"), None)
    if net is None:
        return None
    fast = next(v for v in net["variants"] if v["variant"] == "fast")
    if "error" in fast:
        return {"error": fast["error"]}
    speedup = fast["speedup_vs_baseline"]
    return {"value": speedup, "target": TARGETS["cpu_net_speedup"], "met": speedup >= TARGETS["cpu_net_speedup"]}


def _targets(device: torch.device, models: list[dict[str, Any]]) -> dict[str, Any]:
    """The ResNet-34 targets, judged only on a GPU (they are stated for one H100); on a CPU, the
    cpu profile's speed-up target."""
    out: dict[str, Any] = {
        "applies": device.type == "cuda",
        "note": "GPU targets are stated for one H100; other devices are reported, not judged",
    }
    if device.type == "cpu" and (cpu := _cpu_target(models)) is not None:
        out["cpu_net_speedup"] = cpu
    resnet = next((m for m in models if m["model"] == "resnet34"), None)
    if resnet is None:
        return out
    by_name = {v["variant"]: v for v in resnet["variants"]}
    fast, base = by_name["fast"], by_name["baseline"]
    if "error" in fast:
        out["resnet34_error"] = fast["error"]
        return out
    epoch = fast.get("epoch_s_measured", fast["epoch_s_extrapolated"])
    speedup = fast["images_per_s"] / base["images_per_s"]
    applies = out["applies"]
    out["resnet34_speedup"] = {
        "value": speedup,
        "target": TARGETS["resnet34_speedup"],
        "met": speedup >= TARGETS["resnet34_speedup"] if applies else None,
    }
    out["resnet34_epoch_s"] = {
        "value": epoch,
        "target": TARGETS["resnet34_epoch_s"],
        "measured": "epoch_s_measured" in fast,
        "met": epoch <= TARGETS["resnet34_epoch_s"] if applies else None,
    }
    return out


def _table(models: list[dict[str, Any]]) -> str:
    """Text table: throughput, step time, epoch time (extrapolated to the training split, and the
    measured epoch of the images held, if any), TFLOP/s, ratio to the baseline, first step."""
    lines = [
        f"{'model':10s} {'variant':20s} {'img/s':>9s} {'ms/step':>8s} {'s/epoch':>8s} {'measured':>9s} "
        f"{'GFLOP/s':>8s} {'x base':>7s} {'1st step':>8s}"
    ]
    for m in models:
        for v in m["variants"]:
            if "error" in v:
                lines.append(f"{m['model']:10s} {v['variant']:20s} failed: {v['error'][:60]}")
                continue
            measured = v.get("epoch_s_measured")
            lines.append(
                f"{m['model']:10s} {v['variant']:20s} {v['images_per_s']:9.1f} {v['step_ms']:8.2f} "
                f"{v['epoch_s_extrapolated']:8.2f} {'-' if measured is None else f'{measured:.2f}':>9s} "
                f"{v['gflops']:8.1f} {v['speedup_vs_baseline']:7.2f} {v['first_step_s']:8.2f}"
            )
    return "\n".join(lines)


def run_benchmark(
    size: str = "full",
    models: Sequence[str] | None = None,
    *,
    device: str = "auto",
    out: str | os.PathLike[str] | None = None,
    steps: int | None = None,
    warmup: int | None = None,
    repeats: int | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    probe_factor: int | None = None,
    compile: bool = True,
    full_epoch: bool = False,
    seed: int = 0,
    command: str | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Time the plain loop and the fast path for each of ``models`` and write the results file.

    Args:
        size: ``"full"`` (a GPU: batch 128, 20 warm-up steps, 3 windows of 50 steps, the whole
            training split held) or ``"tiny"`` (a CPU in seconds: batch 4, 16 images).
        models: names in :data:`CASES` (default :data:`DEFAULT_MODELS`, on a CPU
            :data:`DEFAULT_CPU_MODELS`).
        device: ``"auto"``, ``"cuda"``, ``"mps"`` or ``"cpu"``.
        out: results file, or a folder for the default name ``<device>[-tiny].json``
            (default folder: ``results/bench``).
        steps, warmup, repeats, batch_size: override the size's settings.
        workers: baseline DataLoader workers (default :func:`default_workers`).
        probe_factor: K of the ``fast_eager_batchxK`` variant (0: none).
        compile: ``torch.compile`` the fast path (CUDA only).
        full_epoch: also time one real epoch of each path (two for the fast one).
        seed: seeds the images, the initial weights and the batches.
        command: the command line recorded in the provenance (default: this process's).
        quiet: print nothing.

    Returns:
        The results (also written to the file, path under ``"path"``).
    """
    dev = pick_device(check_choice("device", device, DEVICE_CHOICES))
    models = _check_models(models, dev)
    if not isinstance(compile, bool) or not isinstance(full_epoch, bool):
        raise ValueError(f"compile and full_epoch must be True or False, got {compile!r} and {full_epoch!r}")
    opts = _options(
        size,
        steps=steps,
        warmup=warmup,
        repeats=repeats,
        batch_size=batch_size,
        workers=default_workers(dev) if workers is None else workers,
        probe_factor=probe_factor,
        seed=seed,
    )
    opts["full_epoch"] = full_epoch
    path = _output_path(out, dev, size)
    git_commit()  # read (and cached) now: the code that runs, not a commit made meanwhile
    started = time.perf_counter()
    compiled_fast = compile and dev.type == "cuda"
    payload: dict[str, Any] = {
        "benchmark": "throughput",
        "size": size,
        "device": device_name(dev),
        "complete": False,
        "settings": {
            **{
                k: opts[k]
                for k in (
                    "batch_size",
                    "warmup",
                    "steps",
                    "repeats",
                    "workers",
                    "probe_factor",
                    "check_steps",
                    "eval_batch_size",
                    "seed",
                )
            },
            "compile": compiled_fast,
            "full_epoch": full_epoch,
            "models": list(models),
        },
        "environment": _environment(dev),
        "models": [],
    }
    _say(f"benchmark ({size}) on {device_name(dev)}; results -> {path}", quiet)
    roof = matmul_gflops(dev, MATMUL_SIZES[size])
    payload["matmul_roof"] = {"dtype": "float32", "size": MATMUL_SIZES[size], "gflops": roof}
    _say(f"  fp32 matrix multiply ({MATMUL_SIZES[size]}^3): {roof:.1f} GFLOP/s", quiet)
    for name in models:
        case = CASES[name]
        n = max(opts["pool"], 2 * opts["batch_size"]) if opts["pool"] else case.epoch_images
        if n < opts["batch_size"]:
            raise ValueError(f"batch_size must be at most the {n} training images of {name}, got {opts['batch_size']}")
        x, y = synthetic_images(case, max(n, opts["check_steps"] * opts["batch_size"]), seed)
        torch.manual_seed(seed)
        net = make_model(name, case.num_classes, case.image_shape[0])
        variants = [_run_baseline(net, case, x[:n], y[:n], dev, opts)]
        _say(f"  {name}: baseline {variants[-1]['images_per_s']:.1f} img/s", quiet)
        x_dev, y_dev = x[:n].to(dev), y[:n].to(dev)
        runs = [("fast", compiled_fast, opts["batch_size"], full_epoch)]
        if compiled_fast:
            runs.append(("fast_eager", False, opts["batch_size"], full_epoch))
        if opts["probe_factor"] > 1:
            k = opts["probe_factor"]
            if n >= k * opts["batch_size"]:
                runs.append((f"fast_eager_batchx{k}", False, k * opts["batch_size"], False))
        for variant, comp, bs, epoch in runs:
            try:
                variants.append(
                    _run_fast(
                        variant, net, case, x_dev, y_dev, dev, opts, compile=comp, batch_size=bs, full_epoch=epoch
                    )
                )
                _say(
                    f"  {name}: {variant} {variants[-1]['images_per_s']:.1f} img/s "
                    f"(first step {variants[-1]['first_step_s']:.1f} s)",
                    quiet,
                )
            except Exception as err:  # e.g. the compiler: record it, keep the other variants' numbers
                variants.append({"variant": variant, "error": f"{type(err).__name__}: {err}"})
                _say(f"  {name}: {variant} failed: {variants[-1]['error']}", quiet)
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
        measured = [v for v in variants if "error" not in v]
        for v in measured:
            v["speedup_vs_baseline"] = v["images_per_s"] / variants[0]["images_per_s"]
            v["fraction_of_matmul_roof"] = v["gflops"] / roof
        agreement = compare_paths(net, x, y, steps=opts["check_steps"], batch_size=opts["batch_size"], device=dev)
        payload["models"].append(
            {
                "model": name,
                "dataset_shape": case.dataset,
                "image_shape": list(case.image_shape),
                "epoch_images": case.epoch_images,
                "pool_images": n,
                "variants": variants,
                "flops_equal": len({v["flops_per_image"] for v in measured}) == 1,
                "agreement": agreement,
            }
        )
        del x_dev, y_dev
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        payload["targets"] = _targets(dev, payload["models"])
        payload["provenance"] = _provenance(dev, f"bench-{size}", seed, started, command)
        _write_json(path, payload)  # after every model: a run cut short keeps what it measured
    payload["complete"] = True
    payload["provenance"] = _provenance(dev, f"bench-{size}", seed, started, command)
    _write_json(path, payload)
    _say(_table(payload["models"]), quiet)
    if device_name(dev).startswith("cpu"):
        _say("(CPU numbers: they say nothing about a GPU)", quiet)
    payload["path"] = str(path)
    return payload


# ----------------------------------------------------------------------------- time to accuracy


_DATA_TITLES = {
    "snapshot:cifar10_jpeg": "CIFAR-10-JPEG (the lossy offline snapshot)",
    "torchvision": "CIFAR-10",
    "synthetic": "synthetic CIFAR-10-shaped images (pipeline check only)",
}


def _slice(data: TrainData, n_train: int, n_eval: int) -> TrainData:
    return TrainData(
        data.x_train[:n_train],
        data.y_train[:n_train],
        data.is_noisy[:n_train],
        data.x_val[:n_eval],
        data.y_val[:n_eval],
        data.x_test[:n_eval],
        data.y_test[:n_eval],
        data.num_classes,
    )


def _lab_one(
    experiment: str, profile: str, opts: dict[str, Any], device: str, compile: bool | None, seed: int, quiet: bool
) -> dict[str, Any]:
    from gce_lab.runner import build_run_data, run_config

    settings = run_settings(profile, experiment, "cifar10")
    run = RunSpec(experiment, profile, "cifar10", "cce", float(settings["q"]), float(settings["k"]), "none0", seed)
    data, meta = build_run_data(run, settings)
    config = run_config(run, settings, device=device, compile=compile)
    torch.manual_seed(seed)
    model = make_model(settings["model"], data.num_classes, data.x_train.shape[1])
    initial = copy.deepcopy(model.state_dict())
    n_train = data.x_train.shape[0]
    # Warm-up on a slice with the same batch shapes (full batches and the last, shorter one):
    # compiles the training graph of this very model object and autotunes, then the weights reset.
    warm_n = min(n_train, opts["lab_warmup_batches"] * config.batch_size + n_train % config.batch_size)
    begin = time.perf_counter()
    train(
        model,
        _slice(data, warm_n, min(256, data.x_val.shape[0], data.x_test.shape[0])),
        dataclasses.replace(config, epochs=1),
    )
    warmup_s = time.perf_counter() - begin
    model.load_state_dict(initial)
    begin = time.perf_counter()
    result = train(model, data, config)
    wall = time.perf_counter() - begin
    cumulative, rows, reached = 0.0, [], None
    for h in result.history:
        cumulative += h["train_time_s"]
        rows.append(
            {
                "epoch": h["epoch"],
                "test_acc": h["test_acc"],
                "val_acc": h["val_acc"],
                "train_loss": h["train_loss"],
                "train_time_s": h["train_time_s"],
                "cumulative_train_time_s": cumulative,
                "epoch_time_s": h["epoch_time_s"],
            }
        )
        if reached is None and h["test_acc"] >= TARGETS["lab_test_acc"]:
            reached = cumulative
    applies = result.device.type == "cuda" and profile == "lab"
    report = {
        "experiment": experiment,
        "profile": profile,
        "dataset": "cifar10",
        "data_source": meta["data_source"],
        "data_title": _DATA_TITLES.get(meta["data_source"], meta["data_source"]),
        "noise": "none",
        "method": "cce",
        "model": settings["model"],
        "epochs": config.epochs,
        "optimizer": config.optimizer,
        "lr": config.lr,
        "milestones": list(config.milestones),
        "batch_size": config.batch_size,
        "n_train": n_train,
        "n_val": data.x_val.shape[0],
        "n_test": data.x_test.shape[0],
        "compiled": result.compiled,
        "amp_dtype": result.amp_dtype,
        "channels_last": config.channels_last,
        "warmup_s": warmup_s,
        "warmup_train_images": warm_n,
        "per_epoch": rows,
        "total_train_time_s": cumulative,
        "wall_s": wall,
        "final_test_acc": result.test_acc_last,
        "best_test_acc": max(r["test_acc"] for r in rows),
        "test_acc_at_best_val": result.test_acc_best_val,
        "target": {
            "test_acc": TARGETS["lab_test_acc"],
            "train_time_s": TARGETS["lab_train_time_s"],
            "time_to_target_s": reached,
            "applies": applies,
            "met": (reached is not None and reached <= TARGETS["lab_train_time_s"]) if applies else None,
        },
    }
    _say(
        f"  {experiment} ({profile}, {settings['model']}, {report['data_title']}): test accuracy "
        f"{result.test_acc_last:.2f} % after {cumulative:.2f} s of training "
        f"({config.epochs} epochs; warm-up {warmup_s:.1f} s)",
        quiet,
    )
    return report


def lab_run(
    size: str = "full",
    experiments: Sequence[str] = ("table1",),
    *,
    device: str = "auto",
    out: str | os.PathLike[str] | None = None,
    compile: bool | None = None,
    seed: int = 0,
    command: str | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Time to accuracy of the lab profile on clean CIFAR-10; writes ``<device>[-tiny]-lab-run.json``.

    For each experiment (``"table1"``: SGD as in Table 1; ``"fig1ab"``: Adam, as Fig. 1a), the
    profile's network is trained with the profile's settings on the real CIFAR-10 training split
    (noise 0; 10 % held out) and tested on the clean test set after every epoch; the report lists
    test accuracy against cumulative training time (training batches only, CUDA events; no
    evaluation, no compilation: a one-epoch warm-up on a slice compiles first). ``size="tiny"``
    uses the smoke profile (synthetic images, ``tiny_net``) to check the pipeline on a CPU.
    ``compile`` overrides the profile's switch.
    """
    opts = _options(size, workers=0, seed=seed)
    chosen = tuple(experiments)
    if not chosen:
        raise ValueError(f"experiments must name at least one of {', '.join(LAB_EXPERIMENTS)}")
    for name in chosen:
        check_choice("experiments", name, LAB_EXPERIMENTS)
    dev = pick_device(check_choice("device", device, DEVICE_CHOICES))
    if compile is not None and not isinstance(compile, bool):
        raise ValueError(f"compile must be True, False or None, got {compile!r}")
    path = _output_path(out, dev, size, "-lab-run")
    profile = opts["lab_profile"]
    git_commit()  # read (and cached) now: the code that runs, not a commit made meanwhile
    started = time.perf_counter()
    _say(f"lab run ({profile} profile) on {device_name(dev)}; results -> {path}", quiet)
    payload: dict[str, Any] = {
        "benchmark": "lab_time_to_accuracy",
        "size": size,
        "device": device_name(dev),
        "environment": _environment(dev),
        "runs": [],
    }
    for experiment in chosen:
        payload["runs"].append(_lab_one(experiment, profile, opts, dev.type, compile, seed, quiet))
        payload["provenance"] = _provenance(dev, profile, seed, started, command)
        _write_json(path, payload)
    payload["path"] = str(path)
    return payload
