"""What the benchmark trains: the networks and the shape of their data, the two sizes, the targets.

The images are random uint8 tensors of CIFAR-10 shape (3x32x32, ResNet-34, ``small_net``,
``cpu_net``) or Fashion-MNIST shape (1x28x28, ResNet-18): no files needed. Each network is
timed as its profile trains it (``cpu_net`` without augmentation, the others with). On a CPU the
default is the ``cpu`` profile's network alone, and its target is the trainer at least twice the
plain loop (``channels_last``, the images held as one uint8 tensor and normalised in batches, no
``DataLoader`` and no per-step host sync, evaluation without autograd). ``--size tiny`` runs
everything in seconds on a CPU (batch 4, a few steps, the same image shapes) so the tests
exercise it; its numbers say nothing about a GPU.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from gce_lab.datasets import DATASET_INFO
from gce_lab.pipeline.profiles import PROFILES
from gce_lab.pipeline.train import TrainConfig
from gce_lab.validation import check_choice, check_int

__all__ = [
    "BenchCase",
    "CASES",
    "DEFAULT_MODELS",
    "DEFAULT_CPU_MODELS",
    "LAB_EXPERIMENTS",
    "SIZES",
    "TARGETS",
    "MATMUL_SIZES",
    "options",
    "check_models",
    "synthetic_images",
    "fast_config",
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
def _case(model: str, dataset: str, *, profile: str = "paper", augment: bool = True) -> BenchCase:
    """A network on a data set's images, timed over the training split ``profile`` trains on."""
    info, settings = DATASET_INFO[dataset], PROFILES[profile]["default"]
    images = settings["train_subset"] or info.n_train
    epoch_images = images - round(settings["val_fraction"] * images)
    return BenchCase(model, dataset, info.image_shape, info.num_classes, epoch_images, augment)


CASES: dict[str, BenchCase] = {
    "resnet34": _case("resnet34", "cifar10"),
    "resnet18": _case("resnet18", "fashion_mnist"),
    "small_net": _case("small_net", "cifar10"),
    "wang_cnn": _case("wang_cnn", "cifar10"),
    "tiny_net": _case("tiny_net", "cifar10"),
    # the cpu profile: 90 % of its 12,500-image subset, no augmentation
    "cpu_net": _case("cpu_net", "cifar10", profile="cpu", augment=False),
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


def options(size: str, **overrides: Any) -> dict[str, Any]:
    """The size's settings with the overrides that are not None, checked."""
    opts = dict(SIZES[check_choice("size", size, tuple(SIZES))])
    opts.update({key: value for key, value in overrides.items() if value is not None})
    for key in ("batch_size", "warmup", "steps", "repeats", "check_steps", "eval_batch_size"):
        check_int(key, opts[key], 1)
    for key in ("probe_factor", "workers", "seed"):
        check_int(key, opts[key], 0)
    return opts


def check_models(models: Iterable[str] | None, device: torch.device) -> tuple[str, ...]:
    """The networks to time: ``models`` checked against :data:`CASES`, by default
    :data:`DEFAULT_MODELS` (on a CPU :data:`DEFAULT_CPU_MODELS`)."""
    default = DEFAULT_CPU_MODELS if device.type == "cpu" else DEFAULT_MODELS
    if isinstance(models, str):  # never read a name letter by letter
        raise ValueError(f"models must be a list of names (e.g. [{models!r}]), got the string {models!r}")
    chosen = tuple(default if models is None else models)
    if not chosen:
        raise ValueError(f"models must name at least one of {', '.join(CASES)}")
    for name in chosen:
        check_choice("models", name, tuple(CASES))
    return chosen


def synthetic_images(case: BenchCase, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` random uint8 images of the case's shape and random labels, on the CPU (never zeros:
    time on data like the real one)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, *case.image_shape), generator=g, dtype=torch.uint8)
    y = torch.randint(0, case.num_classes, (n,), generator=g)
    return x, y


def fast_config(
    batch_size: int, device: torch.device, *, compile: bool, augment: bool = True, eval_batch_size: int = 1024
) -> TrainConfig:
    """The trainer's fast-path settings (CCE; the loss does not change the speed much); the plain
    loop takes its optimiser's hyperparameters from them too."""
    return TrainConfig(
        "cce",
        epochs=1,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        augment=augment,
        compile=compile,
        channels_last=True,
        precision="auto",
        device=device.type,
    )
