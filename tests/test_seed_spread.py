"""The seed-spread table and sentences follow the numbers: reorder one seed and the words change."""

from __future__ import annotations

import pandas as pd

from gce_lab.book.comparison import reported_results
from gce_lab.book.seed_spread import multi_seed_columns, seed_order_findings, seed_spread_table


def _runs(accuracies: dict[int, dict[str, float]], noise: str = "uniform", eta: float = 0.4) -> pd.DataFrame:
    """Table 1 rows on CIFAR-10: ``accuracies[seed][method]`` is test_acc_best_val."""
    rows = [
        {
            "experiment": "table1",
            "profile": "cpu",
            "dataset": "cifar10",
            "method": method,
            "noise": noise,
            "eta": eta,
            "seed": seed,
            "test_acc_best_val": acc,
        }
        for seed, by_method in accuracies.items()
        for method, acc in by_method.items()
    ]
    return pd.DataFrame(rows)


def _paper_order() -> dict[str, float]:
    """CCE, MAE and Lq in the paper's order for CIFAR-10 uniform 0.4, as accuracies."""
    paper = reported_results("table1")
    column = paper[(paper["dataset"] == "cifar10") & (paper["noise"] == "uniform") & (paper["eta"].round(4) == 0.4)]
    return column.set_index("method")["mean"].loc[["cce", "mae", "lq"]].to_dict()


def test_one_seed_has_no_spread():
    runs = _runs({0: {"cce": 50.0, "mae": 20.0, "lq": 55.0}})
    assert multi_seed_columns(runs, "table1").empty
    assert seed_spread_table(runs, "table1").empty
    assert "Nothing to compare yet" in repr(seed_order_findings(runs, "table1"))


def test_spread_table_shows_each_seed_and_the_range():
    runs = _runs({0: {"cce": 50.0, "mae": 20.0}, 1: {"cce": 52.0, "mae": 30.0}})
    table = seed_spread_table(runs, "table1")
    mae = table.xs("MAE", level="method").iloc[0]
    assert mae[("ours (cpu profile)", "seed 0")] == "20.00"
    assert mae[("ours (cpu profile)", "seed 1")] == "30.00"
    assert mae[("ours (cpu profile)", "range")] == "10.00"
    assert mae[("ours (cpu profile)", "mean ± std")].startswith("25.00")
    assert mae[("paper", "mean ± std")].startswith("67.00")


def test_findings_count_pairs_between_seeds_and_with_the_paper():
    paper = _paper_order()
    reversed_order = {m: -a for m, a in paper.items()}
    same = repr(seed_order_findings(_runs({0: paper, 1: paper}), "table1"))
    assert "alike in 3 of 3 comparisons (100%)" in same
    assert "order 3/3, 3/3 pairs as the paper does" in same
    flipped = repr(seed_order_findings(_runs({0: paper, 1: reversed_order}), "table1"))
    assert "alike in 0 of 3 comparisons (0%)" in flipped
    assert "order 3/3, 0/3 pairs as the paper does" in flipped


def test_a_seed_that_ran_elsewhere_does_not_count_in_this_column():
    paper = _paper_order()
    here = _runs({0: paper, 1: paper})
    elsewhere = _runs({2: paper}, noise="class_dependent")
    text = repr(seed_order_findings(pd.concat([here, elsewhere]), "table1"))
    assert "uniform 0.4 (2 seeds)" in text
    assert "class-dependent" not in text
