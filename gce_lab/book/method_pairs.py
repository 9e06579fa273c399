"""Every pair of methods within a column of Table 1 or 2, on our runs and in the paper: the gap
between the two and its standard error, and so whether the pair is ordered beyond the noise.

* **Ours:** the gap is the mean over the seeds both methods ran of their paired difference. Its
  standard error is the pair's pooled one-seed spread in the data set
  (:func:`gce_lab.book.noise_verdicts.pair_noise`) over the square root of the number of seeds,
  with the spread's degrees of freedom.
* **The paper's:** the gap is the difference of its means. Its standard error is
  ``sqrt((s_a^2 + s_b^2) / 5)`` from the standard deviations of its five runs, with Welch's
  degrees of freedom. Table 2 reports no standard deviations, so there the paper's side is
  decided by the sign (``paper_se`` is NaN).

Each pair carries both verdicts of :func:`gce_lab.book.noise_verdicts.gap_verdict` (*holds*: the
first method is ahead beyond the noise). The claims (:mod:`gce_lab.book.claims`), the
agreement tables of chapters 9 and 10 (:func:`gce_lab.book.report.agreement_table`) and the
closing chapter (:mod:`gce_lab.book.reproduced`) all read these pairs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from gce_lab.book.comparison import TABLE_METRIC, compare_with_paper, table_runs
from gce_lab.book.noise_verdicts import (
    FAILS,
    HOLDS,
    NO_SPREAD,
    PAPER_RUNS,
    SeedNoise,
    gap_verdict,
    pair_noise,
    paired_difference,
    welch_dof,
)

__all__ = ["Noise", "seed_accuracies", "table_noise", "pair_spread", "method_pairs", "order_counts"]

Noise = Mapping[tuple[str, str, str], SeedNoise]  # (dataset, a, b) with a < b -> the pair's spread

_COLUMN = ["dataset", "noise", "eta"]


def seed_accuracies(runs: pd.DataFrame, table: str, metric: str | None = None) -> pd.DataFrame:
    """Our finished runs of ``table`` with ``seed`` as int and ``acc``, the accuracy ``metric``
    (default: the one the table reports; rows without one dropped; one row per seed of a method
    in a column, the last)."""
    ours = table_runs(runs, table)
    ours = ours.assign(seed=ours["seed"].astype(int), acc=ours[metric or TABLE_METRIC[table]].astype(float))
    return ours.dropna(subset=["acc"]).drop_duplicates([*_COLUMN, "method", "seed"], keep="last")


def table_noise(
    runs: pd.DataFrame, table: str, borrowed: Noise | None = None, metric: str | None = None
) -> dict[tuple[str, str, str], SeedNoise]:
    """Per data set and pair of methods, the pooled spread of one-seed differences of ``table``'s
    accuracy (or of ``metric``, e.g. ``test_acc_last``); a pair without multi-seed columns takes
    ``borrowed``'s where given (e.g. Table 1's for Table 2)."""
    return {**(borrowed or {}), **pair_noise(seed_accuracies(runs, table, metric), "acc")}


def pair_spread(noise: Noise, dataset: str, a: str, b: str) -> SeedNoise:
    """The spread of the pair (a, b) of ``dataset`` in ``noise``, in either order; :data:`NO_SPREAD` if none."""
    return noise.get((dataset, *sorted((a, b))), NO_SPREAD)


def method_pairs(runs: pd.DataFrame, table: str, noise: Noise | None = None) -> pd.DataFrame:
    """Every ordered pair (a, b) of methods within each column of ``table`` that either side ran.

    ``noise`` is the spread per data set and pair (default: :func:`table_noise` of ``runs``).
    Columns: dataset, noise, eta, a, b, ours_gap (a - b, NaN unless both ran a common seed),
    ours_seeds, ours_se, ours_dof, ours_verdict, paper_gap, paper_se, paper_verdict.
    """
    comparison = compare_with_paper(runs, table)
    ours = seed_accuracies(runs, table)
    noise = table_noise(runs, table) if noise is None else noise
    rows = []
    for (dataset, kind, eta), column in comparison.groupby(_COLUMN, sort=False):
        cell = ours[(ours["dataset"] == dataset) & (ours["noise"] == kind) & (ours["eta"] == eta)]
        seeds = {m: dict(zip(g["seed"], g["acc"])) for m, g in cell.groupby("method", sort=False)}
        paper = column.set_index("method")
        for a, b in itertools.permutations(column["method"], 2):
            ours_gap, n = paired_difference(seeds.get(a, {}), seeds.get(b, {}))
            spread = pair_spread(noise, dataset, a, b)
            ours_se = spread.sd / math.sqrt(n) if n else math.nan
            paper_gap = float(paper.loc[a, "paper_mean"] - paper.loc[b, "paper_mean"])
            sd_a, sd_b = paper.loc[a, "paper_std"], paper.loc[b, "paper_std"]
            paper_se = math.sqrt((sd_a**2 + sd_b**2) / PAPER_RUNS)
            paper_verdict = (  # Table 2 has no standard deviations: by the sign
                gap_verdict(paper_gap, 0.0)
                if math.isnan(paper_se)
                else gap_verdict(paper_gap, paper_se, welch_dof(sd_a, sd_b))
            )
            rows.append(
                {
                    "dataset": dataset,
                    "noise": kind,
                    "eta": eta,
                    "a": a,
                    "b": b,
                    "ours_gap": ours_gap,
                    "ours_seeds": n,
                    "ours_se": ours_se,
                    "ours_dof": spread.dof,
                    "ours_verdict": gap_verdict(ours_gap, ours_se, spread.dof or math.inf),
                    "paper_gap": paper_gap,
                    "paper_se": paper_se,
                    "paper_verdict": paper_verdict,
                }
            )
    columns = [*_COLUMN, "a", "b", "ours_gap", "ours_seeds", "ours_se", "ours_dof", "ours_verdict"]
    return pd.DataFrame(rows, columns=[*columns, "paper_gap", "paper_se", "paper_verdict"])


def order_counts(pairs: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per group of ``by``: the unordered pairs of methods with a gap on both sides (``pairs``),
    those we order as the paper does (``same_order``; a tie agrees only with a tie), the pairs
    decided beyond the noise on both sides (``beyond_noise``; never where the paper gives no
    standard deviations) and, of those, the ones in the paper's order (``beyond_noise_same_order``)."""
    both = pairs[(pairs["a"] < pairs["b"]) & pairs["ours_gap"].notna() & pairs["paper_gap"].notna()]
    decided = both["ours_verdict"].isin([HOLDS, FAILS]) & both["paper_verdict"].isin([HOLDS, FAILS])
    decided &= both["paper_se"].notna()
    same = np.sign(both["ours_gap"]) == np.sign(both["paper_gap"])
    counted = both.assign(same_order=same, beyond_noise=decided, beyond_noise_same_order=same & decided)
    counts = counted.groupby(list(by), sort=False).agg(
        pairs=("a", "size"),
        same_order=("same_order", "sum"),
        beyond_noise=("beyond_noise", "sum"),
        beyond_noise_same_order=("beyond_noise_same_order", "sum"),
    )
    return counts.astype(int)
