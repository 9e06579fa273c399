"""Verdicts that know their noise: *holds*, *does not hold*, *within noise* or *cannot say*.

One seed of a column orders two methods by chance as often as not when their gap is small: the
difference between two one-seed accuracies moves by about two points from seed to seed on our
``cpu`` CIFAR-10 runs. So a comparison ("L_q beats CCE") is decided here from the difference of
the means over the seeds both methods ran, against its standard error:

* **the spread** of a one-seed difference is measured once per data set, pooled over every
  column and every pair of methods with two or more seeds (:func:`seed_noise`): the sum of
  squared deviations of the paired differences from their column's mean, over the sum of their
  degrees of freedom. A column's own three seeds give its spread two degrees of freedom, too few
  to trust on their own (a 95 % interval of 0.52 to 6.3 times the true spread); the pool has
  tens. A column with one seed uses the pool of its data set's multi-seed columns, and says so.
* **the rule**: with ``n`` seeds, the standard error of the mean difference is ``sd / sqrt(n)``;
  the comparison *holds* when the mean difference exceeds ``Z = 2`` standard errors, *does not
  hold* when it is below ``-Z`` standard errors, and is *within noise* otherwise (two standard
  errors: about a 5 % chance of calling a tie either way when the spread is the true one).
* **the paper's side** has five runs per method and reports their standard deviations, not the
  runs: its mean difference gets the unpaired standard error ``sqrt((s_a^2 + s_b^2) / 5)``.

A claim over several columns (:func:`claim_verdict`) *holds* when its quantifier's share of
columns holds, *does not hold* when enough columns fail that no outcome of the others could save
it, *cannot say* when missing columns could still decide it, and is *within noise* otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from gce_lab.validation import check_choice

__all__ = [
    "HOLDS",
    "FAILS",
    "WITHIN",
    "MISSING",
    "Z",
    "PAPER_RUNS",
    "SeedNoise",
    "seed_noise",
    "gap_verdict",
    "column_verdict",
    "claim_verdict",
    "paired_difference",
]

HOLDS, FAILS, WITHIN, MISSING = "holds", "does not hold", "within noise", "cannot say (data missing)"
Z = 2.0  #: standard errors a mean difference must exceed to decide a comparison
PAPER_RUNS = 5  #: the paper's runs per number ("averaged over 5 runs", Tables 1 and 2)

_COLUMN = ["dataset", "noise", "eta"]


@dataclass(frozen=True)
class SeedNoise:
    """The spread of a one-seed difference between two methods of one column, for one data set.

    Attributes:
        sd: the pooled standard deviation (accuracy points); NaN when no column has two seeds.
        dof: its degrees of freedom (sum over the pooled differences of seeds - 1).
        columns: how many multi-seed columns it pools.
    """

    sd: float
    dof: int
    columns: int


def seed_noise(runs: pd.DataFrame, metric: str) -> dict[str, SeedNoise]:
    """Per data set, the pooled spread of one-seed differences of ``metric`` (e.g.
    ``test_acc_best_val``) between every two methods of every column with two or more common
    seeds. ``runs`` needs ``dataset``, ``noise``, ``eta``, ``method``, ``seed`` and ``metric``."""
    noise: dict[str, SeedNoise] = {}
    for dataset, part in runs.groupby("dataset", sort=False):
        squares, dof, columns = 0.0, 0, 0
        for _, column in part.groupby(_COLUMN[1:], sort=False):
            wide = column.pivot_table(index="seed", columns="method", values=metric, aggfunc="first")
            methods = list(wide.columns)
            counted = False
            for i, a in enumerate(methods):
                for b in methods[i + 1 :]:
                    d = (wide[a] - wide[b]).dropna()
                    if len(d) >= 2:
                        squares += float(((d - d.mean()) ** 2).sum())
                        dof += len(d) - 1
                        counted = True
            columns += counted
        noise[str(dataset)] = SeedNoise(math.sqrt(squares / dof) if dof else math.nan, dof, columns)
    return noise


def gap_verdict(mean_difference: float, standard_error: float) -> str:
    """:data:`HOLDS` when ``mean_difference`` exceeds :data:`Z` standard errors, :data:`FAILS`
    below ``-Z``, :data:`WITHIN` between; :data:`MISSING` when either is NaN."""
    if math.isnan(mean_difference) or math.isnan(standard_error):
        return MISSING
    if standard_error < 0:
        raise ValueError(f"standard_error must be >= 0, got {standard_error}")
    if mean_difference > Z * standard_error:
        return HOLDS
    if mean_difference < -Z * standard_error:
        return FAILS
    return WITHIN


def column_verdict(outcomes: Iterable[str]) -> str:
    """One column from its comparisons (every pair a claim orders): :data:`FAILS` if any fails,
    :data:`MISSING` if any is missing, :data:`HOLDS` if all hold, else :data:`WITHIN`."""
    outcomes = list(outcomes)
    if not outcomes or MISSING in outcomes:
        return MISSING
    if FAILS in outcomes:
        return FAILS
    return HOLDS if all(o == HOLDS for o in outcomes) else WITHIN


def claim_verdict(columns: Sequence[str], quantifier: str) -> str:
    """A claim over its columns (each a :func:`column_verdict`), for ``quantifier`` ``"all"``
    (every column must hold) or ``"most"`` (more than half), with the counts behind it, e.g.
    ``"within noise (2 of 4 columns hold, 1 within noise, 1 does not hold)"`` or
    ``"cannot say (1 of 4 columns hold, 3 missing)"``."""
    check_choice("quantifier", quantifier, ("all", "most"))
    n = len(columns)
    if n == 0:
        return "cannot say (no columns)"
    count = {v: list(columns).count(v) for v in (HOLDS, WITHIN, FAILS, MISSING)}
    held, failed, missing = count[HOLDS], count[FAILS], count[MISSING]
    if quantifier == "all":
        decided = FAILS if failed else HOLDS if held == n else MISSING if missing else WITHIN
    elif held > n / 2:
        decided = HOLDS
    elif failed >= n / 2:
        decided = FAILS
    else:  # cannot say while the missing columns could still decide it either way
        decided = MISSING if missing and (held + missing > n / 2 or failed + missing >= n / 2) else WITHIN
    parts = [f"{count[HOLDS]} of {n} columns hold"]
    parts += [f"{count[v]} {v if v != MISSING else 'missing'}" for v in (WITHIN, FAILS, MISSING) if count[v]]
    return f"{decided.split(' (')[0]} ({', '.join(parts)})"


def paired_difference(ours: Mapping[int, float], theirs: Mapping[int, float]) -> tuple[float, int]:
    """The mean over common seeds of ``ours[s] - theirs[s]`` and the number of common seeds
    (NaN and 0 when they share none)."""
    seeds = sorted(set(ours) & set(theirs))
    if not seeds:
        return math.nan, 0
    return sum(ours[s] - theirs[s] for s in seeds) / len(seeds), len(seeds)
