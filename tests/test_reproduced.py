"""The "What was reproduced" chapter's table (gce_lab.book.reproduced), on results made up so that
the answers are known, and on the paper's own numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gce_lab.book.claims import CLAIMS
from gce_lab.book.comparison import reported_results
from gce_lab.book.noise_verdicts import FAILS, HOLDS, MISSING, WITHIN
from gce_lab.book.reproduced import (
    disagreement_findings,
    figure_claims,
    final_wrong_label_softmax,
    largest_disagreements,
    order_agreement,
    protocol_dependence,
    reproduced_findings,
    reproduced_table,
    second_sources,
)

_UNIFORM = next(c for c in CLAIMS if c.key == "uniform_lq_beats_baselines")


def _runs(means: dict[str, float], seeds: int, spread: float, dataset: str = "cifar10") -> pd.DataFrame:
    """Table 1's uniform columns of ``dataset``: each method at ``means`` plus seed noise of ``spread``."""
    rng = np.random.default_rng(0)
    rows = []
    for eta in (0.2, 0.4, 0.6, 0.8):
        for seed in range(seeds):
            for method, mean in means.items():
                rows.append(
                    {
                        "experiment": "table1",
                        "profile": "cpu",
                        "run_id": f"{dataset}-{method}-uniform{eta}-s{seed}",
                        "dataset": dataset,
                        "noise": "uniform",
                        "eta": eta,
                        "method": method,
                        "seed": seed,
                        "best_epoch": 5,
                        "test_acc_best_val": mean + spread * rng.standard_normal(),
                    }
                )
    frame = pd.DataFrame(rows)
    return frame.assign(test_acc_last=frame["test_acc_best_val"])


_CLEAR = {"cce": 60, "mae": 40, "forward_t": 61, "lq": 70, "truncated_lq": 71}


def test_order_agreement_counts_raw_and_beyond_noise_pairs():
    paper = reported_results("table1").query("dataset == 'cifar10' and noise == 'uniform'")
    rows = []
    for seed in range(3):  # our numbers: the paper's, plus tiny seed noise: every pair agrees
        for r in paper.itertuples():
            rows.append(
                {
                    "experiment": "table1",
                    "profile": "cpu",
                    "dataset": "cifar10",
                    "noise": "uniform",
                    "eta": r.eta,
                    "method": r.method,
                    "seed": seed,
                    "test_acc_best_val": r.mean + 0.001 * seed,
                }
            )
    agreement = order_agreement(pd.DataFrame(rows), "table1").loc["CIFAR-10"]
    assert agreement["pairs"] == agreement["ordered as the paper"] > 0
    assert agreement["of those, ordered as the paper"] == agreement["pairs beyond noise on both sides"]
    assert agreement["pairs beyond noise on both sides"] <= agreement["pairs"]


def _fig1c(cce_wrong: float, lq_wrong: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = pd.DataFrame(
        [{"run_id": f"r-{m}", "method": m, "dataset": "cifar10", "q": 0.7, "eta": 0.4} for m in ("cce", "lq")]
    )
    epochs = pd.DataFrame(
        [
            {"run_id": f"r-{m}", "epoch": e, "mean_softmax_noisy": v * e / 3, "test_acc": 50.0}
            for m, v in (("cce", cce_wrong), ("lq", lq_wrong))
            for e in (1, 2, 3)
        ]
    )
    return runs, epochs


def test_figure_claims_say_how_they_were_decided():
    table = figure_claims({"fig1c": _fig1c(0.4, 0.1)}).set_index("chapter")
    assert table.loc["7", "ours"].startswith(HOLDS + " (one seed; decided by the sign")
    assert "CCE 0.400, L_q 0.100" in table.loc["7", "ours"]
    assert table.loc["6", "ours"] == MISSING  # no fig1ab results given
    reversed_ = figure_claims({"fig1c": _fig1c(0.1, 0.4)}).set_index("chapter")
    assert reversed_.loc["7", "ours"].startswith(FAILS)


def _fig2(gap: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fig. 2's runs at η = 0.2: q = 0.7 ends ``gap`` points above CCE (q = 0)."""
    runs = pd.DataFrame(
        [
            {
                "run_id": f"r-{q}",
                "method": "lq",
                "dataset": "cifar10",
                "q": q,
                "eta": 0.2,
                "test_acc_last": 50 + gap * q,
            }
            for q in (0.0, 0.7)
        ]
    )
    return runs, pd.DataFrame(columns=["run_id"])


def test_fig2_claims_use_the_last_epoch_spread_of_lq_against_cce():
    table1 = _runs({"cce": 60, "lq": 70}, seeds=3, spread=0.1)  # best-validation: a tiny spread
    rng = np.random.default_rng(1)
    table1["test_acc_last"] = table1["test_acc_best_val"] + 10 * rng.standard_normal(len(table1))  # last: wide
    results = {"table1": (table1, pd.DataFrame(columns=["run_id"])), "fig2": _fig2(3.0 / 0.7)}
    row = figure_claims(results).set_index("claim").filter(like="η = 0.2", axis=0).iloc[0]
    assert row["ours"].startswith(WITHIN + " (one seed; spread of L_q against CCE, last epoch")
    table1["test_acc_last"] = table1["test_acc_best_val"]  # the tiny spread: 3 points hold
    row = figure_claims(results).set_index("claim").filter(like="η = 0.2", axis=0).iloc[0]
    assert row["ours"].startswith(HOLDS)


def test_reproduced_table_lists_figure_and_table_claims():
    table = reproduced_table({"table1": (_runs(_CLEAR, seeds=3, spread=1.0), pd.DataFrame(columns=["run_id"]))})
    assert set(table["chapter"]) == {"6", "7", "8", "9"}
    assert (table.loc[(_UNIFORM.statement, "CIFAR-10"), "ours"]).startswith(HOLDS)


def test_second_sources_cite_where_each_number_stands():
    sources = second_sources()
    assert {"source_key", "location", "network", "epochs", "reading", "accuracy", "url"} <= set(sources.columns)
    assert sources["location"].str.contains("Table").all() and sources["accuracy"].between(0, 100).all()
    assert set(sources["method"]) == {"gce", "cce"}


def test_protocol_dependence_sets_the_papers_numbers_beside_a_second_source():
    table = protocol_dependence(_runs(_CLEAR, seeds=1, spread=0.0))
    paper = table.filter(like="the paper").droplevel(0, axis=1)
    assert paper.loc["η = 0.8", "GCE (L_q, q = 0.7)"] == pytest.approx(64.07)
    eps = table.filter(like="wang2024epssoftmax").droplevel(0, axis=1)
    assert eps.loc["η = 0.8", "GCE (L_q, q = 0.7)"] == pytest.approx(25.82)


def test_findings_count_the_verdicts_on_both_sides():
    table = pd.DataFrame(
        {
            "ours": [
                HOLDS + " (one seed; decided by the sign)",
                HOLDS + " (4 of 4 columns hold)",
                "cannot say (4 missing)",
            ],
            "paper": ["shown in the figure (no numbers to test)", "within noise (2 of 4 columns hold)", HOLDS + " (x)"],
        }
    )
    sentences = reproduced_findings(table, "cpu").sentences
    assert sentences[0] == "On our runs, of the 3 claims (per data set): 2 hold, 1 cannot say."
    assert sentences[1] == "On the paper's own numbers, of the 2 claims about its tables: 1 hold, 1 within noise."
    assert sentences[2] == "Of the 1 table claim our runs can judge, 1 gets a different verdict from the paper's."
    unjudged = table.assign(ours="cannot say (4 missing)")
    assert reproduced_findings(unjudged, "cpu").sentences[2] == (
        "Our runs cannot judge any of the 2 table claims yet: each is 'cannot say'."
    )


def test_largest_disagreements_are_opposite_orders_beyond_both_noises():
    # CIFAR-10 uniform 0.4 in the paper: L_q 87.13 +- 0.22 above CCE 81.88 +- 0.29. Ours: CCE five
    # points above L_q over three seeds with a spread of 1: opposite, beyond both noises
    reversed_ = _runs({"cce": 70, "lq": 65, "mae": 40}, seeds=3, spread=1.0)
    epochs = pd.DataFrame(
        [{"run_id": r, "epoch": 1, "mean_softmax_noisy": 0.5, "prune_step": False} for r in reversed_["run_id"]]
    )
    found = largest_disagreements({"table1": (reversed_.assign(epochs=15), epochs)})
    assert set(found["pair"]) >= {"CCE vs Lq"}
    assert found["ours"].str.startswith("+").all() and found["paper"].str.startswith("-").all()
    assert "best epoch 5 of 15" in found.loc[found["pair"] == "CCE vs Lq", "measured reason"].iloc[0]
    agreeing = _runs({"cce": 65, "lq": 70, "mae": 40}, seeds=3, spread=1.0).assign(epochs=15)
    assert largest_disagreements({"table1": (agreeing, epochs)}).empty


def test_disagreement_findings_count_opposite_orders_and_say_why_the_rest_are_not_shown():
    epochs = pd.DataFrame(columns=["run_id", "epoch", "mean_softmax_noisy", "prune_step"])
    reversed_ = _runs({"cce": 70, "lq": 65, "mae": 40}, seeds=3, spread=1.0).assign(epochs=15)
    results = {"table1": (reversed_, epochs)}
    agreement = order_agreement(reversed_, "table1").loc["CIFAR-10"]
    pairs, opposite = int(agreement["pairs"]), int(agreement["pairs"] - agreement["ordered as the paper"])
    beyond = len(largest_disagreements(results, n=100))
    first, second, *rest = disagreement_findings(results, "cpu").sentences
    assert first.startswith(f"Of the {pairs} pairs") and f"we order {opposite} oppositely" in first
    assert beyond > 0 and second.startswith(f"{beyond} of them ")
    assert "the table below shows the 3 largest" in second
    # one seed a column: no spread on our side, so no opposite order is beyond the noise
    single = _runs({"cce": 70, "lq": 65, "mae": 40}, seeds=1, spread=0.0).assign(epochs=15)
    first, second, third = disagreement_findings({"table1": (single, epochs)}, "cpu").sentences
    assert second == "None of them is beyond the noise on both sides, so the table below is empty."
    assert third == f"Of the {opposite} not beyond both noises: {opposite} have no measured spread on our side " + (
        "(no column of their data set has two seeds yet)."
    )
    assert disagreement_findings({}, "cpu").sentences == ()


def test_final_wrong_label_softmax_reads_each_runs_last_recorded_epoch_in_the_order_asked():
    epochs = pd.DataFrame(
        {
            "run_id": ["a", "a", "a", "b", "b", "c"],
            "epoch": [3, 1, 2, 1, 2, 1],
            "mean_softmax_noisy": [0.9, 0.1, 0.5, 0.2, 0.4, 0.7],
        }
    )
    wrong = final_wrong_label_softmax(epochs, ["b", "a", "missing"])
    assert wrong.index.tolist() == ["b", "a", "missing"]
    assert wrong.iloc[:2].tolist() == [0.4, 0.9] and np.isnan(wrong["missing"])
