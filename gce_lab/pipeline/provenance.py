"""Provenance of a run: which code, which machine, which command produced a number."""

from __future__ import annotations

import datetime as _dt
import functools
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import torch

from gce_lab.pipeline.device import device_name

__all__ = ["REPO_ROOT", "COMMIT_ENV", "git_commit", "command_line", "job_id", "provenance", "utc_now"]

#: The checkout this package lives in (``results/`` and ``checkpoints/`` default to it).
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Names the commit when the code runs from a copy without ``.git`` (a copy of the tree sent to another machine).
COMMIT_ENV = "GCE_LAB_GIT_COMMIT"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """``git rev-parse HEAD`` of the checkout, ``+dirty`` when tracked files outside ``results/``
    differ (results being rewritten by a sweep say nothing about the code that ran).

    Outside a git checkout (a copy of the tree, as on the GPU machine) ``$GCE_LAB_GIT_COMMIT``
    names the commit, else ``"unknown"``; the variable never overrides what git says.

    Read once per process and cached: call it before training so that it names the code that
    was loaded, not a commit made while the process ran.
    """
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return os.environ.get(COMMIT_ENV) or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results")
    return f"{commit}+dirty" if dirty else commit


def command_line() -> str:
    """The command that started this process, e.g. ``python -m gce_lab run table1 --profile smoke``."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("gce_lab/__main__.py", "gce_lab\\__main__.py")):
        argv = ["python", "-m", "gce_lab", *argv[1:]]
    return shlex.join(argv)


def utc_now() -> str:
    """The current UTC time as an ISO-8601 string with seconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def job_id() -> str:
    """The cluster job this process runs in: Slurm's (``<array id>_<index>`` in an array) or
    submitit's local job id; empty outside a job."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f"{array}_{task}"
    return os.environ.get("SLURM_JOB_ID") or os.environ.get("SUBMITIT_LOCAL_JOB_ID") or ""


def provenance(
    device: torch.device | str, *, profile: str, seed: int, wall_time_s: float, command: str | None = None
) -> dict[str, object]:
    """The provenance columns of a run row (git commit, profile, seed, device, torch, wall time,
    command, host and cluster job id)."""
    return {
        "profile": profile,
        "seed": seed,
        "device": device_name(device),
        "torch_version": torch.__version__,
        "git_commit": git_commit(),
        "wall_time_s": round(float(wall_time_s), 3),
        "command": command if command is not None else command_line(),
        "host": socket.gethostname(),
        "job_id": job_id(),
        "finished_at": utc_now(),
    }
