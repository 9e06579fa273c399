"""Provenance of a run: which code, which machine, which command produced a number."""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import shlex
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

import torch

from gce_lab.pipeline.device import device_name

__all__ = [
    "REPO_ROOT",
    "COMMIT_ENV",
    "in_checkout",
    "on_colab",
    "git_commit",
    "command_line",
    "job_id",
    "provenance",
    "utc_now",
]

#: The checkout this package lives in (``results/`` and ``checkpoints/`` default to it); for a
#: non-editable install it is ``site-packages`` (:func:`in_checkout` tells them apart).
REPO_ROOT = Path(__file__).resolve().parents[2]

_DISTRIBUTION = "gce-lab"


def in_checkout() -> bool:
    """Whether the package runs from its source tree (a clone, an editable install, a copy of the
    tree) rather than from a non-editable install in ``site-packages``."""
    return (REPO_ROOT / "pyproject.toml").is_file()


def on_colab() -> bool:
    """Whether this process runs on Google Colab: its kernel (``google.colab`` imported) or a
    command started from it (Colab sets ``COLAB_RELEASE_TAG`` in its environment)."""
    return "google.colab" in sys.modules or bool(os.environ.get("COLAB_RELEASE_TAG"))


#: Names the commit when the code runs from a copy without ``.git`` (a copy of the tree sent to another machine).
COMMIT_ENV = "GCE_LAB_GIT_COMMIT"


def _git(*args: str, cwd: Path = REPO_ROOT) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _installed_from() -> tuple[str | None, Path | None]:
    """For a non-editable install: (the commit pip recorded, the local folder it was installed
    from), from the ``direct_url.json`` of PEP 610; (None, None) when pip recorded neither."""
    try:
        text = metadata.distribution(_DISTRIBUTION).read_text("direct_url.json")
        origin = json.loads(text) if text else {}
    except (metadata.PackageNotFoundError, ValueError):
        return None, None
    commit = origin.get("vcs_info", {}).get("commit_id")
    url = urlparse(origin.get("url", ""))
    folder = Path(unquote(url.path)) if url.scheme == "file" and "dir_info" in origin else None
    return commit, folder


def _commit_of(folder: Path) -> str | None:
    """``HEAD`` of the git checkout ``folder``, ``+dirty`` when tracked files outside ``results/`` differ."""
    commit = _git("rev-parse", "HEAD", cwd=folder)
    if not commit:
        return None
    dirty = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results", cwd=folder)
    return f"{commit}+dirty" if dirty else commit


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """``git rev-parse HEAD`` of the checkout, ``+dirty`` when tracked files outside ``results/``
    differ (results being rewritten by a sweep say nothing about the code that ran).

    A non-editable install names the commit of what it was installed from: the commit pip
    recorded (``pip install git+https://...``), else the clone it was installed from
    (``pip install /content/gce-lab``: that clone's ``HEAD`` now). Otherwise (a copy of the tree,
    as on the GPU machine) ``$GCE_LAB_GIT_COMMIT`` names the commit, else ``"unknown"``; the
    variable never overrides what git says.

    Read once per process and cached: call it before training so that it names the code that
    was loaded, not a commit made while the process ran.
    """
    commit = _commit_of(REPO_ROOT)
    if commit is None and not in_checkout():
        recorded, folder = _installed_from()
        commit = recorded or (_commit_of(folder) if folder is not None and folder.is_dir() else None)
    return commit or os.environ.get(COMMIT_ENV) or "unknown"


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
