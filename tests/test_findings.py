"""Sentences of findings follow the numbers: change the numbers and the words change."""

from __future__ import annotations

import pandas as pd
import pytest

from gce_lab.book.findings import difference_findings, fig1ab_findings, fig1c_findings, fig2_findings
from gce_lab.pipeline.results import load_results


@pytest.fixture(scope="module")
def fig1ab():
    return load_results("fig1ab", "smoke")


def _set_curve(runs, epochs, dataset, method, values, column="test_acc"):
    ids = runs[(runs["dataset"] == dataset) & (runs["method"] == method)]["run_id"]
    epochs = epochs.copy()
    for epoch, value in enumerate(values, start=1):
        epochs.loc[epochs["run_id"].isin(ids) & (epochs["epoch"] == epoch), column] = value
    return epochs


def test_fig1ab_says_mae_learns_more_slowly_only_when_it_does(fig1ab):
    runs, epochs = fig1ab
    slow = _set_curve(runs, _set_curve(runs, epochs, "cifar10", "cce", [80, 85, 86]), "cifar10", "mae", [20, 40, 70])
    text = repr(fig1ab_findings(runs, slow))
    assert "CIFAR-10: MAE learns more slowly than CCE (90 % of its own peak by epoch 3, CCE by epoch 1)" in text
    assert "70.00 % (epoch 3), is below CCE's 86.00 % (epoch 3)" in text
    fast = _set_curve(runs, _set_curve(runs, epochs, "cifar10", "cce", [20, 40, 70]), "cifar10", "mae", [80, 85, 90])
    text = repr(fig1ab_findings(runs, fast))
    assert "MAE learns faster than CCE" in text and "is above CCE's" in text


def test_fig1c_compares_the_softmax_on_wrong_labels():
    runs, epochs = load_results("fig1c", "smoke")
    epochs = _set_curve(runs, epochs, "cifar10", "cce", [0.1, 0.2, 0.4], "mean_softmax_noisy")
    epochs = _set_curve(runs, epochs, "cifar10", "lq", [0.1, 0.1, 0.1], "mean_softmax_noisy")
    text = repr(fig1c_findings(runs, epochs))
    assert "CCE's mean softmax of the given label rises from 0.100 after the first epoch to 0.400" in text
    assert "L_q's ends at 0.100, 0.25 times CCE's" in text
    runs = runs.copy()
    runs.loc[runs["method"] == "cce", ["test_acc_best_val", "test_acc_last"]] = [60.0, 50.0]
    runs.loc[runs["method"] == "lq", ["test_acc_best_val", "test_acc_last"]] = [60.0, 61.0]
    text = repr(fig1c_findings(runs, epochs))
    assert "CCE's test accuracy falls from 60.00 % at its best-validation epoch to 50.00 % at the last (-10.00" in text
    assert "L_q's test accuracy rises from 60.00 %" in text


def test_fig2_names_the_most_accurate_q_per_noise_rate():
    runs, epochs = load_results("fig2", "smoke")
    ids = runs[(runs["eta"] == 0.6) & (runs["q"] == 0.8)]["run_id"]
    epochs = epochs.copy()
    epochs.loc[epochs["run_id"].isin(ids) & (epochs["epoch"] == 3), "test_acc"] = 99.0
    text = repr(fig2_findings(runs, epochs))
    assert "η = 0.6: q = 0.8 ends most accurate (99.00 % at the last epoch)" in text


def test_findings_say_so_when_nothing_can_be_compared(fig1ab):
    runs, epochs = fig1ab
    only_cce = runs[runs["method"] == "cce"]
    text = repr(fig1ab_findings(only_cce, epochs))
    assert "Nothing to compare yet" in text and "MAE learns" not in text


def test_difference_findings_name_the_cells_above_the_paper():
    def row(method, acc):
        return {
            "experiment": "table1",
            "profile": "cpu",
            "dataset": "cifar10",
            "method": method,
            "noise": "uniform",
            "eta": 0.4,
            "seed": 0,
            "test_acc_best_val": acc,
        }

    # The paper: CCE 81.88, MAE 67.00 on CIFAR-10 at uniform 0.4.
    below = repr(difference_findings(pd.DataFrame([row("cce", 50.0), row("mae", 20.0)]), "table1"))
    assert "CIFAR-10: 2 of 2 cells below the paper's number." in below
    assert "above it" not in below
    above = repr(difference_findings(pd.DataFrame([row("cce", 50.0), row("mae", 70.0)]), "table1"))
    assert "1 of 2 cells below the paper's number; above it: MAE, uniform 0.4 (+3.0)." in above
