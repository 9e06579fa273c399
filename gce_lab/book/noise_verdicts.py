"""Verdicts that know their noise: *holds*, *does not hold*, *within noise* or *cannot say*.

One seed of a column orders two methods by chance as often as not when their gap is small: the
difference between two one-seed accuracies moves by points from seed to seed, and by far more
for a method that sometimes fails to train (MAE). So a comparison ("L_q beats CCE") is decided
here from the difference of the means over the seeds both methods ran, against its standard
error:

* **the spread** of a one-seed difference is measured per data set and *pair of methods*,
  pooled over the columns where the pair has two or more common seeds (:func:`pair_noise`): the
  sum of squared deviations of the paired differences from their column's mean, over the sum of
  their degrees of freedom. Each pair has its own spread, because one unstable method must not
  widen the spread of every other pair. A column's own three seeds give its spread two degrees
  of freedom, too few to trust alone (a 95 % interval of 0.52 to 6.3 times the true spread);
  the pool over columns has more. A column with one seed uses the pair's pool, and says so.
* **the rule**: with ``n`` seeds, the standard error of the mean difference is ``sd / sqrt(n)``;
  the comparison *holds* when the mean difference exceeds :func:`critical_value` standard
  errors, *does not hold* when it is below minus that, and is *within noise* otherwise. The
  critical value is the two-sided 95 % quantile of Student's t with the spread's degrees of
  freedom (12.7 for one, 2.78 for four, 1.96 for many): a 5 % chance of calling a tie either
  way when the pair's gap is nought.
* **the paper's side** has five runs per method and reports their standard deviations, not the
  runs: its mean difference gets the unpaired standard error ``sqrt((s_a^2 + s_b^2) / 5)`` with
  Welch's degrees of freedom.

A claim over several columns (:func:`claim_verdict`) *holds* when its quantifier's share of
columns holds, *does not hold* when enough columns fail that no outcome of the others could save
it, *cannot say* when missing columns could still decide it, and is *within noise* otherwise.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gce_lab.validation import check_choice

__all__ = [
    "HOLDS",
    "FAILS",
    "WITHIN",
    "MISSING",
    "LEVEL",
    "PAPER_RUNS",
    "SeedNoise",
    "NO_SPREAD",
    "critical_value",
    "welch_dof",
    "pair_noise",
    "gap_verdict",
    "column_verdict",
    "claim_verdict",
    "paired_difference",
]

HOLDS, FAILS, WITHIN, MISSING = "holds", "does not hold", "within noise", "cannot say (data missing)"
LEVEL = 0.95  #: the two-sided level of a comparison: a tie is called a tie 95 % of the time
PAPER_RUNS = 5  #: the paper's runs per number ("averaged over 5 runs", Tables 1 and 2)

_COLUMN = ["dataset", "noise", "eta"]


@dataclass(frozen=True)
class SeedNoise:
    """The spread of a one-seed difference between two methods of one column, pooled over columns.

    Attributes:
        sd: the pooled standard deviation (accuracy points); NaN when no column has two seeds.
        dof: its degrees of freedom (sum over the pooled columns of common seeds - 1).
        columns: how many multi-seed columns it pools.
    """

    sd: float
    dof: int
    columns: int


NO_SPREAD = SeedNoise(math.nan, 0, 0)  #: the spread of a pair without multi-seed columns


def critical_value(dof: float) -> float:
    """The two-sided :data:`LEVEL` quantile of Student's t with ``dof`` degrees of freedom (a float:
    Welch's are fractional, and are rounded to 0.01 here; ``math.inf``: the normal's 1.96), by
    bisection on its CDF, integrated with Simpson's rule."""
    if not dof > 0:
        raise ValueError(f"dof must be > 0, got {dof}")
    return _critical_value(math.inf if math.isinf(dof) else round(dof, 2))


@functools.lru_cache(maxsize=None)
def _critical_value(dof: float) -> float:
    if math.isinf(dof):
        return 1.959963984540054
    scale = math.exp(math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2)) / math.sqrt(dof * math.pi)

    def upper_tail(x: float) -> float:  # P(T > x) for x >= 0
        t = np.linspace(0.0, x, 4001)
        density = scale * (1 + t**2 / dof) ** (-(dof + 1) / 2)
        integral = (x / 12000) * (density[0] + 4 * density[1:-1:2].sum() + 2 * density[2:-1:2].sum() + density[-1])
        return 0.5 - integral

    low, high = 0.0, 1.0
    while upper_tail(high) > (1 - LEVEL) / 2:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if upper_tail(middle) > (1 - LEVEL) / 2 else (low, middle)
    return (low + high) / 2


def welch_dof(sd_a: float, sd_b: float, runs: int = PAPER_RUNS) -> float:
    """Welch's degrees of freedom of the difference of two means of ``runs`` runs each (inf when
    both standard deviations are nought)."""
    a, b = sd_a**2 / runs, sd_b**2 / runs
    return (a + b) ** 2 / ((a**2 + b**2) / (runs - 1)) if a + b > 0 else math.inf


def pair_noise(runs: pd.DataFrame, metric: str) -> dict[tuple[str, str, str], SeedNoise]:
    """Per data set and pair of methods ``(dataset, a, b)`` with ``a < b``, the pooled spread of
    their one-seed differences of ``metric`` (e.g. ``test_acc_best_val``) over the columns where
    they have two or more common seeds; pairs without such a column are left out. ``runs`` needs
    ``dataset``, ``noise``, ``eta``, ``method``, ``seed`` and ``metric``; NaN values are dropped."""
    pooled: dict[tuple[str, str, str], list[float]] = {}  # key -> [squares, dof, columns]
    for (dataset, _, _), column in runs.dropna(subset=[metric]).groupby(_COLUMN, sort=False):
        wide = column.pivot_table(index="seed", columns="method", values=metric, aggfunc="first")
        methods = sorted(wide.columns)
        for i, a in enumerate(methods):
            for b in methods[i + 1 :]:
                d = (wide[a] - wide[b]).dropna()
                if len(d) >= 2:
                    total = pooled.setdefault((str(dataset), a, b), [0.0, 0, 0])
                    total[0] += float(((d - d.mean()) ** 2).sum())
                    total[1] += len(d) - 1
                    total[2] += 1
    return {key: SeedNoise(math.sqrt(squares / dof), dof, columns) for key, (squares, dof, columns) in pooled.items()}


def gap_verdict(mean_difference: float, standard_error: float, dof: float = math.inf) -> str:
    """:data:`HOLDS` when ``mean_difference`` exceeds :func:`critical_value` ``(dof)`` standard errors,
    :data:`FAILS` below minus that, :data:`WITHIN` between; :data:`MISSING` when either is NaN."""
    if math.isnan(mean_difference) or math.isnan(standard_error):
        return MISSING
    if standard_error < 0:
        raise ValueError(f"standard_error must be >= 0, got {standard_error}")
    threshold = critical_value(dof) * standard_error
    if mean_difference > threshold:
        return HOLDS
    if mean_difference < -threshold:
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
    words = {WITHIN: "within noise", FAILS: "does not hold" if failed == 1 else "do not hold", MISSING: "missing"}
    parts += [f"{count[v]} {words[v]}" for v in (WITHIN, FAILS, MISSING) if count[v]]
    return f"{decided.split(' (')[0]} ({', '.join(parts)})"


def paired_difference(ours: Mapping[int, float], theirs: Mapping[int, float]) -> tuple[float, int]:
    """The mean over common seeds of ``ours[s] - theirs[s]`` and the number of common seeds
    (NaN and 0 when they share none)."""
    seeds = sorted(set(ours) & set(theirs))
    if not seeds:
        return math.nan, 0
    return sum(ours[s] - theirs[s] for s in seeds) / len(seeds), len(seeds)
