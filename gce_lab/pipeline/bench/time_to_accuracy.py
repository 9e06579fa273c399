"""Time to accuracy of the ``lab`` profile (``python -m gce_lab bench --lab-run``).

The profile's network trained on clean CIFAR-10 (Table 1's lab settings with noise 0; ``fig1ab``
for Adam), with test accuracy against cumulative training time, evaluation and compilation
excluded (a one-epoch warm-up on a slice compiles and autotunes first, then the weights are
reset). The run is planned like any other (:mod:`gce_lab.pipeline.planning`), its data built by
:func:`gce_lab.pipeline.run_data.build_run_data` and trained by :func:`gce_lab.pipeline.train.train`.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import time
from collections.abc import Sequence
from typing import Any

import torch

from gce_lab.pipeline.bench.cases import LAB_EXPERIMENTS, TARGETS, options
from gce_lab.pipeline.bench.output import check_output, environment, output_path, run_provenance, say, write_json
from gce_lab.pipeline.device import DEVICE_CHOICES, device_name, pick_device
from gce_lab.pipeline.models import make_model
from gce_lab.pipeline.planning import PlannedRun, Selection, plan, planned_run
from gce_lab.pipeline.provenance import git_commit
from gce_lab.pipeline.run_data import build_run_data
from gce_lab.pipeline.train import TrainData, train
from gce_lab.validation import check_choice

__all__ = ["lab_run"]

_DATA_TITLES = {
    "snapshot:cifar10_jpeg": "CIFAR-10-JPEG (the lossy offline snapshot)",
    "torchvision": "CIFAR-10",
    "synthetic": "synthetic CIFAR-10-shaped images (pipeline check only)",
}


def _clean_run(experiment: str, profile: str, device: str, compile: bool | None, seed: int) -> PlannedRun:
    """The experiment's CCE run on CIFAR-10 under ``profile`` with noise 0 (Table 1 has no clean
    column: its first CCE run with the noise taken away), to train on ``device``; ``compile``
    overrides the profile's switch."""
    selection = Selection(experiment, profile, datasets=("cifar10",), methods=("cce",), seeds=(seed,))
    planned = planned_run(dataclasses.replace(plan(selection).runs[0].spec, noise="none0"))
    how = {"device": device} if compile is None else {"device": device, "compile": compile}
    return dataclasses.replace(planned, config=dataclasses.replace(planned.config, **how))


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
    planned = _clean_run(experiment, profile, device, compile, seed)
    config = planned.config
    data, meta = build_run_data(planned)
    torch.manual_seed(seed)
    model = make_model(planned.model, data.num_classes, data.x_train.shape[1])
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
        "model": planned.model,
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
    say(
        f"  {experiment} ({profile}, {planned.model}, {report['data_title']}): test accuracy "
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
    opts = options(size, workers=0, seed=seed)
    chosen = tuple(experiments)
    if not chosen:
        raise ValueError(f"experiments must name at least one of {', '.join(LAB_EXPERIMENTS)}")
    for name in chosen:
        check_choice("experiments", name, LAB_EXPERIMENTS)
    dev = pick_device(check_choice("device", device, DEVICE_CHOICES))
    if compile is not None and not isinstance(compile, bool):
        raise ValueError(f"compile must be True, False or None, got {compile!r}")
    path = check_output(output_path(out, dev, size, "-lab-run"))
    profile = opts["lab_profile"]
    git_commit()  # read (and cached) now: the code that runs, not a commit made meanwhile
    started = time.perf_counter()
    say(f"lab run ({profile} profile) on {device_name(dev)}; results -> {path}", quiet)
    payload: dict[str, Any] = {
        "benchmark": "lab_time_to_accuracy",
        "size": size,
        "device": device_name(dev),
        "environment": environment(dev),
        "runs": [],
    }
    for experiment in chosen:
        payload["runs"].append(_lab_one(experiment, profile, opts, dev.type, compile, seed, quiet))
        payload["provenance"] = run_provenance(dev, profile, seed, started, command)
        write_json(path, payload)
    payload["path"] = str(path)
    return payload
