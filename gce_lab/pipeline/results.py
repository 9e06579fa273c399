"""The results store: tidy result files (write, read, validate, lock) and their loader.

The comparison with the paper's numbers is the book's (:mod:`gce_lab.book.comparison`).

Layout under the results root (``results/`` of the checkout, ``$GCE_LAB_RESULTS``, or ``root=``)::

    <root>/<experiment>/<profile>/runs.csv     one row per finished run, with provenance
    <root>/<experiment>/<profile>/epochs.csv   one row per epoch per run
    <root>/<experiment>/<profile>/t_hat/<cce run id>.csv   T̂ estimated from a CCE run
    <root>/<experiment>/<profile>/failed.csv   runs that failed (diverged): no result, the reason

Accuracies are in percent, like the paper's tables. Every write goes through a temporary
file, flushed to disk, and ``os.replace``, so a file is either the old or the new version, never
half written; writers of one results folder (two terminals, a cluster's jobs) take turns under
a lock (``filelock``) around each read-modify-write. A run counts as finished once its row is
in ``runs.csv`` (its epochs are written first) *and* that row is whole: a row with its accuracy,
commit or finishing time missing (a file cut short by hand, a disk that filled up) is not a
finished run; it is left out, with a warning, and trained again. Floats are written with six
significant digits. A results file that is damaged (unreadable, a column the rows need missing,
a run or an epoch twice, a second header line, text where numbers belong) raises
:class:`ResultsFileError` naming the file and how to repair it, on reading and before any write:
a write never drops a row other than the one it replaces.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock

from gce_lab.files import atomic_path
from gce_lab.pipeline.experiments import check_experiment
from gce_lab.pipeline.profiles import PROFILE_NAMES, base_profile
from gce_lab.pipeline.provenance import REPO_ROOT, utc_now
from gce_lab.pipeline.train import EpochRecord
from gce_lab.validation import check_in_range, check_transition_matrix, number_fields

__all__ = [
    "RESULTS_ENV",
    "ResultsFileError",
    "read_table",
    "check_writable",
    "check_store",
    "writers_lock",
    "write_csv_atomically",
    "RunRow",
    "RUN_COLUMNS",
    "EPOCH_COLUMNS",
    "results_root",
    "results_dir",
    "load_results",
    "finished_run_ids",
    "write_run",
    "FAILURES_FILE",
    "FAILURE_COLUMNS",
    "record_failure",
    "failed_runs",
    "t_hat_path",
    "save_t_hat",
    "load_t_hat",
]

RESULTS_ENV = "GCE_LAB_RESULTS"


@dataclass(frozen=True)
class RunRow:
    """One row of ``runs.csv``: its fields are the file's columns, in order (accuracies in percent;
    NaN where a value does not apply, e.g. q for CCE)."""

    experiment: str
    profile: str
    run_id: str
    dataset: str
    data_source: str
    model: str
    method: str
    q: float
    k: float
    noise: str
    eta: float
    realised_noise_rate: float
    seed: int
    epochs: int
    best_epoch: int
    best_val_acc: float
    test_acc_best_val: float
    test_acc_last: float
    t_hat_error: float
    n_pruned_final: float
    pruning_precision: float
    pruning_recall: float
    optimizer: str
    lr: float
    milestones: str
    batch_size: int
    prune_start: int | None
    prune_every: int | None
    augment: bool
    n_train: int
    n_val: int
    n_test: int
    amp_dtype: str
    compiled: bool
    channels_last: bool
    wall_time_s: float
    device: str
    torch_version: str
    git_commit: str
    command: str
    host: str
    job_id: str
    finished_at: str


RUN_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(RunRow))
#: One row per epoch per run: the run's identity, then the trainer's record of the epoch.
EPOCH_COLUMNS: tuple[str, ...] = ("experiment", "profile", "run_id", *(f.name for f in fields(EpochRecord)))

#: Runs that failed (a diverged training loss): no result, the reason and when (``failed.csv``).
FAILURES_FILE = "failed.csv"
FAILURE_COLUMNS: tuple[str, ...] = ("run_id", "reason", "failed_at")

_FLOAT_FORMAT = "%.6g"  # six significant digits: plenty for accuracies in percent, losses and T̂


# ----------------------------------------------------------------------------- locations and writing
def results_root(root: str | os.PathLike[str] | None = None) -> Path:
    """``root``, else ``$GCE_LAB_RESULTS``, else ``results/`` of the checkout."""
    if root is not None:
        return Path(root)
    env = os.environ.get(RESULTS_ENV)
    return Path(env) if env else REPO_ROOT / "results"


def results_dir(experiment: str, profile: str, root: str | os.PathLike[str] | None = None) -> Path:
    """``<root>/<experiment>/<profile>`` (``profile`` may be a label such as ``lab_epochs3``)."""
    check_experiment(experiment)
    if base_profile(profile)[0] == "cached":
        raise ValueError("profile must be a training profile or label here, got 'cached'")
    return results_root(root) / experiment / profile


def write_csv_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` as CSV (six significant digits), atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n", float_format=_FLOAT_FORMAT)


class ResultsFileError(ValueError):
    """A results file that cannot be read; the message names it and says how to repair it."""


#: A finished run's row has all of these (the last column is written last: a cut row lacks it).
_REQUIRED_IN_A_RUN = ("run_id", "test_acc_best_val", "test_acc_last", "git_commit", "finished_at")
#: Columns without which the rows of ``runs.csv`` cannot be told apart or tabled: a file lacking
#: one is refused whole (never read as "nothing finished", which would rewrite it without its rows).
_RUN_KEY_COLUMNS = ("experiment", "profile", "dataset", "method", "noise", "eta", "seed", *_REQUIRED_IN_A_RUN)
#: Columns of ``runs.csv`` that hold numbers; anything else in them is damage, named with its line.
_NUMERIC_RUN_COLUMNS = tuple(number_fields(RunRow))
_ACCURACY_COLUMNS = ("best_val_acc", "test_acc_best_val", "test_acc_last")


def _repair(path: Path) -> str:
    return f"restore it (`git checkout -- {path}` for committed results) or move it away to train its runs again"


def _lines(index: Iterable[int]) -> str:
    """File line numbers of frame rows (line 1 is the header)."""
    return ", ".join(str(i + 2) for i in index)


def read_table(
    path: Path, columns: Iterable[str], required: Iterable[str], *, dtype: type | None = None
) -> pd.DataFrame:
    """The table in ``path`` (an empty one with ``columns`` when there is no file), checked: it
    must parse, have the ``required`` columns and no second header line (two files put together).
    A damaged file raises :class:`ResultsFileError` naming it and how to repair it."""
    columns, required = list(columns), list(required)
    if not path.is_file():
        if path.exists():
            raise ResultsFileError(f"results file {path} must be a file, not a folder; move it away")
        return pd.DataFrame(columns=columns)
    try:
        frame = pd.read_csv(path, dtype=dtype)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise ResultsFileError(
            f"results file {path} cannot be read ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else 'empty'}); {_repair(path)}"
        ) from err
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ResultsFileError(
            f"results file {path} lacks the columns {sorted(set(missing))} (an older version or a hand edit; "
            f"it must have {required}); {_repair(path)}"
        )
    headers = frame.index[(frame[required].astype(str) == required).all(axis=1)]
    if len(headers):
        raise ResultsFileError(
            f"results file {path} holds a second header line at line {_lines(headers)} (two files put together?); "
            "delete that line and check that no row is there twice"
        )
    return frame


def _duplicates(frame: pd.DataFrame, keys: list[str], path: Path) -> None:
    twice = frame[frame.duplicated(keys, keep=False)]
    if len(twice):
        what = ", ".join(sorted({"/".join(map(str, k)) for k in twice[keys].itertuples(index=False)}))
        raise ResultsFileError(
            f"results file {path} holds {'/'.join(keys)} {what} more than once (lines {_lines(twice.index)}): "
            f"each must be there once; keep the right line (the later one is the newer) and delete the others"
        )


def _read_runs(path: Path) -> pd.DataFrame:
    """Every row of ``runs.csv`` at ``path``, checked (columns, one row per run, numbers where numbers belong)."""
    runs = read_table(path, RUN_COLUMNS, _RUN_KEY_COLUMNS)
    _duplicates(runs, ["run_id"], path)
    for column in (c for c in _NUMERIC_RUN_COLUMNS if c in runs.columns):
        values = pd.to_numeric(runs[column], errors="coerce")
        wrong = runs.index[runs[column].notna() & values.isna()]
        if column in _ACCURACY_COLUMNS:
            wrong = wrong.union(runs.index[(values < 0) | (values > 100)])
        if len(wrong):
            shown = ", ".join(repr(v) for v in runs.loc[wrong[:3], column])
            allowed = "a percentage in [0, 100]" if column in _ACCURACY_COLUMNS else "a number"
            raise ResultsFileError(
                f"results file {path}: column {column} must hold {allowed}, got {shown} at line {_lines(wrong)}; "
                f"correct or delete those lines ({_repair(path)})"
            )
        runs[column] = values
    return runs


def _whole(runs: pd.DataFrame) -> pd.Series:
    """Which rows of ``runs`` are whole (a finished run); cut rows lack a value of _REQUIRED_IN_A_RUN."""
    return runs[list(_REQUIRED_IN_A_RUN)].notna().all(axis=1)


def _finished_rows(path: Path) -> pd.DataFrame:
    """The whole rows of ``runs.csv`` at ``path``; cut rows are left out with a warning."""
    runs = _read_runs(path)
    if runs.empty:
        return runs
    whole = _whole(runs)
    if not whole.all():
        cut = ", ".join(map(str, runs.loc[~whole, "run_id"]))
        warnings.warn(
            f"{path}: {int((~whole).sum())} incomplete row(s) left out and counted as not finished "
            f"(their runs will be trained again): {cut}",
            stacklevel=3,
        )
    return runs[whole].reset_index(drop=True)


def _read_epochs(path: Path) -> pd.DataFrame:
    """Every row of ``epochs.csv`` at ``path``, checked (columns, one row per run and epoch)."""
    epochs = read_table(path, EPOCH_COLUMNS, EPOCH_COLUMNS[:4])
    _duplicates(epochs, ["run_id", "epoch"], path)
    return epochs


def _replace_rows(path: Path, rows: list[Mapping], columns: tuple[str, ...], run_id: str) -> None:
    """Replace the rows of ``run_id`` in ``path`` by ``rows``; every other row (cut ones too) stays."""
    reader = {"runs.csv": _read_runs, "epochs.csv": _read_epochs}.get(path.name)
    old = reader(path) if reader else read_table(path, columns, columns[:2])
    old = old[old["run_id"].astype(str) != str(run_id)] if len(old) else old
    new = pd.DataFrame([{c: row.get(c, np.nan) for c in columns} for row in rows], columns=list(columns))
    frame = new if old.empty else (old if new.empty else pd.concat([old, new], ignore_index=True))
    # A None in a new row makes its column objects, which print 9.0 where numbers print 9: infer
    # the column's type again, so that no row of the file changes when another one is added.
    write_csv_atomically(frame.infer_objects(), path)


def writers_lock(directory: Path) -> FileLock:
    """The lock that writers of one results folder take turns under."""
    directory.mkdir(parents=True, exist_ok=True)
    return FileLock(directory / ".write.lock")


def check_writable(directory: str | os.PathLike[str], what: str = "results folder") -> Path:
    """Create ``directory`` if needed and check that files can be written there, before any
    training starts (a run that trains for an hour must not fail at its last step)."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as err:
        raise ValueError(f"{what} {path} must be a writable folder: {err.strerror or err}") from err
    return path


def check_store(experiment: str, profile: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Check the results folder of ``experiment`` under ``profile`` before any training starts:
    writable, and its ``runs.csv``, ``epochs.csv`` and ``failed.csv`` readable and whole (a damaged
    one raises :class:`ResultsFileError` naming it). Returns the folder."""
    directory = check_writable(results_dir(experiment, profile, root))
    _read_runs(directory / "runs.csv")
    _read_epochs(directory / "epochs.csv")
    read_table(directory / FAILURES_FILE, FAILURE_COLUMNS, FAILURE_COLUMNS[:2])
    return directory


def write_run(
    experiment: str,
    profile: str,
    run_row: Mapping,
    epoch_rows: list[Mapping],
    root: str | os.PathLike[str] | None = None,
) -> None:
    """Record a finished run: its epoch rows, then its run row (which marks it finished).

    ``run_row`` has the columns of :class:`RunRow` (``dataclasses.asdict`` of one), each epoch row
    those of :data:`EPOCH_COLUMNS`. Rows of an earlier attempt of the same ``run_id`` are replaced.
    """
    missing = [c for c in RUN_COLUMNS if c not in run_row]
    if missing:
        raise ValueError(f"run_row must have every column of RUN_COLUMNS; missing {missing}")
    empty = [c for c in _REQUIRED_IN_A_RUN if pd.isna(run_row[c]) or run_row[c] == ""]
    if empty:
        raise ValueError(f"run_row must have values for {list(_REQUIRED_IN_A_RUN)} (a finished run); empty: {empty}")
    for column in ("test_acc_best_val", "test_acc_last"):  # a diverged or broken run is never a result
        check_in_range(f"run_row[{column!r}] (a finished run's accuracy in percent)", run_row[column], 0.0, 100.0)
    directory = results_dir(experiment, profile, root)
    run_id = run_row["run_id"]
    with writers_lock(directory):
        _replace_rows(directory / "epochs.csv", list(epoch_rows), EPOCH_COLUMNS, run_id)
        _replace_rows(directory / "runs.csv", [run_row], RUN_COLUMNS, run_id)
        if (directory / FAILURES_FILE).is_file():  # it failed before; now it is finished
            _replace_rows(directory / FAILURES_FILE, [], FAILURE_COLUMNS, run_id)


def record_failure(
    experiment: str, profile: str, run_id: str, reason: str, root: str | os.PathLike[str] | None = None
) -> Path:
    """Record in ``failed.csv`` that run ``run_id`` failed (``reason``: what happened, at which
    epoch); it gets no row in ``runs.csv``, so it stays unfinished. Returns the file's path."""
    directory = results_dir(experiment, profile, root)
    path = directory / FAILURES_FILE
    with writers_lock(directory):
        _replace_rows(path, [{"run_id": run_id, "reason": reason, "failed_at": utc_now()}], FAILURE_COLUMNS, run_id)
    return path


def failed_runs(experiment: str, profile: str, root: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Run id -> reason of every run recorded in ``failed.csv`` (empty when none failed)."""
    frame = read_table(results_dir(experiment, profile, root) / FAILURES_FILE, FAILURE_COLUMNS, FAILURE_COLUMNS[:2])
    return dict(zip(frame["run_id"].astype(str), frame["reason"].astype(str)))


def finished_run_ids(experiment: str, profile: str, root: str | os.PathLike[str] | None = None) -> set[str]:
    """Run ids whose whole row is in ``runs.csv`` (an empty set when nothing ran yet)."""
    runs = _finished_rows(results_dir(experiment, profile, root) / "runs.csv")
    return set(runs["run_id"].astype(str))


def save_t_hat(
    experiment: str, profile: str, run_id: str, t_hat: np.ndarray, root: str | os.PathLike[str] | None = None
) -> Path:
    """Store the T̂ estimated from CCE run ``run_id`` as a CSV matrix (row i: true class i)."""
    path = t_hat_path(experiment, profile, run_id, root)
    frame = pd.DataFrame(np.asarray(t_hat, dtype=np.float64))
    frame.columns = [str(j) for j in range(frame.shape[1])]
    write_csv_atomically(frame, path)
    return path


def t_hat_path(experiment: str, profile: str, run_id: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Where the T̂ of CCE run ``run_id`` is stored."""
    return results_dir(experiment, profile, root) / "t_hat" / f"{run_id}.csv"


def load_t_hat(
    experiment: str,
    profile: str,
    run_id: str,
    root: str | os.PathLike[str] | None = None,
    num_classes: int | None = None,
) -> np.ndarray | None:
    """The stored T̂ of CCE run ``run_id`` (a ``(num_classes, num_classes)`` row-stochastic matrix
    when ``num_classes`` is given), or None when there is none. A damaged file raises
    :class:`ResultsFileError` naming it; deleting it has the CCE run trained again to estimate T̂."""
    path = t_hat_path(experiment, profile, run_id, root)
    if not path.is_file():
        return None
    repair = f"delete it: the next `run` of a Forward T̂ run trains the CCE run {run_id} again to estimate T̂"
    try:
        matrix = pd.read_csv(path).to_numpy(dtype=np.float64)
        return check_transition_matrix("T̂", matrix, num_classes)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        problem = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ResultsFileError(f"T̂ file {path} is damaged ({problem}); {repair}") from err


# ----------------------------------------------------------------------------- loading
def _profile_for_reading(experiment: str, profile: str, root: str | os.PathLike[str] | None) -> str:
    base, _ = base_profile(profile)
    if base != "cached":
        return profile
    for candidate in reversed(PROFILE_NAMES):  # paper, lab, cpu, smoke
        if (results_root(root) / experiment / candidate / "runs.csv").is_file():
            return candidate
    raise FileNotFoundError(
        f"no committed results for {experiment!r} under {results_root(root) / experiment} "
        f"(looked for {', '.join(reversed(PROFILE_NAMES))}); produce some with "
        f"`python -m gce_lab run {experiment} --profile smoke`"
    )


def load_results(
    experiment: str, profile: str, root: str | os.PathLike[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The (runs, epochs) DataFrames of ``experiment`` under ``profile``.

    ``profile`` is ``smoke``, ``lab``, ``paper``, a label such as ``lab_epochs3``, or ``cached``:
    whatever is committed, the most faithful first (paper, then lab, then cpu, then smoke); the ``profile``
    column says which was read.
    """
    check_experiment(experiment)
    label = _profile_for_reading(experiment, profile, root)
    directory = results_root(root) / experiment / label
    runs_path = directory / "runs.csv"
    if not runs_path.is_file():
        raise FileNotFoundError(
            f"no results at {runs_path}; produce them with "
            f"`python -m gce_lab run {experiment} --profile {base_profile(label)[0]}`"
        )
    runs = _finished_rows(runs_path)
    epochs = _read_epochs(directory / "epochs.csv")
    epochs = epochs[epochs["run_id"].isin(runs["run_id"])].reset_index(drop=True)
    return runs, epochs
