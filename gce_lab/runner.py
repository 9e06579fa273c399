"""Run an experiment's sweep: build each run's noisy data, train, record results with provenance.

:func:`run_experiment` trains every planned run (:func:`gce_lab.experiments.plan_runs`) that is
not yet in ``runs.csv``; an interrupted run resumes from its checkpoint. :func:`experiment_status`
says what is done. The command line (``python -m gce_lab run|status``) calls these two.

Per run and seed (Sec. 4 of the paper): the labels of the whole training set are corrupted
(or, for open-set noise, 40 % of its images replaced by CIFAR-100 images), then 10 % are held
out as the noisy validation split; the test set stays clean. The seed fixes the network's
initialisation, the noise, the split and the batches, through separate derived seeds.
Forward T̂ uses the T̂ of Patrini et al. (2017) estimated from the best-validation model of the
CCE run of the same data set, noise and seed (softmax on the noisy training split), stored with
the results and compared with the true T (mean absolute difference, ``t_hat_error``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm  # the text bar: notebooks without ipywidgets get no warning

from gce_lab.data import ImageDataset, load_dataset
from gce_lab.device import pick_device
from gce_lab.experiments import RunSpec, check_experiment, plan_runs
from gce_lab.human_noise import HumanLabels, is_human, load_human_labels
from gce_lab.models import make_model
from gce_lab.noise import make_noise, open_set_replace, train_val_split, training_subset
from gce_lab.profiles import check_profile, profile_label, run_settings
from gce_lab.provenance import REPO_ROOT, command_line, git_commit, provenance
from gce_lab.results import (
    check_writable,
    finished_run_ids,
    load_results,
    load_t_hat,
    results_dir,
    save_t_hat,
    write_run,
)
from gce_lab.seeds import derived_seed
from gce_lab.train import TrainConfig, TrainData, TrainResult, train
from gce_lab.transition import estimate_transition

__all__ = [
    "CHECKPOINTS_ENV",
    "checkpoint_root",
    "checkpoint_path",
    "build_run_data",
    "run_config",
    "planned_runs",
    "run_experiment",
    "experiment_status",
]

CHECKPOINTS_ENV = "GCE_LAB_CHECKPOINTS"
_datasets: dict[tuple, ImageDataset] = {}


def checkpoint_root(root: str | os.PathLike[str] | None = None) -> Path:
    """``root``, else ``$GCE_LAB_CHECKPOINTS``, else ``checkpoints/`` of the checkout (git-ignored)."""
    if root is not None:
        return Path(root)
    env = os.environ.get(CHECKPOINTS_ENV)
    return Path(env) if env else REPO_ROOT / "checkpoints"


def checkpoint_path(run: RunSpec, root: str | os.PathLike[str] | None = None) -> Path:
    """Where run ``run`` checkpoints while it trains."""
    return checkpoint_root(root) / run.experiment / run.profile / f"{run.run_id}.pt"


def _dataset(name: str, settings: dict[str, Any]) -> ImageDataset:
    """The data set of a run, loaded once per process."""
    source = settings["data_source"]
    size = tuple(settings["synthetic_size"]) if source == "synthetic" else None
    key = (name, source, size)
    if key not in _datasets:
        kwargs = {"synthetic_size": size} if size else {}
        _datasets[key] = load_dataset(name, source=source, **kwargs)
    return _datasets[key]


def _open_set_images(settings: dict[str, Any]) -> torch.Tensor:
    try:
        return _dataset("cifar100", settings).x_train
    except FileNotFoundError as err:
        raise FileNotFoundError(
            "Table 2's open-set noise replaces CIFAR-10 training images by CIFAR-100 images, which are not "
            "available here. Run it where torchvision can download CIFAR-100 (e.g. Colab: "
            "gce_lab.data.load_dataset('cifar100', download=True) first), or use --profile smoke "
            f"(synthetic images).\n{err}"
        ) from err


def _human_labels(kind: str, ds: ImageDataset) -> HumanLabels:
    if ds.source == "synthetic":
        raise FileNotFoundError(
            f"human label noise ({kind}) exists only for the real CIFAR training images, not for "
            "synthetic ones: run it under the cpu, lab or paper profile"
        )
    return load_human_labels(kind, ds.y_train)


def build_run_data(run: RunSpec, settings: dict[str, Any]) -> tuple[TrainData, dict[str, Any]]:
    """The noisy train / noisy validation / clean test splits of ``run``, and facts about them.

    Returns ``(data, meta)`` with meta keys ``data_source``, ``realised_noise_rate`` (fraction of
    mislabelled or foreign samples in the training split) and ``true_T`` (None for open-set noise).
    """
    ds = _dataset(run.dataset, settings)
    kind, eta = run.noise_kind, run.eta
    images, y_true = ds.x_train, ds.y_train.numpy()
    human = _human_labels(kind, ds) if is_human(kind) else None
    if settings["train_subset"] is not None:  # the same images for every run of the profile
        subset = training_subset(y_true, settings["train_subset"], seed=0)
        images, y_true = images[subset], y_true[subset]
    else:
        subset = slice(None)
    if human is not None:  # the people's labels of the same images
        labels, is_noisy, true_T = human.labels[subset], human.is_noisy[subset], human.transition_matrix()
    elif kind == "open_set":
        replaced = open_set_replace(
            images, y_true, _open_set_images(settings), eta, derived_seed(run.seed, "open_set"), ds.num_classes
        )
        images, labels, is_noisy, true_T = replaced.images, replaced.labels, replaced.is_open_set, None
    else:
        noise = make_noise("uniform" if kind == "closed_set" else kind, eta, run.dataset)
        noisy = noise.corrupt(y_true, derived_seed(run.seed, "noise"))
        labels, is_noisy, true_T = noisy.labels, noisy.is_noisy, noise.transition_matrix()
    train_idx, val_idx = train_val_split(len(y_true), settings["val_fraction"], derived_seed(run.seed, "split"))
    labels_t, noisy_t = torch.from_numpy(labels), torch.from_numpy(is_noisy)
    data = TrainData(
        x_train=images[train_idx],
        y_train=labels_t[train_idx],
        is_noisy=noisy_t[train_idx],
        x_val=images[val_idx],
        y_val=labels_t[val_idx],
        x_test=ds.x_test,
        y_test=ds.y_test,
        num_classes=ds.num_classes,
    )
    meta = {"data_source": ds.source, "realised_noise_rate": float(is_noisy[train_idx].mean()), "true_T": true_T}
    return data, meta


def run_config(
    run: RunSpec, settings: dict[str, Any], *, device: str = "auto", compile: bool | None = None
) -> TrainConfig:
    """The :class:`TrainConfig` of ``run`` from its profile settings and experiment spec."""
    spec = check_experiment(run.experiment)
    optimizer = spec.optimizer if settings["optimizer"] is None else settings["optimizer"]
    sgd = optimizer == "sgd"
    prune = run.method == "truncated_lq"
    return TrainConfig(
        method=run.method,
        epochs=settings["epochs"],
        optimizer=optimizer,
        lr=settings["sgd_lr"] if sgd else settings["adam_lr"],
        momentum=settings["sgd_momentum"],
        weight_decay=settings["sgd_weight_decay"],
        milestones=tuple(settings["milestones"]) if sgd else (),
        lr_decay=settings["lr_decay"],
        batch_size=settings["batch_size"],
        eval_batch_size=settings["eval_batch_size"],
        q=run.q,
        k=run.k,
        prune_start=settings["prune_start"] if prune else None,
        prune_every=settings["prune_every"] if prune else None,
        augment=spec.augment if settings["augment"] is None else settings["augment"],
        test_every_epoch=settings["test_every_epoch"],
        seed=run.seed,
        compile=settings["compile"] if compile is None else compile,
        channels_last=settings["channels_last"],
        amp_dtype=settings["amp_dtype"],
        device=device,
    )


def _transition_for(
    run: RunSpec, meta: dict[str, Any], root: str | os.PathLike[str] | None
) -> tuple[np.ndarray | None, float]:
    """(T for the loss, T̂ error) of a forward-correction run; (None, NaN) for other methods."""
    if run.method == "forward_t":
        return meta["true_T"], float("nan")
    if run.method != "forward_t_hat":
        return None, float("nan")
    dependency = run.cce_dependency()
    t_hat = load_t_hat(run.experiment, run.profile, dependency.run_id, root)
    if t_hat is None:
        raise RuntimeError(
            f"{run.run_id} needs T̂ from the CCE run {dependency.run_id}, which has not been saved; "
            "run the CCE run first (plan_runs orders it before)"
        )
    true_T = meta["true_T"]
    error = float(np.abs(t_hat - true_T).mean()) if true_T is not None else float("nan")
    return t_hat, error


def _run_row(
    run: RunSpec,
    settings: dict[str, Any],
    config: TrainConfig,
    result: TrainResult,
    meta: dict[str, Any],
    data: TrainData,
    t_hat_error: float,
    command: str,
) -> dict[str, Any]:
    uses_q = run.method in ("lq", "truncated_lq")
    return {
        "experiment": run.experiment,
        "run_id": run.run_id,
        "dataset": run.dataset,
        "data_source": meta["data_source"],
        "model": settings["model"],
        "method": run.method,
        "q": run.q if uses_q else float("nan"),
        "k": run.k if run.method == "truncated_lq" else float("nan"),
        "noise": run.noise_kind,
        "eta": run.eta,
        "realised_noise_rate": round(meta["realised_noise_rate"], 6),
        "epochs": config.epochs,
        "best_epoch": result.best_epoch,
        "best_val_acc": result.best_val_acc,
        "test_acc_best_val": result.test_acc_best_val,
        "test_acc_last": result.test_acc_last,
        "t_hat_error": t_hat_error,
        "n_pruned_final": result.n_pruned_final,
        "pruning_precision": result.pruning_precision,
        "pruning_recall": result.pruning_recall,
        "optimizer": config.optimizer,
        "lr": config.lr,
        "milestones": ";".join(map(str, config.milestones)),
        "batch_size": config.batch_size,
        "prune_start": config.prune_start,
        "prune_every": config.prune_every,
        "augment": config.augment,
        "n_train": data.x_train.shape[0],
        "n_val": data.x_val.shape[0],
        "n_test": data.x_test.shape[0],
        "amp_dtype": "none" if result.amp_dtype is None else str(result.amp_dtype).replace("torch.", ""),
        "compiled": result.compiled,
        "channels_last": config.channels_last,
        **provenance(
            result.device, profile=run.profile, seed=run.seed, wall_time_s=result.wall_time_s, command=command
        ),
    }


@contextlib.contextmanager
def _cpu_threads(count: int | None):
    """Use ``count`` CPU threads inside the block (None: leave torch's setting alone)."""
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train_run(
    run: RunSpec,
    settings: dict[str, Any],
    *,
    root,
    checkpoints,
    progress: bool,
    device: str,
    compile: bool | None,
    command: str,
) -> None:
    with _cpu_threads(settings["cpu_threads"]):
        _train_and_record(
            run,
            settings,
            root=root,
            checkpoints=checkpoints,
            progress=progress,
            device=device,
            compile=compile,
            command=command,
        )


def _train_and_record(
    run: RunSpec,
    settings: dict[str, Any],
    *,
    root,
    checkpoints,
    progress: bool,
    device: str,
    compile: bool | None,
    command: str,
) -> None:
    data, meta = build_run_data(run, settings)
    config = run_config(run, settings, device=device, compile=compile)
    T, t_hat_error = _transition_for(run, meta, root)
    torch.manual_seed(derived_seed(run.seed, "init"))  # the seed fixes the initialisation
    model = make_model(settings["model"], data.num_classes, data.x_train.shape[1])
    ckpt = checkpoint_path(run, checkpoints)
    result = train(model, data, config, T=T, checkpoint_path=ckpt, progress=progress, desc=run.run_id)
    if run.method == "cce" and "forward_t_hat" in check_experiment(run.experiment).methods:
        probs = result.predict_proba(data.x_train).cpu().double().numpy()
        # Patrini et al. filter the top 3 % as outliers, except on CIFAR-100 (plain argmax).
        t_hat = estimate_transition(probs, filter_outlier=run.dataset != "cifar100")
        save_t_hat(run.experiment, run.profile, run.run_id, t_hat, root)
    row = _run_row(run, settings, config, result, meta, data, t_hat_error, command)
    epochs = [
        {"experiment": run.experiment, "profile": run.profile, "run_id": run.run_id, **record}
        for record in result.history
    ]
    write_run(run.experiment, run.profile, row, epochs, root)
    ckpt.unlink(missing_ok=True)


def planned_runs(experiment: str, profile: str, epochs: int | None, **filters: Any) -> tuple[str, list[RunSpec]]:
    """(results label, runs) of ``experiment`` under ``profile`` filtered by ``filters``; at least one run."""
    check_experiment(experiment)
    check_profile(profile)
    label = profile_label(profile, epochs)
    runs = plan_runs(experiment, profile, label=label, **filters)
    if not runs:
        chosen = ", ".join(f"{k}={list(v)}" for k, v in filters.items() if v is not None) or "none"
        raise ValueError(
            f"the selection must match at least one run of {experiment!r}; filters {chosen} match none "
            f"(`python -m gce_lab status {experiment} --profile {profile} --runs` lists them)"
        )
    return label, runs


def _checkpoint_history(path) -> tuple[str, int]:
    """(state, epochs done) of a run with a checkpoint file; a damaged file says so (``run`` starts over)."""
    try:
        history = torch.load(path, map_location="cpu", weights_only=True).get("history", [])
    except Exception:  # unreadable: the trainer ignores it with a warning and starts the run again
        return "partial (damaged checkpoint: restarts)", 0
    return "partial", len(history)


def run_experiment(
    experiment: str,
    profile: str = "smoke",
    *,
    datasets: Iterable[str] | None = None,
    methods: Iterable[str] | None = None,
    noises: Iterable[str] | None = None,
    seeds: Iterable[int] | None = None,
    epochs: int | None = None,
    root: str | os.PathLike[str] | None = None,
    checkpoints: str | os.PathLike[str] | None = None,
    device: str = "auto",
    compile: bool | None = None,
    progress: bool = False,
    command: str | None = None,
) -> pd.DataFrame:
    """Train the runs of ``experiment`` under ``profile`` that are not finished yet.

    Filters (``datasets``, ``methods``, ``noises`` like ``"uniform0.4"``, ``seeds``) select
    runs; ``epochs`` overrides the profile's epoch count and files the results under
    ``<profile>_epochs<N>``. Finished runs (in ``runs.csv``) are skipped; a run with a checkpoint
    resumes. Results go to ``<root>/<experiment>/<label>/``; checkpoints to ``checkpoints``.

    Returns:
        The ``runs.csv`` rows of the planned runs.
    """
    label, runs = planned_runs(
        experiment, profile, epochs, datasets=datasets, methods=methods, noises=noises, seeds=seeds
    )
    pick_device(device)  # an unknown or absent device is refused before anything starts
    done = finished_run_ids(experiment, label, root)
    todo = [run for run in runs if run.run_id not in done]
    if todo:  # before any training: a run must not fail only when it writes its result
        check_writable(results_dir(experiment, label, root))
    command = command if command is not None else command_line()
    git_commit()  # read (and cache) the commit now: the code that runs, not what is checked in later
    for run in tqdm(todo, desc=f"{experiment}/{label}", disable=not progress, dynamic_ncols=True):
        settings = run_settings(profile, experiment, run.dataset, epochs=epochs)
        _train_run(
            run,
            settings,
            root=root,
            checkpoints=checkpoints,
            progress=progress,
            device=device,
            compile=compile,
            command=command,
        )
    if not runs:
        return pd.DataFrame()
    finished = load_results(experiment, label, root)[0]
    return finished[finished["run_id"].isin([r.run_id for r in runs])].reset_index(drop=True)


def experiment_status(
    experiment: str,
    profile: str = "smoke",
    *,
    datasets: Iterable[str] | None = None,
    methods: Iterable[str] | None = None,
    noises: Iterable[str] | None = None,
    seeds: Iterable[int] | None = None,
    epochs: int | None = None,
    root: str | os.PathLike[str] | None = None,
    checkpoints: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """One row per planned run: run_id, dataset, method, q, noise, seed, state (``done``,
    ``partial`` with a checkpoint, or ``todo``) and epochs_done / epochs_total."""
    label, runs = planned_runs(
        experiment, profile, epochs, datasets=datasets, methods=methods, noises=noises, seeds=seeds
    )
    done = finished_run_ids(experiment, label, root)
    rows = []
    for run in runs:
        total = run_settings(profile, experiment, run.dataset, epochs=epochs)["epochs"]
        ckpt = checkpoint_path(run, checkpoints)
        if run.run_id in done:
            state, epochs_done = "done", total
        elif ckpt.is_file():
            state, epochs_done = _checkpoint_history(ckpt)
        else:
            state, epochs_done = "todo", 0
        rows.append(
            {
                "run_id": run.run_id,
                "dataset": run.dataset,
                "method": run.method,
                "q": run.q if run.method in ("lq", "truncated_lq") else float("nan"),
                "noise": run.noise,
                "seed": run.seed,
                "state": state,
                "epochs_done": epochs_done,
                "epochs_total": total,
            }
        )
    return pd.DataFrame(
        rows, columns=["run_id", "dataset", "method", "q", "noise", "seed", "state", "epochs_done", "epochs_total"]
    )
