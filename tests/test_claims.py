"""The paper's claims as tests of table columns: the verdict logic, and claims checked on
results made up to pass or fail them, and on the paper's own numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from gce_lab.book.claims import CLAIMS, claims_table, column_verdicts, verdict
from gce_lab.book.comparison import compare_with_paper, reported_results


@pytest.mark.parametrize(
    "outcomes, quantifier, expected",
    [
        ([True] * 4, "all", "holds (4 of 4 columns pass)"),
        ([True, True, True, False], "all", "does not hold (3 of 4 columns pass)"),
        ([True, None, True, True], "all", "cannot say (3 of 4 columns pass, 1 missing)"),
        ([False, None, None, None], "all", "does not hold (0 of 4 columns pass, 3 missing)"),
        ([True, True, True, None], "most", "holds (3 of 4 columns pass, 1 missing)"),
        ([True, True, False, False], "most", "does not hold (2 of 4 columns pass)"),
        ([True, True, None, None], "most", "cannot say (2 of 4 columns pass, 2 missing)"),
        ([False, False, None, None], "most", "does not hold (0 of 4 columns pass, 2 missing)"),
        ([], "all", "cannot say (no columns)"),
    ],
)
def test_verdict_is_given_only_when_missing_columns_cannot_change_it(outcomes, quantifier, expected):
    assert verdict(outcomes, quantifier) == expected


def _runs_from(means: dict[tuple[str, str, float], dict[str, float]], experiment: str = "table1") -> pd.DataFrame:
    metric = "test_acc_best_val" if experiment == "table1" else "test_acc_last"
    rows = [
        {
            "experiment": experiment,
            "dataset": "cifar10",
            "noise": noise,
            "eta": eta,
            "method": method,
            metric: acc,
            "profile": "cpu",
        }
        for (noise, eta), per_method in means.items()
        for method, acc in per_method.items()
    ]
    return pd.DataFrame(rows)


def _uniform_columns(per_method):
    return {("uniform", eta): dict(per_method) for eta in (0.2, 0.4, 0.6, 0.8)}


def test_uniform_claim_holds_then_fails_when_cce_wins():
    good = {"cce": 60, "mae": 40, "forward_t": 61, "forward_t_hat": 59, "lq": 70, "truncated_lq": 71}
    table = claims_table(_runs_from(_uniform_columns(good)), "table1")
    ours = table["ours (cpu profile)"]
    claim = next(c.statement for c in CLAIMS if c.key == "uniform_lq_beats_baselines")
    assert ours[(claim, "cifar10")] == "holds (4 of 4 columns pass)"
    truncation = next(c.statement for c in CLAIMS if c.key == "uniform_truncation_helps")
    assert ours[(truncation, "cifar10")] == "holds (4 of 4 columns pass)"
    bad = _uniform_columns(good)
    for eta in (0.2, 0.4, 0.6):
        bad[("uniform", eta)]["cce"] = 72
    assert (
        claims_table(_runs_from(bad), "table1")["ours (cpu profile)"][(claim, "cifar10")]
        == "does not hold (1 of 4 columns pass)"
    )


def test_claim_cannot_be_said_without_its_methods():
    only_two = {"cce": 60, "lq": 70}
    table = claims_table(_runs_from(_uniform_columns(only_two)), "table1")
    claim = next(c.statement for c in CLAIMS if c.key == "uniform_lq_beats_baselines")
    assert table["ours (cpu profile)"][(claim, "cifar10")] == "cannot say (0 of 4 columns pass, 4 missing)"


def test_mae_poor_everywhere_on_the_papers_own_numbers():
    paper = reported_results("table1")
    runs = paper.rename(columns={"mean": "test_acc_best_val"}).assign(experiment="table1", profile="paper")
    claim = next(c for c in CLAIMS if c.key == "mae_poor_everywhere")
    comparison = compare_with_paper(runs, "table1")
    for dataset in ("fashion_mnist", "cifar10", "cifar100"):
        assert column_verdicts(claim, comparison, dataset, "paper") == [True] * 8
        assert column_verdicts(claim, comparison, dataset, "ours") == [True] * 8  # the same numbers


def test_table2_claims_read_last_epoch_accuracy():
    closed = {
        ("closed_set", 0.4): {"cce": 50, "forward_t": 55, "forward_t_hat": 54, "mae": 58, "lq": 56, "truncated_lq": 60}
    }
    table = claims_table(_runs_from(closed, "table2"), "table2")["ours (cpu profile)"]
    by_key = {c.key: c.statement for c in CLAIMS if c.table == "table2"}
    # open-set runs are missing: a claim over both rows stays open unless the closed row refutes it
    assert table[(by_key["table2_truncated_best"], "cifar10")] == "cannot say (1 of 2 columns pass, 1 missing)"
    assert table[(by_key["table2_mae_beats_lq"], "cifar10")] == "cannot say (1 of 2 columns pass, 1 missing)"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="table must be one of"):
        claims_table(pd.DataFrame(), "table3")
    with pytest.raises(ValueError, match="quantifier must be one of"):
        verdict([True], "some")
