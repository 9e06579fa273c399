"""The pilot's signs of the regime (gce_lab.book.recipe_pilot), on cases whose answers are known."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest

from gce_lab.book.recipe_pilot import (
    PILOT_CELLS,
    RECIPES,
    SIGNS,
    _measure,
    pilot_measurements,
    recipe_pilots,
    recipe_table,
    regime_signs,
)
from gce_lab.pipeline.planning import Selection, plan
from gce_lab.pipeline.provenance import REPO_ROOT
from gce_lab.pipeline.runner import Where, run_experiment

PILOTS = recipe_pilots(REPO_ROOT / "results")


def _run(milestones: str = "3", n_train: int = 1000) -> pd.Series:
    return pd.Series(
        {
            "milestones": milestones,
            "n_train": n_train,
            "test_acc_best_val": 70.0,
            "best_epoch": 3,
            "test_acc_last": 65.5,
            "wall_time_s": 10.0,
        }
    )


def _epochs(wrong: list[float], pruned: dict[int, tuple[int, float, float]] | None = None) -> pd.DataFrame:
    pruned = pruned or {}
    rows = []
    for epoch, value in enumerate(wrong, start=1):
        n, precision, recall = pruned.get(epoch, (0, math.nan, math.nan))
        rows.append(
            {
                "epoch": epoch,
                "mean_softmax_noisy": value,
                "prune_step": epoch in pruned,
                "n_pruned": n,
                "prune_precision": precision,
                "prune_recall": recall,
            }
        )
    return pd.DataFrame(rows).sample(frac=1, random_state=0)  # any row order


def test_memorisation_is_measured_from_the_first_drop():
    m = _measure(_run("3;5"), _epochs([0.09, 0.08, 0.07, 0.12, 0.2, 0.31]))
    assert m["wrong_softmax_start"] == 0.07 and m["wrong_softmax_end"] == 0.31
    assert m["wrong_softmax_rise"] == pytest.approx(0.24)
    assert m["fall"] == pytest.approx(4.5)


def test_a_constant_learning_rate_measures_the_rise_from_the_lowest_value():
    m = _measure(_run(""), _epochs([0.09, 0.05, 0.07, 0.4]))
    assert m["wrong_softmax_start"] == 0.05 and m["wrong_softmax_rise"] == pytest.approx(0.35)
    assert math.isnan(m["first_prune_precision"])


def test_clean_share_pruned_follows_from_precision_and_recall():
    # 1,000 samples, 400 noisy; the first step prunes 450: 360 noisy (precision 0.8, recall 0.9)
    # and 90 of the 600 clean ones (15 %); a later step prunes 700.
    m = _measure(_run(), _epochs([0.1] * 6, {4: (450, 0.8, 0.9), 6: (700, 0.55, 0.9625)}))
    assert m["first_prune_epoch"] == 4 and m["first_prune_precision"] == 0.8
    assert m["clean_pruned"] == pytest.approx(90 / 600)
    assert m["max_pruned"] == pytest.approx(0.7)


def _pilot(**changes) -> pd.DataFrame:
    base = {"dataset": "cifar10", "seed": 0, "experiment": "table1", "wall_time_s": 200.0}
    cells = [
        {"method": "cce", "noise": "none0", "test_acc_best_val": 76.0},
        {"method": "cce", "noise": "uniform0.4", "wrong_softmax_rise": 0.2, "wrong_softmax_end": 0.35, "fall": 3.5},
        {"method": "truncated_lq", "noise": "uniform0.4", "first_prune_precision": 0.85, "clean_pruned": 0.08},
        {"method": "truncated_lq", "noise": "uniform0.8", "max_pruned": 0.6},
    ]
    frame = pd.DataFrame([{**base, **cell} for cell in cells])
    for column, value in changes.items():
        frame[column] = value
    return frame


def test_a_pilot_with_every_sign_meets_them_all_and_each_can_fail():
    assert regime_signs(_pilot())["met"].tolist() == [True] * len(SIGNS)
    signs = regime_signs(_pilot(wall_time_s=301.0, clean_pruned=0.1, max_pruned=0.9))
    met = dict(zip(signs["sign"], signs["met"]))
    assert met["seconds per CIFAR-10 run of Table 1 (median)"] is False
    assert met["first pruning step: share of clean samples pruned"] is True  # at most 10 %
    assert met["η = 0.8: largest share of samples pruned"] is False  # fewer than 90 %


def test_a_missing_cell_is_not_judged():
    pilot = _pilot()
    signs = regime_signs(pilot[pilot["noise"] != "uniform0.8"])
    assert signs.set_index("sign").loc["η = 0.8: largest share of samples pruned", "met"] is None


def test_pilot_measurements_read_a_results_root(tmp_path):
    selection = Selection(
        "table1", "smoke", datasets=["cifar10"], methods=["cce", "truncated_lq"], noises=["uniform0.4"]
    )
    run_experiment(plan(selection), Where(root=tmp_path / "results", checkpoints=tmp_path / "ckpt"), progress=False)
    pilot = pilot_measurements(tmp_path / "results", profile="smoke")
    assert sorted(pilot["method"]) == ["cce", "truncated_lq"]
    pruning = pilot.set_index("method").loc["truncated_lq"]
    assert pruning["first_prune_epoch"] == 2  # the smoke profile prunes before epoch 2
    assert 0 <= pruning["clean_pruned"] <= 1
    with pytest.raises(FileNotFoundError, match="no pilot runs of table1, fig1ab or fig1c"):
        pilot_measurements(tmp_path / "empty")


def test_chapter_6s_reading_of_the_committed_pilot():
    """What chapter 6 says about the two recipes, checked against the committed pilot runs."""
    one = PILOTS["recipe 1"]
    two = PILOTS["recipe 2"]
    signs_one, signs_two = (regime_signs(p).set_index("sign")["measured"] for p in (one, two))
    # neither recipe shows every sign
    assert not regime_signs(one)["met"].eq(True).all() and not regime_signs(two)["met"].eq(True).all()
    # recipe 1 memorises (wrong-label softmax >= 0.3); its pruning removes many clean samples, and
    # at eta = 0.8 nearly everything
    assert signs_one["CCE's wrong-label softmax at the end"] >= 0.3
    assert signs_one["first pruning step: share of clean samples pruned"] > 0.3
    assert signs_one["η = 0.8: largest share of samples pruned"] > 0.95
    # recipe 2: twice the images; better clean accuracy and pruning; CCE memorises slowly
    assert two["n_train"].max() == 2 * one["n_train"].max()
    for sign in ("clean CCE test accuracy (%)", "first pruning step: precision"):
        assert signs_two[sign] > signs_one[sign]
    assert (
        signs_two["first pruning step: share of clean samples pruned"]
        < signs_one["first pruning step: share of clean samples pruned"]
    )
    assert signs_two["CCE's wrong-label softmax at the end"] < 0.3


def test_the_cpu_profiles_docstring_quotes_the_committed_pilot():
    from gce_lab.pipeline import profiles

    text = " ".join(profiles.__doc__.split())
    for root, quoted in (
        ("recipe 2", {"clean CCE test accuracy (%)": "{:.2f} %", "CCE's wrong-label softmax at the end": "{:.3f}"}),
        (
            "recipe 1",
            {"clean CCE test accuracy (%)": "({:.1f} %)", "CCE's wrong-label softmax at the end": "({:.2f})"},
        ),
    ):
        signs = regime_signs(PILOTS[root]).set_index("sign")
        for sign, form in quoted.items():
            assert form.format(signs.loc[sign, "measured"]) in text
    two = regime_signs(PILOTS["recipe 2"]).set_index("sign")
    fall = two.loc["CCE's fall from best to last epoch (points)", "measured"]
    assert f"falls {fall:.2f} points" in text
    assert f"precision {two.loc['first pruning step: precision', 'measured']:.3f}" in text
    assert (
        f"prunes {100 * two.loc['first pruning step: share of clean samples pruned', 'measured']:.1f} % of the clean"
        in text
    )


def test_recipe_2s_figures_memorise_more_than_its_tables():
    """Chapter 6: with Adam (Fig. 1c) CCE's wrong-label softmax ends higher and its accuracy falls
    further than under the tables' SGD, on the same network and images."""
    two = PILOTS["recipe 2"].query("method == 'cce' and noise == 'uniform0.4'")
    table, figure = (two[two["experiment"] == e].iloc[0] for e in ("table1", "fig1c"))
    assert (table["optimizer"], figure["optimizer"]) == ("sgd", "adam")
    assert figure["wrong_softmax_end"] > table["wrong_softmax_end"] and figure["fall"] > table["fall"]


def test_the_cpu_profiles_docstring_quotes_the_figures_pilot():
    from gce_lab.pipeline import profiles

    text = " ".join(profiles.__doc__.split())
    fig1c = PILOTS["recipe 2"].query("experiment == 'fig1c' and method == 'cce'").iloc[0]
    assert f"ends at {fig1c['wrong_softmax_end']:.3f} and its test accuracy falls {fig1c['fall']:.2f} points" in text


def test_recipe_2s_pilot_is_the_same_before_and_after_its_runs_replace_the_first_recipes(tmp_path):
    """The pilot reads only its cells, seed 0, from the recipe's commit, wherever they are stored:
    in results/cpu_v2, or moved to results/<experiment>/cpu beside other recipes' tables."""
    committed = REPO_ROOT / "results"
    before, after = tmp_path / "before", tmp_path / "after"
    for experiment in ("table1", "fig1ab", "fig1c"):
        source = next(
            p / experiment / "cpu" for p in (committed / "cpu_v2", committed) if (p / experiment / "cpu").is_dir()
        )
        shutil.copytree(source, before / "cpu_v2" / experiment / "cpu")
        moved = after / "cpu_v2" / experiment / "cpu" if experiment == "table1" else after / experiment / "cpu"
        shutil.copytree(source, moved)
    # the first recipe's Table 1 beside them, as before its runs are replaced: not read
    shutil.copytree(committed / "cpu_pilot" / "recipe1" / "table1" / "cpu", after / "table1" / "cpu")
    folders, commit = RECIPES["recipe 2"]
    pilots = [
        pilot_measurements([root / f for f in folders], commit=commit).drop(columns="wall_time_s")
        for root in (before, after)
    ]
    pd.testing.assert_frame_equal(
        *(p.sort_values(["experiment", "method", "noise"], ignore_index=True) for p in pilots)
    )
    cells = set(zip(*(pilots[0][c] for c in ("experiment", "dataset", "method", "noise"))))
    assert cells <= PILOT_CELLS and (pilots[0]["seed"] == 0).all()


def test_the_recipe_table_leaves_cells_a_recipe_did_not_run_blank():
    table = recipe_table(PILOTS)
    clean_lq = table.xs(("CIFAR-10", "clean", "Lq", "table1"))  # recipe 1 has no Table 1 clean column
    assert clean_lq[("test acc. (%)", "recipe 1")] == "" and isinstance(clean_lq[("test acc. (%)", "recipe 2")], float)
    assert not table.isna().any().any()


def test_the_pilot_keeps_only_the_recipes_commit():
    first = REPO_ROOT / "results" / "cpu_pilot" / "recipe1"
    assert len(pilot_measurements(first)) == len(PILOTS["recipe 1"])
    with pytest.raises(FileNotFoundError, match="no pilot runs"):
        pilot_measurements(first, commit=RECIPES["recipe 2"][1])  # none of recipe 1's runs is recipe 2's
