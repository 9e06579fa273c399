"""Curves, their summaries and the figures of chapters 6-10, on small hand-made results."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from gce_lab.book import plots  # noqa: E402
from gce_lab.book.comparison import reported_results
from gce_lab.book.plots import PEAK  # noqa: E402
from gce_lab.pipeline.results import RUN_COLUMNS  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _results(curves: dict, experiment: str = "fig1ab", profile: str = "smoke", extra=None):
    """runs/epochs from {(dataset, method, q, noise, eta, seed): {column: [values per epoch]}}."""
    runs, epochs = [], []
    for number, ((dataset, method, q, noise, eta, seed), columns) in enumerate(curves.items()):
        run_id = f"run{number}"
        row = {c: np.nan for c in RUN_COLUMNS}
        row.update(
            {
                "experiment": experiment,
                "profile": profile,
                "run_id": run_id,
                "dataset": dataset,
                "method": method,
                "q": q,
                "noise": noise,
                "eta": eta,
                "seed": seed,
                **(extra or {}).get(run_id, {}),
            }
        )
        runs.append(row)
        length = len(next(iter(columns.values())))
        for epoch in range(length):
            epochs.append(
                {
                    "run_id": run_id,
                    "profile": profile,
                    "epoch": epoch + 1,
                    **{name: values[epoch] for name, values in columns.items()},
                }
            )
    return pd.DataFrame(runs), pd.DataFrame(epochs)


def _fig1ab():
    return _results(
        {
            ("cifar10", "cce", np.nan, "none", 0.0, 0): {"test_acc": [50.0, 70.0, 80.0, 79.0]},
            ("cifar10", "cce", np.nan, "none", 0.0, 1): {"test_acc": [52.0, 72.0, 82.0, 81.0]},
            ("cifar10", "mae", np.nan, "none", 0.0, 0): {"test_acc": [10.0, 20.0, 30.0, 60.0]},
            ("cifar100", "cce", np.nan, "none", 0.0, 0): {"test_acc": [5.0, 9.0, 10.0, 8.0]},
            ("cifar100", "mae", np.nan, "none", 0.0, 0): {"test_acc": [1.0, 1.0, 2.0, 3.0]},
        }
    )


def test_mean_curves_average_over_seeds():
    runs, epochs = _fig1ab()
    curves = plots.mean_curves(runs, epochs, "test_acc", ["dataset", "method"])
    cce = curves[(curves["dataset"] == "cifar10") & (curves["method"] == "cce")]
    assert cce["mean"].tolist() == [51.0, 71.0, 81.0, 80.0]
    assert cce["std"].tolist() == pytest.approx([np.sqrt(2.0)] * 4)
    assert cce["n"].tolist() == [2] * 4
    assert curves[curves["method"] == "mae"]["std"].isna().all()
    with pytest.raises(ValueError, match="metric must be a column of epochs"):
        plots.mean_curves(runs, epochs, "accuracy", ["dataset"])
    with pytest.raises(ValueError, match="by must be one of"):
        plots.mean_curves(runs, epochs, "test_acc", ["model"])


def test_fig1ab_summary_best_last_and_speed():
    runs, epochs = _fig1ab()
    summary = plots.fig1ab_summary(runs, epochs)
    assert list(summary.columns.get_level_values(0).unique()) == ["smoke profile"]
    mae = summary.loc[("CIFAR-10", "MAE"), "smoke profile"]
    assert mae[PEAK] == 60.0 and mae["epoch of the peak"] == 4 and mae["last test acc (%)"] == 60.0
    assert mae["first epoch ≥ 90 % of the peak"] == 4  # 30 < 54 until the last epoch
    cce = summary.loc[("CIFAR-10", "CCE"), "smoke profile"]
    assert cce[PEAK] == 81.0 and cce["epoch of the peak"] == 3 and cce["last test acc (%)"] == 80.0
    assert cce["first epoch ≥ 90 % of the peak"] == 3  # 71 < 72.9 <= 81
    assert cce["seeds"] == 2
    assert summary.loc[("CIFAR-100", "CCE"), ("smoke profile", "first epoch ≥ 90 % of the peak")] == 2


def test_plot_fig1ab_draws_the_mean_curves_with_the_profile():
    runs, epochs = _fig1ab()
    fig = plots.plot_fig1ab(runs, epochs)
    assert len(fig.axes) == 2 and "smoke profile" in fig._suptitle.get_text()
    ax = fig.axes[0]
    assert ax.get_title() == "(a) CIFAR-10, clean labels"
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "test accuracy (%)"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert lines["CCE"].get_ydata().tolist() == [51.0, 71.0, 81.0, 80.0]
    assert lines["CCE"].get_color() == "tab:orange" and lines["MAE"].get_color() == "tab:blue"
    assert len(ax.collections) == 1  # one band: CCE has two seeds, MAE one
    assert fig.axes[1].get_title() == "(b) CIFAR-100, clean labels"


def _fig1c():
    return _results(
        {
            ("cifar10", "cce", np.nan, "uniform", 0.4, 0): {
                "mean_softmax_clean": [0.3, 0.6, 0.9],
                "mean_softmax_noisy": [0.1, 0.5, 0.4],
            },
            ("cifar10", "lq", 0.7, "uniform", 0.4, 0): {
                "mean_softmax_clean": [0.2, 0.5, 0.7],
                "mean_softmax_noisy": [0.1, 0.15, 0.12],
            },
        },
        experiment="fig1c",
        profile="lab",
    )


def test_fig1c_summary_and_plot():
    runs, epochs = _fig1c()
    summary = plots.fig1c_summary(runs, epochs)["lab profile"]
    assert summary.loc["CCE"].tolist() == [3, 0.9, 0.4, 0.5, 2]
    assert summary.loc["Lq"].tolist() == [3, 0.7, 0.12, 0.15, 2]
    fig = plots.plot_fig1c(runs, epochs)
    ax = fig.axes[0]
    assert "lab profile" in ax.get_title() and "uniform noise η = 0.4" in ax.get_title()
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {
        "CCE, correct labels",
        "CCE, wrong labels",
        "Lq (q = 0.7), correct labels",
        "Lq (q = 0.7), wrong labels",
    }
    assert lines["CCE, wrong labels"].get_linestyle() == "--"
    assert lines["CCE, correct labels"].get_linestyle() == "-"
    assert lines["Lq (q = 0.7), wrong labels"].get_ydata().tolist() == [0.1, 0.15, 0.12]


def _fig2():
    curves = {}
    for eta in (0.0, 0.2, 0.6):
        for q in (0.0, 0.7, 1.0):
            acc = [10.0 + 10 * q, 40.0 - 10 * eta, 30.0 + 20 * q]
            loss = [2.0, 1.0 + q, 1.5]
            curves[("cifar10", "lq", q, "uniform" if eta else "none", eta, 0)] = {
                "test_acc": acc,
                "val_loss": loss,
                "val_cce": [3.0, 2.0, 1.0],
            }
    return _results(curves, experiment="fig2")


def test_fig2_summary_overfitting_gap_and_lowest_loss():
    runs, epochs = _fig2()
    summary = plots.fig2_summary(runs, epochs)["smoke profile"]
    row = summary.loc[(0.2, 0.0)]  # acc 10, 38, 30: best 38 at epoch 2, last 30
    assert row[PEAK] == 38.0 and row["epoch of the peak"] == 2 and row["peak − last"] == 8.0
    assert row["epoch of lowest validation loss"] == 2  # loss 2, 1, 1.5
    assert summary.loc[(0.0, 1.0), "epoch of lowest validation loss"] == 3  # loss 2, 2, 1.5
    assert summary.loc[(0.6, 1.0), "peak − last"] == 0.0  # 20, 34, 50
    cce = plots.fig2_summary(runs, epochs, loss="val_cce")["smoke profile"]
    assert (cce["epoch of lowest validation CCE"] == 3).all()
    with pytest.raises(ValueError, match="loss must be one of"):
        plots.fig2_summary(runs, epochs, loss="train_loss")


def test_plot_fig2_has_accuracy_and_loss_rows_per_eta():
    runs, epochs = _fig2()
    fig = plots.plot_fig2(runs, epochs)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == [
        "(a) η = 0",
        "(b) η = 0.2",
        "(c) η = 0.6",
        "(d) η = 0",
        "(e) η = 0.2",
        "(f) η = 0.6",
    ]
    assert "smoke profile" in fig._suptitle.get_text()
    assert axes[0].get_ylabel() == "test accuracy (%)" and axes[3].get_ylabel().startswith("validation loss")
    labels = [line.get_label() for line in axes[1].get_lines()]
    assert labels == ["q = 0 (CCE)", "q = 0.7", "q = 1 (MAE / 2)"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == labels  # one legend, for the figure
    assert axes[4].get_lines()[1].get_ydata().tolist() == [2.0, 1.7, 1.5]
    assert axes[2].get_lines()[2].get_ydata().tolist() == [20.0, 34.0, 50.0]


def test_plot_validation_loss_one_row_per_eta():
    runs, epochs = _fig2()
    fig = plots.plot_validation_loss(runs, epochs)
    assert [ax.get_title() for ax in fig.axes] == ["η = 0", "η = 0.2", "η = 0.6"]
    assert fig.axes[0].get_ylabel() == "validation CCE"
    assert fig._suptitle.get_text().startswith("Validation CCE of the") and "smoke profile" in fig._suptitle.get_text()
    assert fig.axes[1].get_lines()[0].get_ydata().tolist() == [3.0, 2.0, 1.0]
    with pytest.raises(ValueError, match="loss must be one of"):
        plots.plot_validation_loss(runs, epochs, loss="test_acc")


def test_difference_heatmap_annotates_ours_minus_paper():
    paper = reported_results("table2")
    rows = []
    for number, method in enumerate(("cce", "mae")):
        row = {c: np.nan for c in RUN_COLUMNS}
        row.update(
            {
                "experiment": "table2",
                "profile": "lab",
                "run_id": f"r{number}",
                "dataset": "cifar10",
                "method": method,
                "noise": "open_set",
                "eta": 0.4,
                "seed": 0,
                "test_acc_last": 70.0,
            }
        )
        rows.append(row)
    fig = plots.plot_difference_heatmap(pd.DataFrame(rows), "table2")
    ax = fig.axes[0]
    assert "ours (lab profile) − paper" in ax.get_title()
    texts = [t.get_text() for t in ax.texts]
    cce = paper.query("method == 'cce' and noise == 'open_set'")["mean"].item()
    assert f"{70.0 - cce:+.1f}" in texts
    # the paper's 7 method names (its open-set Forward is our Forward T-hat) x 2 noise settings,
    # two cells ours; the rest show no difference
    assert texts.count("—") == 7 * 2 - 2 and len(texts) == 14


def test_the_q_curves_differ_in_colour_and_line_style():
    styles = plots.q_styles(5)
    colours = np.array([s["color"][:3] for s in styles])
    neighbours = np.linalg.norm(np.diff(colours, axis=0), axis=1)
    assert neighbours.min() > 0.3  # the viridis(0..0.9) the figure had: 0.24 between neighbours
    assert len({str(s["linestyle"]) for s in styles}) == 5
