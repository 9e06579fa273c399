"""Sweeps beyond one process: every run its own job, through ``submitit`` (local or Slurm).

``python -m gce_lab run ... --executor local|slurm`` plans the runs as ``--executor inline`` (one
process, :func:`gce_lab.pipeline.runner.run_experiment`) does, leaves out the finished ones, and submits
each remaining run as a job that calls :func:`gce_lab.pipeline.runner.run_experiment` for that run alone:

* ``local`` -- submitit's ``LocalExecutor``: each job a process of this machine, at most
  ``parallelism`` at a time (the same code path as Slurm, to try it on one machine);
* ``slurm`` -- submitit's ``SlurmExecutor``: one job array with partition, GPUs, CPUs, memory,
  time limit and array parallelism from :class:`SlurmOptions` (command-line options or a TOML
  file).

The guarantees are the inline ones: a job skips its run if it is already finished; a job that is
pre-empted or reaches its time limit is requeued by submitit (:class:`RunJob` is checkpointable)
and resumes from the run's last epoch checkpoint; rows from many writers are merged under the
results folder's lock (:mod:`gce_lab.pipeline.results`) without loss or duplication. A Forward T̂ run
needs the T̂ of its CCE run: on Slurm its job waits for the CCE jobs (``afterok`` dependency),
locally the Forward T̂ jobs are submitted once the CCE jobs have finished. Jobs read the data
from ``$GCE_LAB_DATA`` (a shared path on a cluster) and record their host and job id.

Every submission is listed in ``jobs.csv`` of the results folder (run id, job id, executor, log
folder), so that ``status`` can say which jobs are queued, running, finished or failed.
"""

from __future__ import annotations

import os
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd
import submitit

from gce_lab.methods import METHOD_INFO
from gce_lab.pipeline.planning import Plan, PlannedRun
from gce_lab.pipeline.provenance import utc_now
from gce_lab.pipeline.results import (
    finished_run_ids,
    read_table,
    results_dir,
    write_csv_atomically,
    writers_lock,
)
from gce_lab.pipeline.runner import EXECUTORS, Where, run_experiment, runs_to_train
from gce_lab.validation import check_choice, check_int

__all__ = ["SlurmOptions", "RunJob", "submit_runs", "job_states"]

_JOB_COLUMNS = ["run_id", "job_id", "executor", "folder", "submitted_at"]


@dataclass(frozen=True)
class SlurmOptions:
    """What a Slurm job asks for. ``parallelism`` also caps the local executor's concurrent jobs."""

    partition: str | None = None
    gpus_per_node: int = 1
    cpus_per_task: int = 8
    mem_gb: int = 32
    timeout_min: int = 240
    parallelism: int = 2

    def __post_init__(self) -> None:
        for name in ("cpus_per_task", "mem_gb", "timeout_min", "parallelism"):
            check_int(name, getattr(self, name), 1)
        check_int("gpus_per_node", self.gpus_per_node, 0)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], **overrides: Any) -> SlurmOptions:
        """Options from a TOML file (keys as the fields), then ``overrides`` that are not None."""
        try:
            with open(path, "rb") as handle:
                values = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ValueError(f"slurm config {path} cannot be read: {err}") from err
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(
                f"slurm config {path} has unknown keys {sorted(unknown)}; allowed: {[f.name for f in fields(cls)]}"
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class RunJob(submitit.helpers.Checkpointable):
    """One run as a submitit job; requeued as it is on pre-emption or time-out (the run resumes
    from its epoch checkpoint, so nothing is lost)."""

    def __call__(self, plan: Plan, where: Where, download: bool | None = None) -> str:
        """Train the one run of ``plan`` (skipped if already finished; ``download`` as
        :func:`run_experiment` takes it); its run id."""
        run_experiment(plan, where, download=download)
        return plan.runs[0].run_id


def _executor(kind: str, folder: Path, options: SlurmOptions) -> submitit.Executor:
    if kind == "local":
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(timeout_min=options.timeout_min)
        return executor
    executor = submitit.SlurmExecutor(folder=folder)
    params: dict[str, Any] = {
        "time": options.timeout_min,
        "cpus_per_task": options.cpus_per_task,
        "mem": f"{options.mem_gb}GB",
        "gpus_per_node": options.gpus_per_node,
        "array_parallelism": options.parallelism,
    }
    if options.partition:
        params["partition"] = options.partition
    executor.update_parameters(**params)
    return executor


def _record(directory: Path, jobs: list[tuple[PlannedRun, submitit.Job]], kind: str, folder: Path) -> None:
    rows = [
        {
            "run_id": run.run_id,
            "job_id": str(job.job_id),
            "executor": kind,
            "folder": str(folder),
            "submitted_at": utc_now(),
        }
        for run, job in jobs
    ]
    with writers_lock(directory):
        path = directory / "jobs.csv"
        old = _read_jobs(path)
        write_csv_atomically(pd.concat([old, pd.DataFrame(rows, columns=_JOB_COLUMNS)], ignore_index=True), path)


def _read_jobs(path: Path) -> pd.DataFrame:
    """The rows of ``jobs.csv`` (none when there is no file); a damaged file raises, naming it."""
    return read_table(path, _JOB_COLUMNS, _JOB_COLUMNS[:4], dtype=str)


def _wait(jobs: Iterable[submitit.Job], limit: int | None = None) -> None:
    """Wait until fewer than ``limit`` of ``jobs`` are running (None: until all are done)."""
    jobs = list(jobs)
    while sum(not j.done() for j in jobs) >= (limit or 1):
        time.sleep(0.5)


def submit_runs(
    plan: Plan,
    where: Where,
    *,
    kind: str,
    options: SlurmOptions,
    download: bool | None = None,
    folder: str | None = None,
    wait: bool = True,
) -> list[submitit.Job]:
    """Submit the unfinished runs of ``plan`` as jobs, one run each (see the module docstring); the
    jobs are returned, and with ``wait`` (always for the local executor) their end is awaited and
    the first failure raised. ``download`` is passed to
    :func:`gce_lab.pipeline.runner.run_experiment` in each job; how the runs train (device,
    precision, compile) is the plan's."""
    check_choice("executor", kind, EXECUTORS[1:])
    experiment, label = plan.selection.experiment, plan.label
    todo = runs_to_train(plan, where)  # every file the jobs write is checked first
    again = [r.run_id for r in todo if r.run_id in finished_run_ids(experiment, label, where.root)]
    if again:  # a job of one run cannot tell that a finished CCE run is to be trained again
        raise ValueError(
            f"the T̂ of the finished CCE run(s) {', '.join(again)} is lost; estimate it again in this process first: "
            f"`python -m gce_lab run {experiment} --profile {plan.selection.profile} --executor inline` with the same "
            "filters, then submit again"
        )
    directory = results_dir(experiment, label, where.root)
    _read_jobs(directory / "jobs.csv")  # damaged: refused before anything is submitted
    logs = Path(folder) if folder else directory / "jobs"
    first = [r for r in todo if not METHOD_INFO[r.spec.method].estimates_T]
    second = [r for r in todo if METHOD_INFO[r.spec.method].estimates_T]
    executor = _executor(kind, logs, options)
    job = RunJob()
    submitted: list[tuple[PlannedRun, submitit.Job]] = []

    def submit(batch: list[PlannedRun], after: list[submitit.Job] | None = None) -> list[submitit.Job]:
        if not batch:
            return []
        plans = [Plan(plan.selection, (run,)) for run in batch]
        if kind == "slurm":
            if after:
                executor.update_parameters(dependency="afterok:" + ":".join(str(j.job_id) for j in after))
            jobs = executor.map_array(job, plans, [where] * len(plans), [download] * len(plans))
        else:  # the local executor knows no array parallelism: throttle here
            jobs = []
            for one in plans:
                _wait(jobs, options.parallelism)
                jobs.append(executor.submit(job, one, where, download))
        submitted.extend(zip(batch, jobs))
        return jobs

    cce_jobs = submit(first)
    if kind == "local":
        _wait(cce_jobs)  # Forward T̂ needs its CCE run's T̂
    submit(second, after=[j for r, j in zip(first, cce_jobs) if r.spec.method == "cce"])
    _record(directory, submitted, kind, logs)
    jobs = [j for _, j in submitted]
    if wait or kind == "local":
        for j in jobs:
            j.result()  # raises submitit's FailedJobError with the job's traceback
    return jobs


def job_states(experiment: str, label: str, root: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The jobs recorded in ``jobs.csv`` with their state now: ``finished`` (the run's row is in
    ``runs.csv``), else what the scheduler says (Slurm: PENDING, RUNNING, FAILED, ...) or, for
    a local job whose run has no row, ``not finished``. Empty when no job was submitted."""
    jobs = _read_jobs(results_dir(experiment, label, root) / "jobs.csv")
    if jobs.empty:
        return pd.DataFrame(columns=[*_JOB_COLUMNS, "state"])
    jobs = jobs.drop_duplicates("run_id", keep="last")
    done = finished_run_ids(experiment, label, root)
    states = []
    for row in jobs.itertuples():
        if row.run_id in done:
            states.append("finished")
        elif row.executor == "slurm":
            states.append(submitit.SlurmJob(folder=row.folder, job_id=row.job_id).state)
        else:
            states.append("not finished")
    return jobs.assign(state=states).reset_index(drop=True)
