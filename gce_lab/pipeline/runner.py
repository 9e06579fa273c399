"""Run an experiment's sweep: train each planned run, record its results with provenance.

:func:`run_experiment` trains every run of a :class:`~gce_lab.pipeline.planning.Plan` that is
not yet in ``runs.csv``; an interrupted run resumes from its checkpoint. :func:`experiment_status`
says what is done. The command line (``python -m gce_lab run|status``) and the cluster jobs
(:mod:`gce_lab.pipeline.cluster`) call these two.

A run's data come from :func:`gce_lab.pipeline.run_data.build_run_data`; its seed fixes the
network's initialisation too (a derived seed). Forward T̂ uses the T̂ of Patrini et al. (2017)
estimated from the best-validation model of the CCE run of the same data set, noise and seed
(softmax on the noisy training split), stored with the results and compared with the true T
(mean absolute difference, ``t_hat_error``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm  # the text bar: notebooks without ipywidgets get no warning

from gce_lab.datasets import DATASET_LABELS, dataset_info
from gce_lab.methods import METHOD_INFO
from gce_lab.pipeline.data_files import cache_dir
from gce_lab.pipeline.device import pick_device, training_policy
from gce_lab.pipeline.experiments import RunSpec, check_experiment
from gce_lab.pipeline.models import make_model
from gce_lab.pipeline.planning import Plan, PlannedRun, Selection, plan
from gce_lab.pipeline.provenance import REPO_ROOT, command_line, git_commit, in_checkout, on_colab, provenance
from gce_lab.pipeline.results import (
    RunRow,
    check_store,
    check_writable,
    failed_runs,
    finished_run_ids,
    load_results,
    load_t_hat,
    record_failure,
    save_t_hat,
    t_hat_path,
    write_run,
)
from gce_lab.pipeline.run_data import build_run_data
from gce_lab.pipeline.train import TrainData, TrainingDiverged, TrainResult, train
from gce_lab.seeds import derived_seed
from gce_lab.transition import estimate_transition
from gce_lab.validation import check_bool

__all__ = [
    "CHECKPOINTS_ENV",
    "EXECUTORS",
    "Where",
    "checkpoint_root",
    "checkpoint_path",
    "runs_to_train",
    "run_experiment",
    "train_missing",
    "experiment_status",
]

CHECKPOINTS_ENV = "GCE_LAB_CHECKPOINTS"
#: Where the runs of a sweep execute: in this process (:func:`run_experiment`), or as submitit
#: jobs on this machine or a Slurm cluster (:func:`gce_lab.pipeline.cluster.submit_runs`).
EXECUTORS = ("inline", "local", "slurm")


@dataclasses.dataclass(frozen=True)
class Where:
    """Where a sweep writes: results under ``root`` (default ``$GCE_LAB_RESULTS`` or
    ``results/``), checkpoints under ``checkpoints`` (default ``$GCE_LAB_CHECKPOINTS`` or
    ``checkpoints/``)."""

    root: str | os.PathLike[str] | None = None
    checkpoints: str | os.PathLike[str] | None = None


def checkpoint_root(root: str | os.PathLike[str] | None = None) -> Path:
    """``root``, else ``$GCE_LAB_CHECKPOINTS``, else ``checkpoints/`` of the checkout (git-ignored),
    or for a non-editable install ``checkpoints/`` of the user cache folder
    (:func:`gce_lab.pipeline.data_files.cache_dir`), never inside ``site-packages``."""
    if root is not None:
        return Path(root)
    env = os.environ.get(CHECKPOINTS_ENV)
    if env:
        return Path(env)
    return (REPO_ROOT if in_checkout() else cache_dir()) / "checkpoints"


def checkpoint_path(run: RunSpec, root: str | os.PathLike[str] | None = None) -> Path:
    """Where run ``run`` checkpoints while it trains."""
    return checkpoint_root(root) / run.experiment / run.profile / f"{run.run_id}.pt"


def _transition_for(
    run: RunSpec, meta: dict[str, Any], num_classes: int, root: str | os.PathLike[str] | None
) -> tuple[np.ndarray | None, float]:
    """(T for the loss, T̂ error) of a forward-correction run; (None, NaN) for other methods."""
    method = METHOD_INFO[run.method]
    if not method.needs_T:
        return None, float("nan")
    if not method.estimates_T:
        return meta["true_T"], float("nan")
    dependency = run.cce_dependency()
    t_hat = load_t_hat(run.experiment, run.profile, dependency.run_id, root, num_classes)
    if t_hat is None:
        raise RuntimeError(
            f"{run.run_id} needs T̂ from the CCE run {dependency.run_id}, which has not been saved; "
            "run the CCE run first (a plan orders it before)"
        )
    true_T = meta["true_T"]
    error = float(np.abs(t_hat - true_T).mean()) if true_T is not None else float("nan")
    return t_hat, error


def _run_row(
    planned: PlannedRun,
    result: TrainResult,
    meta: dict[str, Any],
    data: TrainData,
    t_hat_error: float,
    command: str,
) -> dict[str, Any]:
    """The run's row of ``runs.csv`` (:class:`~gce_lab.pipeline.results.RunRow`), as a dict."""
    run, config, method = planned.spec, planned.config, METHOD_INFO[planned.spec.method]
    return dataclasses.asdict(
        RunRow(
            experiment=run.experiment,
            run_id=run.run_id,
            dataset=run.dataset,
            data_source=meta["data_source"],
            model=planned.model,
            method=run.method,
            q=run.q if method.uses_q else float("nan"),
            k=run.k if method.uses_k else float("nan"),
            noise=run.noise_kind,
            eta=run.eta,
            realised_noise_rate=round(meta["realised_noise_rate"], 6),
            epochs=config.epochs,
            best_epoch=result.best_epoch,
            best_val_acc=result.best_val_acc,
            test_acc_best_val=result.test_acc_best_val,
            test_acc_last=result.test_acc_last,
            t_hat_error=t_hat_error,
            n_pruned_final=result.n_pruned_final,
            pruning_precision=result.pruning_precision,
            pruning_recall=result.pruning_recall,
            optimizer=config.optimizer,
            lr=config.lr,
            milestones=";".join(map(str, config.milestones)),
            batch_size=config.batch_size,
            prune_start=config.prune_start,
            prune_every=config.prune_every,
            augment=config.augment,
            n_train=data.x_train.shape[0],
            n_val=data.x_val.shape[0],
            n_test=data.x_test.shape[0],
            amp_dtype="none" if result.amp_dtype is None else str(result.amp_dtype).replace("torch.", ""),
            compiled=result.compiled,
            channels_last=config.channels_last,
            **provenance(
                result.device, profile=run.profile, seed=run.seed, wall_time_s=result.wall_time_s, command=command
            ),
        )
    )


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


def _train_and_record(planned: PlannedRun, where: Where, *, progress: bool, command: str, download: bool) -> None:
    run, config = planned.spec, planned.config
    data, meta = build_run_data(planned, download=download)
    T, t_hat_error = _transition_for(run, meta, data.num_classes, where.root)
    torch.manual_seed(derived_seed(run.seed, "init"))  # the seed fixes the initialisation
    model = make_model(planned.model, data.num_classes, data.x_train.shape[1])
    ckpt = checkpoint_path(run, where.checkpoints)
    try:
        result = train(model, data, config, T=T, checkpoint_path=ckpt, progress=progress, desc=run.run_id)
    except TrainingDiverged as err:  # a failure, recorded as such: never a result
        path = record_failure(run.experiment, run.profile, run.run_id, f"diverged at epoch {err.epoch}", where.root)
        raise RuntimeError(f"run {run.run_id} failed: {err}; recorded in {path}, no result written") from err
    if run.method == "cce" and any(METHOD_INFO[m].estimates_T for m in check_experiment(run.experiment).methods):
        probs = result.predict_proba(data.x_train).cpu().double().numpy()
        # Patrini et al. filter the top 3 % as outliers, except on CIFAR-100 (plain argmax).
        t_hat = estimate_transition(probs, filter_outlier=run.dataset != "cifar100")
        save_t_hat(run.experiment, run.profile, run.run_id, t_hat, where.root)
    row = _run_row(planned, result, meta, data, t_hat_error, command)
    epochs = [
        {"experiment": run.experiment, "profile": run.profile, "run_id": run.run_id, **record}
        for record in result.history
    ]
    write_run(run.experiment, run.profile, row, epochs, where.root)
    ckpt.unlink(missing_ok=True)


def _t_hat_to_estimate_again(plan: Plan, done: set[str], root: str | os.PathLike[str] | None) -> set[str]:
    """Finished CCE runs of ``plan`` whose T̂ an unfinished Forward T̂ run needs but which is lost:
    they are trained again to estimate it (else the Forward T̂ run could never run). A damaged
    T̂ file raises, naming it."""
    again = set()
    for planned in plan.runs:
        run = planned.spec
        if run.run_id in done or not METHOD_INFO[run.method].estimates_T:
            continue
        cce, classes = run.cce_dependency(), dataset_info(run.dataset).num_classes
        if cce.run_id in done and load_t_hat(run.experiment, run.profile, cce.run_id, root, classes) is None:
            lost = t_hat_path(run.experiment, run.profile, cce.run_id, root)
            warnings.warn(
                f"the T̂ of the finished CCE run {cce.run_id} is lost ({lost}): "
                f"{run.run_id} needs it, so the CCE run is trained again to estimate it (its row is replaced)",
                stacklevel=3,
            )
            again.add(cce.run_id)
    return again


def runs_to_train(plan: Plan, where: Where = Where()) -> list[PlannedRun]:
    """The runs of ``plan`` to train, in order, after checking every file they will write, before
    any training starts (a run that trains for an hour must not fail at its last step): the
    results folder and its ``runs.csv``, ``epochs.csv`` and T̂ files, and the checkpoints folder."""
    experiment, label = plan.selection.experiment, plan.label
    done = finished_run_ids(experiment, label, where.root)
    again = _t_hat_to_estimate_again(plan, done, where.root)
    todo = [run for run in plan.runs if run.run_id not in done or run.run_id in again]
    if todo:
        check_store(experiment, label, where.root)
        check_writable(checkpoint_root(where.checkpoints) / experiment / label, "checkpoints folder")
    return todo


def _checkpoint_history(path) -> tuple[str, int]:
    """(state, epochs done) of a run with a checkpoint file; a damaged file says so (``run`` starts over)."""
    try:
        history = torch.load(path, map_location="cpu", weights_only=True).get("history", [])
    except Exception:  # unreadable: the trainer ignores it with a warning and starts the run again
        return "partial (damaged checkpoint: restarts)", 0
    return "partial", len(history)


def _check_how(plan: Plan, todo: list[PlannedRun]) -> None:
    """Check the device, precision and compile switch of the runs to train against the device
    before anything trains: a setting it cannot do is refused, as is ``compile`` forced
    (``Selection.compile=True``) where compiling cannot work."""
    pick_device(plan.selection.device)  # an unknown or absent device is refused even with nothing to train
    for planned in todo:
        config = planned.config
        training_policy(
            pick_device(config.device), config.precision, config.compile, require_compile=plan.selection.compile is True
        )


def run_experiment(
    plan: Plan,
    where: Where = Where(),
    *,
    download: bool | None = None,
    progress: bool = False,
    command: str | None = None,
) -> pd.DataFrame:
    """Train the runs of ``plan`` that are not finished yet; return their ``runs.csv`` rows.

    Finished runs (in ``runs.csv``) are skipped; a run with a checkpoint resumes. Results go to
    ``<where.root>/<experiment>/<label>/``. How the runs train (device, precision, compile) is
    the plan's (:class:`~gce_lab.pipeline.planning.Selection`); it leaves the numbers of a CPU
    run in float32 unchanged. A device that cannot do a run's precision, or compile where the
    selection forces compiling, is refused (``ValueError``) before anything trains.
    ``download`` lets torchvision download missing data sets (it checks their MD5 sums); None:
    only on Colab (:func:`gce_lab.pipeline.provenance.on_colab`).
    """
    experiment, label = plan.selection.experiment, plan.label
    download = on_colab() if download is None else check_bool("download", download)
    todo = runs_to_train(plan, where)
    _check_how(plan, todo)
    command = command if command is not None else command_line()
    git_commit()  # read (and cache) the commit now: the code that runs, not what is checked in later
    for planned in tqdm(todo, desc=f"{experiment}/{label}", disable=not progress, dynamic_ncols=True):
        with _cpu_threads(planned.cpu_threads):
            _train_and_record(planned, where, progress=progress, command=command, download=download)
    finished = load_results(experiment, label, where.root)[0]
    return finished[finished["run_id"].isin([r.run_id for r in plan.runs])].reset_index(drop=True)


def train_missing(
    experiment: str,
    profile: str,
    where: Where = Where(),
    *,
    how: dict[str, Any] | None = None,
    download: bool | None = None,
    progress: bool = False,
) -> list[str]:
    """Train the runs of ``experiment`` under ``profile`` that are not finished yet, one (data set,
    noise) cell at a time, so that a cell that cannot run here (CIFAR-100 without internet) is
    skipped, not faked; returns a note for each such cell.

    ``how`` holds the :class:`~gce_lab.pipeline.planning.Selection`'s ``device``, ``precision``
    and ``compile``; ``download`` and ``progress`` are :func:`run_experiment`'s.
    """
    spec = check_experiment(experiment)
    failed: dict[tuple[str, str], list[str]] = {}  # (data set, reason) -> noise settings
    for dataset in spec.datasets:
        for noise in spec.noises:
            try:
                selection = Selection(experiment, profile, datasets=[dataset], noises=[noise], **(how or {}))
                run_experiment(plan(selection), where, download=download, progress=progress)
            except FileNotFoundError as err:
                reason = " ".join(str(err).split())  # the whole message (it says how to get the data), one line
                failed.setdefault((dataset, reason), []).append(noise)
    notes = []
    for (dataset, reason), noises in failed.items():
        which = "all noise settings" if len(noises) == len(spec.noises) else ", ".join(noises)
        notes.append(f"{DATASET_LABELS[dataset]} ({which}): not run here: {reason}")
    return notes


_STATUS_COLUMNS = ["run_id", "dataset", "method", "q", "noise", "seed", "state", "epochs_done", "epochs_total"]


def experiment_status(plan: Plan, where: Where = Where()) -> pd.DataFrame:
    """One row per planned run: run_id, dataset, method, q, noise, seed, state (``done``,
    ``failed (<reason>)`` as ``failed.csv`` records it, ``partial`` with a checkpoint, or ``todo``)
    and epochs_done / epochs_total. A damaged results file raises, naming it."""
    done = finished_run_ids(plan.selection.experiment, plan.label, where.root)
    failed = failed_runs(plan.selection.experiment, plan.label, where.root)
    rows = []
    for planned in plan.runs:
        run, total = planned.spec, planned.config.epochs
        ckpt = checkpoint_path(run, where.checkpoints)
        if run.run_id in done:
            state, epochs_done = "done", total
        elif run.run_id in failed:
            state, epochs_done = f"failed ({failed[run.run_id]})", 0
        elif ckpt.is_file():
            state, epochs_done = _checkpoint_history(ckpt)
        else:
            state, epochs_done = "todo", 0
        q = run.q if METHOD_INFO[run.method].uses_q else float("nan")
        values = [run.run_id, run.dataset, run.method, q, run.noise, run.seed, state, epochs_done, total]
        rows.append(dict(zip(_STATUS_COLUMNS, values)))
    return pd.DataFrame(rows, columns=_STATUS_COLUMNS)
