"""Verdicts that know their noise (gce_lab.book.noise_verdicts), on cases whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gce_lab.book.noise_verdicts import (
    FAILS,
    HOLDS,
    MISSING,
    WITHIN,
    claim_verdict,
    column_verdict,
    critical_value,
    gap_verdict,
    pair_noise,
    paired_difference,
    welch_dof,
)


def _runs(cells: dict[tuple[str, str, float], dict[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for (dataset, noise, eta), methods in cells.items():
        for method, accuracies in methods.items():
            for seed, accuracy in enumerate(accuracies):
                rows.append(
                    {"dataset": dataset, "noise": noise, "eta": eta, "method": method, "seed": seed, "acc": accuracy}
                )
    return pd.DataFrame(rows)


def test_pair_noise_pools_each_pairs_paired_differences_over_its_multi_seed_columns():
    runs = _runs(
        {
            ("x", "uniform", 0.2): {"a": [61.0, 63.0, 65.0], "b": [60.0, 60.0, 60.0], "c": [10.0, 50.0, 30.0]},
            ("x", "uniform", 0.4): {"a": [50.0, 52.0], "b": [48.0, 50.0]},  # a - b = 2, 2: SS 0, 1 dof
            ("x", "uniform", 0.6): {"a": [40.0], "b": [10.0]},  # one seed: not pooled
            ("y", "uniform", 0.2): {"a": [70.0], "b": [71.0]},
        }
    )
    noise = pair_noise(runs, "acc")
    # a - b = 1, 3, 5 at 0.2 (SS 8, 2 dof) and 2, 2 at 0.4: pooled over 3 dof; c's wild seeds do not enter it
    assert noise[("x", "a", "b")].sd == pytest.approx(math.sqrt(8 / 3))
    assert (noise[("x", "a", "b")].dof, noise[("x", "a", "b")].columns) == (3, 2)
    assert noise[("x", "a", "c")].sd > 10 and noise[("x", "a", "c")].dof == 2
    assert ("y", "a", "b") not in noise  # no column with two seeds


def test_critical_value_is_students_t_quantile():
    # the two-sided 95 % quantiles of t tables
    for dof, quantile in ((1, 12.706), (4, 2.776), (10, 2.228), (30, 2.042), (math.inf, 1.960)):
        assert critical_value(dof) == pytest.approx(quantile, abs=1e-3)
    with pytest.raises(ValueError, match="dof must be > 0"):
        critical_value(0)
    # Welch: equal spreads of 5 runs give 8 degrees of freedom, one dominant spread 4
    assert welch_dof(1.0, 1.0) == pytest.approx(8.0) and welch_dof(1.0, 0.0) == pytest.approx(4.0)


def test_gap_verdict_thresholds_at_the_critical_value():
    z = critical_value(math.inf)
    assert gap_verdict(z + 0.01, 1.0) == HOLDS
    assert gap_verdict(-(z + 0.01), 1.0) == FAILS
    assert gap_verdict(z - 0.01, 1.0) == WITHIN and gap_verdict(0.0, 0.0) == WITHIN
    assert gap_verdict(2.5, 1.0, dof=4) == WITHIN and gap_verdict(2.5, 1.0) == HOLDS  # few dof: a wider band
    assert gap_verdict(math.nan, 1.0) == MISSING and gap_verdict(1.0, math.nan) == MISSING
    with pytest.raises(ValueError, match="standard_error must be >= 0"):
        gap_verdict(1.0, -1.0)


@pytest.mark.parametrize("true_gap, expected, at_least", [(0.0, WITHIN, 0.93), (5.0, HOLDS, 0.98), (-5.0, FAILS, 0.98)])
def test_the_rule_finds_the_known_answer_of_simulated_seeds(true_gap, expected, at_least):
    """Three seeds of two methods whose one-seed difference has spread 2, the spread known from a
    large pool: a tie is called a tie about 95 % of the time, and a 5-point gap (4.3 standard
    errors) is found nearly always."""
    rng = np.random.default_rng(0)
    sd, n = 2.0, 3
    verdicts = [
        gap_verdict(float(np.mean(true_gap + sd * rng.standard_normal(n))), sd / math.sqrt(n)) for _ in range(2000)
    ]
    assert verdicts.count(expected) / len(verdicts) >= at_least


def test_column_verdict_needs_every_comparison():
    assert column_verdict([HOLDS, HOLDS]) == HOLDS
    assert column_verdict([HOLDS, WITHIN]) == WITHIN
    assert column_verdict([HOLDS, FAILS, WITHIN]) == FAILS
    assert column_verdict([HOLDS, MISSING]) == MISSING and column_verdict([]) == MISSING


@pytest.mark.parametrize(
    "columns, quantifier, decided",
    [
        ([HOLDS] * 4, "all", HOLDS),
        ([HOLDS, HOLDS, HOLDS, FAILS], "all", FAILS),
        ([HOLDS, HOLDS, WITHIN, HOLDS], "all", WITHIN),
        ([HOLDS, MISSING, WITHIN, HOLDS], "all", MISSING),
        ([HOLDS, HOLDS, HOLDS, WITHIN], "most", HOLDS),
        ([FAILS, FAILS, HOLDS, HOLDS], "most", FAILS),  # half failing: more than half cannot hold
        ([HOLDS, HOLDS, WITHIN, WITHIN], "most", WITHIN),
        ([HOLDS, HOLDS, MISSING, WITHIN], "most", MISSING),  # the missing column could make it hold
        ([HOLDS, FAILS, WITHIN, MISSING], "most", MISSING),  # ... or make it fail
    ],
)
def test_claim_verdict_over_columns(columns, quantifier, decided):
    assert claim_verdict(columns, quantifier).startswith(decided.split(" (")[0] + " (")


def test_claim_verdict_says_its_counts():
    assert claim_verdict([HOLDS, WITHIN, FAILS, MISSING], "most") == (
        "cannot say (1 of 4 columns hold, 1 within noise, 1 does not hold, 1 missing)"
    )
    assert claim_verdict([], "all") == "cannot say (no columns)"
    with pytest.raises(ValueError, match="quantifier"):
        claim_verdict([HOLDS], "some")


def test_paired_difference_uses_common_seeds_only():
    assert paired_difference({0: 60.0, 1: 62.0, 2: 70.0}, {0: 59.0, 1: 59.0}) == (2.0, 2)
    difference, n = paired_difference({0: 1.0}, {1: 1.0})
    assert math.isnan(difference) and n == 0
