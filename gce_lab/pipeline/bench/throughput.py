"""How fast does the trainer train? The fast path timed against a plain PyTorch loop.

``python -m gce_lab bench`` measures, in one process on one machine, for each network of
:data:`~gce_lab.pipeline.bench.cases.CASES`, the variants of
:mod:`gce_lab.pipeline.bench.variants`: the plain loop (``baseline``) and the trainer's fast
path (``fast``, on CUDA also ``fast_eager``, and ``fast_eager_batchxK``).

Per variant: time of the first step (compilation and autotuning), images per second over
``repeats`` windows of ``steps`` steps after ``warmup`` steps (CUDA events; the host clock on
the CPU; median and range), seconds per epoch of the data set's training split (45 000
CIFAR-10 / 54 000 Fashion-MNIST images) extrapolated from that and, with ``--full-epoch``, one
real epoch timed, floating-point operations of one training step (forward and backward,
``torch.utils.flop_counter.FlopCounterMode``), the achieved TFLOP/s and the ratio to the
baseline; on CUDA also the host synchronisations per step (``torch.cuda.set_sync_debug_mode``).
Per network, the fast and the plain path also train a few steps from the same weights on the
same batches (no augmentation) and their losses are compared
(:func:`~gce_lab.pipeline.bench.agreement.compare_paths`). The achieved GFLOP/s are read against
the fp32 matrix-multiply rate measured at the start of the same run
(:func:`~gce_lab.pipeline.bench.timing.matmul_gflops`), the roof of what the device can do.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import torch

from gce_lab.pipeline.bench.agreement import compare_paths
from gce_lab.pipeline.bench.cases import CASES, MATMUL_SIZES, TARGETS, check_models, options, synthetic_images
from gce_lab.pipeline.bench.output import check_output, environment, output_path, run_provenance, say, table, write_json
from gce_lab.pipeline.bench.plain_loop import default_workers
from gce_lab.pipeline.bench.timing import matmul_gflops
from gce_lab.pipeline.bench.variants import run_baseline, run_fast
from gce_lab.pipeline.device import DEVICE_CHOICES, device_name, pick_device, training_policy
from gce_lab.pipeline.models import make_model
from gce_lab.pipeline.provenance import git_commit
from gce_lab.validation import check_choice

__all__ = ["run_benchmark"]

#: The size's settings recorded in the results file.
_SETTINGS = (
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
        models: names in :data:`~gce_lab.pipeline.bench.cases.CASES` (default
            :data:`~gce_lab.pipeline.bench.cases.DEFAULT_MODELS`, on a CPU
            :data:`~gce_lab.pipeline.bench.cases.DEFAULT_CPU_MODELS`).
        device: ``"auto"``, ``"cuda"``, ``"mps"`` or ``"cpu"``.
        out: results file, or a folder for the default name ``<device>[-tiny].json``
            (default folder: ``results/bench``).
        steps, warmup, repeats, batch_size: override the size's settings.
        workers: baseline DataLoader workers (default
            :func:`~gce_lab.pipeline.bench.plain_loop.default_workers`).
        probe_factor: K of the ``fast_eager_batchxK`` variant (0: none).
        compile: ``torch.compile`` the fast path where it can work (:func:`gce_lab.pipeline.device.training_policy`).
        full_epoch: also time one real epoch of each path (two for the fast one).
        seed: seeds the images, the initial weights and the batches.
        command: the command line recorded in the provenance (default: this process's).
        quiet: print nothing.

    Returns:
        The results (also written to the file, path under ``"path"``).
    """
    dev = pick_device(check_choice("device", device, DEVICE_CHOICES))
    models = check_models(models, dev)
    if not isinstance(compile, bool) or not isinstance(full_epoch, bool):
        raise ValueError(f"compile and full_epoch must be True or False, got {compile!r} and {full_epoch!r}")
    opts = options(
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
    path = check_output(output_path(out, dev, size))
    git_commit()  # read (and cached) now: the code that runs, not a commit made meanwhile
    started = time.perf_counter()
    compiled_fast = training_policy(dev, compile=compile).compile  # eager where compiling cannot work
    payload: dict[str, Any] = {
        "benchmark": "throughput",
        "size": size,
        "device": device_name(dev),
        "complete": False,
        "settings": {
            **{k: opts[k] for k in _SETTINGS},
            "compile": compiled_fast,
            "full_epoch": full_epoch,
            "models": list(models),
        },
        "environment": environment(dev),
        "models": [],
    }
    say(f"benchmark ({size}) on {device_name(dev)}; results -> {path}", quiet)
    roof = matmul_gflops(dev, MATMUL_SIZES[size])
    payload["matmul_roof"] = {"dtype": "float32", "size": MATMUL_SIZES[size], "gflops": roof}
    say(f"  fp32 matrix multiply ({MATMUL_SIZES[size]}^3): {roof:.1f} GFLOP/s", quiet)
    for name in models:
        payload["models"].append(_one_network(name, dev, opts, roof, compiled_fast, quiet))
        payload["targets"] = _targets(dev, payload["models"])
        payload["provenance"] = run_provenance(dev, f"bench-{size}", seed, started, command)
        write_json(path, payload)  # after every model: a run cut short keeps what it measured
    payload["complete"] = True
    payload["provenance"] = run_provenance(dev, f"bench-{size}", seed, started, command)
    write_json(path, payload)
    say(table(payload["models"]), quiet)
    if device_name(dev).startswith("cpu"):
        say("(CPU numbers: they say nothing about a GPU)", quiet)
    payload["path"] = str(path)
    return payload


def _one_network(
    name: str, dev: torch.device, opts: dict[str, Any], roof: float, compiled_fast: bool, quiet: bool
) -> dict[str, Any]:
    """Every variant of network ``name`` timed, and the two paths' agreement."""
    case, bs, seed = CASES[name], opts["batch_size"], opts["seed"]
    n = max(opts["pool"], 2 * bs) if opts["pool"] else case.epoch_images
    if n < bs:
        raise ValueError(f"batch_size must be at most the {n} training images of {name}, got {bs}")
    x, y = synthetic_images(case, max(n, opts["check_steps"] * bs), seed)
    torch.manual_seed(seed)
    net = make_model(name, case.num_classes, case.image_shape[0])
    variants = [run_baseline(net, case, x[:n], y[:n], dev, opts)]
    say(f"  {name}: baseline {variants[-1]['images_per_s']:.1f} img/s", quiet)
    x_dev, y_dev = x[:n].to(dev), y[:n].to(dev)
    runs = [("fast", compiled_fast, bs, opts["full_epoch"])]
    if compiled_fast:
        runs.append(("fast_eager", False, bs, opts["full_epoch"]))
    k = opts["probe_factor"]
    if k > 1 and n >= k * bs:
        runs.append((f"fast_eager_batchx{k}", False, k * bs, False))
    for variant, comp, batch, epoch in runs:
        try:
            variants.append(
                run_fast(variant, net, case, x_dev, y_dev, dev, opts, compile=comp, batch_size=batch, full_epoch=epoch)
            )
            say(
                f"  {name}: {variant} {variants[-1]['images_per_s']:.1f} img/s "
                f"(first step {variants[-1]['first_step_s']:.1f} s)",
                quiet,
            )
        except Exception as err:  # e.g. the compiler: record it, keep the other variants' numbers
            variants.append({"variant": variant, "error": f"{type(err).__name__}: {err}"})
            say(f"  {name}: {variant} failed: {variants[-1]['error']}", quiet)
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    measured = [v for v in variants if "error" not in v]
    for v in measured:
        v["speedup_vs_baseline"] = v["images_per_s"] / variants[0]["images_per_s"]
        v["fraction_of_matmul_roof"] = v["gflops"] / roof
    agreement = compare_paths(net, x, y, steps=opts["check_steps"], batch_size=bs, device=dev)
    del x_dev, y_dev
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return {
        "model": name,
        "dataset_shape": case.dataset,
        "image_shape": list(case.image_shape),
        "epoch_images": case.epoch_images,
        "pool_images": n,
        "variants": variants,
        "flops_equal": len({v["flops_per_image"] for v in measured}) == 1,
        "agreement": agreement,
    }
