"""Pairs of methods within a column (gce_lab.book.method_pairs): gaps over common seeds, their
standard errors and verdicts, the spread a data set borrows, and the order counts, on runs made up
so that the answers are known."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gce_lab.book.method_pairs import method_pairs, order_counts, pair_spread, table_noise
from gce_lab.book.noise_verdicts import FAILS, HOLDS, MISSING, WITHIN, SeedNoise


def _runs(accuracies: dict[str, list[float]], experiment: str = "table1", eta: float = 0.4) -> pd.DataFrame:
    """One CIFAR-10 uniform column: ``accuracies[method][seed]``."""
    metric = "test_acc_best_val" if experiment == "table1" else "test_acc_last"
    noise = "uniform" if experiment == "table1" else "closed_set"
    return pd.DataFrame(
        [
            {
                "experiment": experiment,
                "profile": "cpu",
                "dataset": "cifar10",
                "noise": noise,
                "eta": eta,
                "method": method,
                "seed": seed,
                metric: acc,
            }
            for method, per_seed in accuracies.items()
            for seed, acc in enumerate(per_seed)
        ]
    )


def _column(pairs: pd.DataFrame, eta: float = 0.4) -> pd.DataFrame:
    chosen = (pairs["dataset"] == "cifar10") & (pairs["eta"] == eta)
    return pairs[chosen & pairs["noise"].isin(["uniform", "closed_set"])]


def _pair(pairs: pd.DataFrame, a: str, b: str) -> pd.Series:
    column = _column(pairs)
    return column[(column["a"] == a) & (column["b"] == b)].iloc[0]


def test_our_gap_is_paired_over_common_seeds_against_the_pooled_spread():
    # differences lq - cce: 3, 5, 4 -> mean 4, sd 1; se = 1 / sqrt(3)
    runs = _runs({"cce": [60, 61, 62], "lq": [63, 66, 66]})
    pairs = method_pairs(runs, "table1")
    lq_cce = _pair(pairs, "lq", "cce")
    assert lq_cce["ours_gap"] == pytest.approx(4.0) and lq_cce["ours_seeds"] == 3
    assert lq_cce["ours_se"] == pytest.approx(1 / math.sqrt(3)) and lq_cce["ours_verdict"] == HOLDS
    assert _pair(pairs, "cce", "lq")["ours_verdict"] == FAILS  # the same pair, the other way round
    # the paper, CIFAR-10 uniform 0.4: L_q 87.13 +- 0.22, CCE 81.88 +- 0.29
    assert lq_cce["paper_gap"] == pytest.approx(87.13 - 81.88)
    assert lq_cce["paper_se"] == pytest.approx(math.sqrt((0.22**2 + 0.29**2) / 5))
    assert lq_cce["paper_verdict"] == HOLDS
    # methods we did not run have no gap on our side, but the paper's pairs are all there
    assert math.isnan(_pair(pairs, "mae", "cce")["ours_gap"]) and _pair(pairs, "mae", "cce")["ours_verdict"] == MISSING
    assert len(_column(pairs)) == 6 * 5  # the paper's six methods of the column, ordered pairs


def test_a_gap_inside_the_spread_is_within_noise_and_one_seed_borrows_the_spread():
    runs = _runs({"cce": [60, 64, 62], "lq": [62, 62, 64]})  # differences 2, -2, 2: sd 2.31
    assert _pair(method_pairs(runs, "table1"), "lq", "cce")["ours_verdict"] == WITHIN
    one_seed = _runs({"cce": [60], "lq": [70]})
    assert table_noise(one_seed, "table1") == {}  # no column has two seeds
    assert _pair(method_pairs(one_seed, "table1"), "lq", "cce")["ours_verdict"] == MISSING
    borrowed = table_noise(one_seed, "table1", {("cifar10", "cce", "lq"): SeedNoise(2.0, 10, 5)})
    assert pair_spread(borrowed, "cifar10", "lq", "cce").sd == 2.0  # in either order
    pair = _pair(method_pairs(one_seed, "table1", borrowed), "lq", "cce")
    assert pair["ours_dof"] == 10 and pair["ours_verdict"] == HOLDS  # 10 > 2.23 * 2


def test_one_unstable_method_does_not_widen_the_other_pairs_spread():
    # MAE's seeds swing by 20 points; L_q is 2 points above CCE on every seed, give or take 0.5
    runs = _runs({"cce": [60, 61, 62], "lq": [62.5, 63, 63.5], "mae": [20, 40, 22]})
    pairs = method_pairs(runs, "table1")
    assert _pair(pairs, "lq", "cce")["ours_verdict"] == HOLDS
    assert _pair(pairs, "lq", "mae")["ours_se"] > 5 * _pair(pairs, "lq", "cce")["ours_se"]


def test_order_counts_count_beyond_noise_only_where_both_sides_decide():
    runs = _runs({"cce": [60, 61, 62], "lq": [63, 66, 66], "mae": [30, 30.5, 29], "truncated_lq": [60, 63, 63]})
    counts = order_counts(method_pairs(runs, "table1"), ["dataset", "noise", "eta"]).loc[("cifar10", "uniform", 0.4)]
    # the paper at CIFAR-10 uniform 0.4: trunc. L_q 87.62 > L_q 87.13 > CCE 81.88 > MAE, every gap
    # beyond its noise. Ours: L_q 3 points above trunc. on every seed (against the paper, beyond the
    # noise); trunc. 1 point above CCE (as the paper, within our noise); the other 4 pairs agree
    # beyond the noise
    assert counts.to_dict() == {"pairs": 6, "same_order": 5, "beyond_noise": 5, "beyond_noise_same_order": 4}


def test_table2_has_no_paper_spread_so_no_pair_counts_beyond_noise():
    runs = _runs({"cce": [50, 51, 52], "lq": [60, 62, 61]}, experiment="table2")
    pairs = method_pairs(runs, "table2")
    lq_cce = _pair(pairs, "lq", "cce")
    assert math.isnan(lq_cce["paper_se"]) and lq_cce["paper_verdict"] == HOLDS  # decided by the sign
    assert order_counts(pairs, ["dataset"]).loc["cifar10", "beyond_noise"] == 0
