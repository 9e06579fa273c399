"""Does a ``cpu`` recipe reach the regime the paper's effects come from? The pilot's signs.

The paper's effects come from a network that first learns the clean pattern and then memorises
the wrong labels (Sec. 3.2 and Fig. 1c; Arpit et al. 2017), and truncated L_q needs a network
that is already confident on the clean samples when it prunes (Sec. 3.3, Algorithm 1). Before a
``cpu`` recipe is frozen, a pilot trains a few cells with it and measures, on CIFAR-10:

* the clean accuracy of CCE (the network must be worth studying);
* at uniform η = 0.4, whether CCE memorises: its mean softmax on the wrongly labelled training
  samples rises after the first learning-rate drop (for a constant learning rate: after its
  lowest value) and ends high, and its test accuracy falls from the best-validation epoch to the
  last;
* whether truncated L_q's first pruning step prunes the wrong labels (precision) and spares the
  clean ones, and whether training goes on at η = 0.8 (not nearly everything pruned);
* the seconds a run takes.

:func:`pilot_measurements` reads these from the ``table1``, ``fig1ab`` and ``fig1c`` runs of the
pilot's cells (the clean cell is Table 1's ``none0`` reference column, or Fig. 1a's CCE run for a recipe
that trains the tables and figures alike; Fig. 1c shows the figures' optimiser); :func:`regime_signs`
holds the Table 1 runs against :data:`SIGNS`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gce_lab.book.findings import Findings
from gce_lab.book.report import NOISE_LABELS
from gce_lab.datasets import DATASET_LABELS
from gce_lab.methods import METHOD_LABELS
from gce_lab.pipeline.results import load_results, results_root

__all__ = [
    "Sign",
    "SIGNS",
    "PILOT_CELLS",
    "RECIPES",
    "pilot_measurements",
    "recipe_pilots",
    "regime_signs",
    "recipe_table",
    "signs_table",
    "signs_findings",
]

_EXPERIMENTS = ("table1", "fig1ab", "fig1c")
_PILOT_NOISES = ("none0", "uniform0.4", "uniform0.8", "class_dependent0.4")


@dataclass(frozen=True)
class Sign:
    """One sign of the regime: a measurement of one pilot cell against a threshold."""

    name: str
    method: str
    noise: str
    measurement: str
    threshold: float
    at_least: bool  # True: the measurement must be >= threshold; False: <= (or <, see strict)
    strict: bool = False

    def met(self, value: float) -> bool | None:
        """Whether ``value`` shows the sign; None when it was not measured (NaN)."""
        if value is None or math.isnan(value):
            return None
        if self.at_least:
            return value > self.threshold if self.strict else value >= self.threshold
        return value < self.threshold if self.strict else value <= self.threshold


#: The signs asked of a frozen ``cpu`` recipe, all on CIFAR-10.
SIGNS: tuple[Sign, ...] = (
    Sign("clean CCE test accuracy (%)", "cce", "none0", "test_acc_best_val", 75.0, True),
    Sign("CCE's wrong-label softmax rises after the drop", "cce", "uniform0.4", "wrong_softmax_rise", 0.0, True, True),
    Sign("CCE's wrong-label softmax at the end", "cce", "uniform0.4", "wrong_softmax_end", 0.3, True),
    Sign("CCE's fall from best to last epoch (points)", "cce", "uniform0.4", "fall", 3.0, True),
    Sign("first pruning step: precision", "truncated_lq", "uniform0.4", "first_prune_precision", 0.8, True),
    Sign("first pruning step: share of clean samples pruned", "truncated_lq", "uniform0.4", "clean_pruned", 0.1, False),
    Sign("η = 0.8: largest share of samples pruned", "truncated_lq", "uniform0.8", "max_pruned", 0.9, False, True),
    Sign("seconds per CIFAR-10 run of Table 1 (median)", "*", "*", "wall_time_s", 300.0, False),
)


def _first_drop_epoch(milestones: object) -> int | None:
    """The last epoch at the first learning rate: the first milestone (``"6"`` or ``"8;12"``), or
    None for a constant learning rate."""
    if milestones is None or (isinstance(milestones, float) and math.isnan(milestones)) or str(milestones) == "":
        return None
    return int(float(str(milestones).split(";")[0]))


def _measure(run: pd.Series, epochs: pd.DataFrame) -> dict[str, float]:
    epochs = epochs.sort_values("epoch")
    wrong = epochs["mean_softmax_noisy"].to_numpy(dtype=float)
    drop = _first_drop_epoch(run["milestones"])
    if np.isnan(wrong).all():
        start = end = math.nan
    else:
        start = wrong[drop - 1] if drop is not None else np.nanmin(wrong)
        end = wrong[-1]
    pruning = epochs[epochs["prune_step"].astype(str) == "True"]
    n_train = float(run["n_train"])
    first_precision = clean_pruned = max_pruned = first_epoch = math.nan
    if len(pruning):
        first = pruning.iloc[0]
        n_pruned, precision, recall = (float(first[c]) for c in ("n_pruned", "prune_precision", "prune_recall"))
        first_epoch, first_precision = float(first["epoch"]), precision
        if recall > 0:  # recall = hits / noisy, so the noisy count follows from the two rates
            n_noisy = n_pruned * precision / recall
            clean_pruned = n_pruned * (1 - precision) / (n_train - n_noisy)
        max_pruned = float(pruning["n_pruned"].max()) / n_train
    return {
        "test_acc_best_val": float(run["test_acc_best_val"]),
        "best_epoch": float(run["best_epoch"]),
        "test_acc_last": float(run["test_acc_last"]),
        "fall": float(run["test_acc_best_val"]) - float(run["test_acc_last"]),
        "wrong_softmax_start": float(start),
        "wrong_softmax_end": float(end),
        "wrong_softmax_rise": float(end - start),
        "first_prune_epoch": first_epoch,
        "first_prune_precision": first_precision,
        "clean_pruned": clean_pruned,
        "max_pruned": max_pruned,
        "wall_time_s": float(run["wall_time_s"]),
    }


#: The pilot's cells (issue 24), seed 0: (experiment, data set, method, noise). The clean cell is
#: Table 1's ``none0`` reference column, or Fig. 1a's CCE run for a recipe that trains both alike.
PILOT_CELLS = frozenset(
    {("table1", "cifar10", m, n) for m in ("cce", "lq", "truncated_lq") for n in _PILOT_NOISES}
    | {("table1", "cifar10", "forward_t", "uniform0.4")}
    | {("table1", "fashion_mnist", m, "uniform0.4") for m in ("cce", "lq")}
    | {("fig1c", "cifar10", m, "uniform0.4") for m in ("cce", "lq")}
    | {("fig1ab", "cifar10", "cce", "none0")}
)

#: Each recipe's pilot runs: the folders under the results root that hold them (an experiment is
#: read from the first that has it: recipe 2's leave ``cpu_v2`` for ``results/<experiment>/cpu``
#: once their table is complete) and the commit they must come from (None: any).
RECIPES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "recipe 1": (("cpu_pilot/recipe1",), None),
    "recipe 2": (("cpu_v2", "."), "f963269"),
}


def pilot_measurements(
    roots: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], profile: str = "cpu", commit: str | None = None
) -> pd.DataFrame:
    """One row per pilot run (:data:`PILOT_CELLS`) of the ``table1``, ``fig1ab`` and ``fig1c`` results
    under ``profile``, each experiment read from the first of ``roots`` that has it, keeping the runs
    of ``commit`` (a prefix; None: every run): its cell (experiment, dataset, method, noise),
    optimiser and training-set size, and what :data:`SIGNS` measure (accuracies in %, softmax
    means, shares of the training set, seconds)."""
    roots = [roots] if isinstance(roots, (str, os.PathLike)) else list(roots)
    rows = []
    for experiment in _EXPERIMENTS:
        for root in roots:
            try:
                runs, epochs = load_results(experiment, profile, root)
            except FileNotFoundError:
                continue
            break
        else:
            continue
        if commit is not None:
            runs = runs[runs["git_commit"].astype(str).str.startswith(commit)]
        for _, run in runs.iterrows():
            cell = {
                "experiment": experiment,
                "dataset": run["dataset"],
                "method": run["method"],
                "noise": f"{run['noise']}{float(run['eta']):g}",
                "seed": int(run["seed"]),
                "optimizer": run["optimizer"],
                "n_train": int(run["n_train"]),
            }
            if cell["seed"] != 0 or (experiment, cell["dataset"], cell["method"], cell["noise"]) not in PILOT_CELLS:
                continue
            rows.append({**cell, **_measure(run, epochs[epochs["run_id"] == run["run_id"]])})
    if not rows:
        raise FileNotFoundError(f"no pilot runs of table1, fig1ab or fig1c under {roots} for profile {profile!r}")
    return pd.DataFrame(rows)


def recipe_pilots(root: str | os.PathLike[str] | None = None) -> dict[str, pd.DataFrame]:
    """Every recipe of :data:`RECIPES`: its pilot's :func:`pilot_measurements`, from the results
    root ``root`` (default: ``results/`` or ``$GCE_LAB_RESULTS``)."""
    base = results_root(root)
    return {
        recipe: pilot_measurements([base / folder for folder in folders], commit=commit)
        for recipe, (folders, commit) in RECIPES.items()
    }


def _value(pilot: pd.DataFrame, sign: Sign) -> float:
    cifar = pilot[(pilot["dataset"] == "cifar10") & (pilot["seed"] == 0)]
    if sign.method == "*":
        table = cifar[cifar["experiment"] == "table1"]
        return float(table["wall_time_s"].median()) if len(table) else math.nan
    cell = cifar[(cifar["method"] == sign.method) & (cifar["noise"] == sign.noise)]
    if len(cell) > 1:  # a recipe's signs are its Table 1 runs' (the figures may train otherwise)
        cell = cell[cell["experiment"] == "table1"]
    return float(cell[sign.measurement].iloc[0]) if len(cell) else math.nan


def regime_signs(pilot: pd.DataFrame) -> pd.DataFrame:
    """Each of :data:`SIGNS` with its threshold, the pilot's measurement and whether it is met
    (None where the pilot lacks the cell)."""
    rows = []
    for sign in SIGNS:
        value = _value(pilot, sign)
        relation = (">" if sign.strict else "≥") if sign.at_least else ("<" if sign.strict else "≤")
        rows.append(
            {"sign": sign.name, "wanted": f"{relation} {sign.threshold:g}", "measured": value, "met": sign.met(value)}
        )
    return pd.DataFrame(rows)


_SHOWN = {
    "test_acc_best_val": "test acc. (%)",
    "best_epoch": "best epoch",
    "test_acc_last": "last epoch (%)",
    "wrong_softmax_end": "wrong-label softmax (end)",
    "first_prune_precision": "1st prune: precision",
    "clean_pruned": "1st prune: clean pruned",
    "wall_time_s": "seconds",
}


def _noise_label(noise: str) -> str:
    kind = noise.rstrip("0123456789.")
    eta = noise[len(kind) :]
    return "clean" if kind == "none" else f"{NOISE_LABELS.get(kind, kind)} {eta}"


def recipe_table(pilots: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The pilot cells of each recipe side by side (seed 0): rows are cells (data set, noise,
    loss, experiment), columns (measurement, recipe), rounded to 3 decimals; a cell a recipe did
    not run, or a measurement it has not (no pruning), is blank."""
    frames = []
    for recipe, pilot in pilots.items():
        part = pilot[pilot["seed"] == 0].assign(
            dataset=lambda f: f["dataset"].map(DATASET_LABELS),
            noise=lambda f: f["noise"].map(_noise_label),
            loss=lambda f: f["method"].map(METHOD_LABELS),
        )
        part = part.set_index(["dataset", "noise", "loss", "experiment"])[list(_SHOWN)].rename(columns=_SHOWN)
        frames.append(pd.concat({recipe: part}, axis=1))
    table = pd.concat(frames, axis=1).swaplevel(0, 1, axis=1)
    table = table[[(shown, recipe) for shown in _SHOWN.values() for recipe in pilots]]
    return table.round(3).astype(object).where(table.notna(), "")


def signs_table(pilots: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each sign of :data:`SIGNS`: what is wanted, and per recipe the measurement and whether it is met."""
    first = regime_signs(next(iter(pilots.values())))[["sign", "wanted"]].set_index("sign")
    columns = {}
    for recipe, pilot in pilots.items():
        signs = regime_signs(pilot).set_index("sign")
        columns[(recipe, "measured")] = signs["measured"].round(3)
        columns[(recipe, "met")] = signs["met"].map({True: "yes", False: "no", None: "not run"})
    return pd.concat([pd.concat({"": first}, axis=1), pd.DataFrame(columns)], axis=1)


def signs_findings(pilots: dict[str, pd.DataFrame]) -> Findings:
    """Per recipe, which signs it shows and which it misses, computed from the pilot."""
    sentences = []
    for recipe, pilot in pilots.items():
        signs = regime_signs(pilot)
        met = signs[signs["met"] == True]  # noqa: E712  (an object column: True, False or None)
        missed = signs[signs["met"] == False]  # noqa: E712
        part = f"{recipe} shows {len(met)} of the {len(signs)} signs"
        if len(missed):
            part += "; it misses: " + "; ".join(
                f"{r.sign} ({r.measured:.3g}, wanted {r.wanted})" for r in missed.itertuples()
            )
        sentences.append(part + ".")
    return Findings("cpu recipe pilot", tuple(sentences))
