"""The paper's claims as tests of table columns: noise-aware verdicts on results made up to hold,
fail or sit inside the noise, and on the paper's own numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gce_lab.book.claims import CLAIMS, claims_table, column_verdicts
from gce_lab.book.comparison import reported_results
from gce_lab.book.method_pairs import method_pairs
from gce_lab.book.noise_verdicts import FAILS, HOLDS, MISSING, WITHIN, SeedNoise

_BY_KEY = {c.key: c for c in CLAIMS}
_UNIFORM = _BY_KEY["uniform_lq_beats_baselines"]
_CLEAR = {"cce": 60, "mae": 40, "forward_t": 61, "forward_t_hat": 59, "lq": 70, "truncated_lq": 70.3}


def _runs(
    means: dict[tuple[str, float], dict[str, float]], seeds: int, spread: float, experiment: str = "table1"
) -> pd.DataFrame:
    """Columns (noise, eta) of CIFAR-10: each method at its mean plus seed noise of ``spread``."""
    metric = "test_acc_best_val" if experiment == "table1" else "test_acc_last"
    rng = np.random.default_rng(0)
    rows = [
        {
            "experiment": experiment,
            "profile": "cpu",
            "run_id": f"cifar10-{method}-{noise}{eta}-s{seed}",
            "dataset": "cifar10",
            "noise": noise,
            "eta": eta,
            "method": method,
            "seed": seed,
            "best_epoch": 5,
            metric: acc + spread * rng.standard_normal(),
        }
        for (noise, eta), per_method in means.items()
        for seed in range(seeds)
        for method, acc in per_method.items()
    ]
    return pd.DataFrame(rows)


def _uniform(per_method: dict[str, float]) -> dict[tuple[str, float], dict[str, float]]:
    return {("uniform", eta): dict(per_method) for eta in (0.2, 0.4, 0.6, 0.8)}


def _every_pair(sd: float, dof: int, datasets=("cifar10",)) -> dict[tuple[str, str, str], SeedNoise]:
    """A spread of ``sd`` with ``dof`` degrees of freedom for every pair of the paper's methods."""
    methods = sorted(_CLEAR)
    return {(d, a, b): SeedNoise(sd, dof, 8) for d in datasets for i, a in enumerate(methods) for b in methods[i + 1 :]}


def _ours(claim, runs, **kwargs):
    return column_verdicts(claim, method_pairs(runs, claim.table, **kwargs), "cifar10", "ours")


def test_a_clear_gap_holds_on_every_column():
    assert _ours(_UNIFORM, _runs(_uniform(_CLEAR), seeds=3, spread=1.0)) == [HOLDS] * 4


def test_a_small_gap_against_a_large_spread_is_within_noise():
    close = {**_CLEAR, "lq": 61.5, "truncated_lq": 61.6}
    verdicts = _ours(_UNIFORM, _runs(_uniform(close), seeds=3, spread=3.0))
    assert WITHIN in verdicts and HOLDS not in verdicts


def test_a_reversed_gap_does_not_hold():
    assert _ours(_UNIFORM, _runs(_uniform({**_CLEAR, "cce": 80}), seeds=3, spread=1.0)) == [FAILS] * 4


def test_one_seed_without_a_measured_spread_cannot_say_and_with_a_borrowed_one_can():
    runs = _runs(_uniform(_CLEAR), seeds=1, spread=1.0)
    assert _ours(_UNIFORM, runs) == [MISSING] * 4
    assert _ours(_UNIFORM, runs, noise=_every_pair(1.0, 20)) == [HOLDS] * 4


def test_the_papers_side_is_judged_from_its_standard_deviations():
    pairs = method_pairs(_runs(_uniform(_CLEAR), seeds=1, spread=0.0), "table1")
    verdicts = column_verdicts(_UNIFORM, pairs, "cifar10", "paper")
    # Table 1, CIFAR-10, uniform: truncated L_q beats Forward T by 1.07 points at 0.2 (0.11 and
    # 0.14 std), every column decided or within noise, never missing
    assert len(verdicts) == 4 and set(verdicts) <= {HOLDS, WITHIN, FAILS}


def test_claims_table_gives_verdicts_with_counts_and_says_how_our_side_was_judged():
    good = claims_table(_runs(_uniform(_CLEAR), seeds=3, spread=1.0), "table1")
    ours = good["ours (cpu profile)"]
    assert ours[(_UNIFORM.statement, "cifar10")] == "holds (4 of 4 columns hold)"
    truncation = _BY_KEY["uniform_truncation_helps"].statement  # 70.3 against 70, seed noise 1: within it
    assert ours[(truncation, "cifar10")].startswith(WITHIN)
    assert good.loc[(_UNIFORM.statement, "cifar10"), "our seeds"].startswith(
        "3 seeds a method and column; each pair's one-seed spread pooled over its multi-seed columns: median"
    )
    bad = _uniform(_CLEAR)
    for eta in (0.2, 0.4, 0.6):
        bad[("uniform", eta)]["cce"] = 80
    refuted = claims_table(_runs(bad, seeds=3, spread=1.0), "table1")["ours (cpu profile)"]
    assert refuted[(_UNIFORM.statement, "cifar10")] == "does not hold (1 of 4 columns hold, 3 do not hold)"


def test_claim_cannot_be_said_without_its_methods():
    table = claims_table(_runs(_uniform({"cce": 60, "lq": 70}), seeds=3, spread=1.0), "table1")
    assert table["ours (cpu profile)"][(_UNIFORM.statement, "cifar10")] == "cannot say (0 of 4 columns hold, 4 missing)"


def test_mae_poor_everywhere_on_the_papers_own_numbers():
    paper = reported_results("table1")
    runs = paper.rename(columns={"mean": "test_acc_best_val"}).assign(experiment="table1", profile="paper", seed=0)
    claim = _BY_KEY["mae_poor_everywhere"]
    pairs = method_pairs(runs, "table1", _every_pair(0.0, 1, ("fashion_mnist", "cifar10", "cifar100")))
    for dataset in ("fashion_mnist", "cifar10", "cifar100"):
        # the same numbers on our side, with no spread: every column holds by the sign
        assert column_verdicts(claim, pairs, dataset, "ours") == [HOLDS] * 8
    # on the paper's side its standard deviations count: at CIFAR-10 uniform 0.2, MAE's 83.72 +- 3.84
    # against CCE's 86.98 +- 0.44 is 3.26 points, inside the noise (SE 1.73, 4.1 Welch dof)
    assert column_verdicts(claim, pairs, "cifar10", "paper") == [WITHIN] + [HOLDS] * 7


def test_table2_borrows_table1s_spread_and_says_so():
    closed = {("closed_set", 0.4): {"cce": 50, "forward_t": 55, "mae": 58, "lq": 56, "truncated_lq": 60}}
    runs = _runs(closed, seeds=1, spread=0.0, experiment="table2")
    by_key = {c.key: c.statement for c in CLAIMS if c.table == "table2"}
    alone = claims_table(runs, "table2")
    assert alone["ours (cpu profile)"][(by_key["table2_lq_beats_cce"], "cifar10")].startswith("cannot say")
    table = claims_table(runs, "table2", _every_pair(1.0, 20))
    # the open-set row is missing: a claim over both rows stays open unless the closed row refutes it
    assert table["ours (cpu profile)"][(by_key["table2_lq_beats_cce"], "cifar10")] == (
        "cannot say (1 of 2 columns hold, 1 missing)"
    )
    assert table["ours (cpu profile)"][(by_key["table2_mae_beats_lq"], "cifar10")] == (
        "cannot say (0 of 2 columns hold, 1 within noise, 1 missing)"
    )
    assert table.loc[(by_key["table2_lq_beats_cce"], "cifar10"), "our seeds"].endswith(
        "multi-seed columns of Table 1: median 1.00 points (1.00 to 1.00, 15 pairs)"
    )


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="table must be one of"):
        claims_table(pd.DataFrame(), "table3")
    with pytest.raises(ValueError, match="side must be one of"):
        column_verdicts(_UNIFORM, pd.DataFrame(), "cifar10", "theirs")
