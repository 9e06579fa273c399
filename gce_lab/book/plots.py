"""Figures and per-curve summaries of the experiment chapters (Fig. 1, Fig. 2, Tables 1 and 2).

Every function takes the ``(runs, epochs)`` frames of :func:`gce_lab.pipeline.results.load_results`
(one profile) and names that profile in every title or column header, so a smoke or lab
curve is never mistaken for the paper's. Curves are means over seeds, with a band of ± one
standard deviation where there is more than one seed.

The paper's colours are kept: CCE orange, MAE and L_q blue (Fig. 1); a sequential palette
over q (Fig. 2). The paper's own curves are not available as data, so nothing here draws them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gce_lab.book.comparison import TABLE_METRIC, compare_with_paper
from gce_lab.book.report import NOISE_LABELS, results_label
from gce_lab.datasets import DATASET_LABELS
from gce_lab.methods import METHOD_INFO, METHOD_LABELS
from gce_lab.validation import check_choice

__all__ = [
    "RUN_KEYS",
    "epochs_with_runs",
    "mean_curves",
    "accuracy_at_epoch",
    "fig1ab_summary",
    "fig1c_summary",
    "fig2_summary",
    "plot_fig1ab",
    "plot_fig1c",
    "plot_fig2",
    "plot_validation_loss",
    "plot_difference_heatmap",
]

#: Run columns attached to every epoch row by :func:`epochs_with_runs`.
RUN_KEYS: tuple[str, ...] = ("dataset", "method", "q", "noise", "eta", "seed")
_DATASET_ORDER = tuple(DATASET_LABELS)
_LOSS_COLUMNS = {"val_loss": "validation loss", "val_cce": "validation CCE"}

#: The highest point of a mean test-accuracy curve, chosen on the test set: a description of the
#: curve, never a result (Tables 1 and 2 read the best-validation or the last epoch).
PEAK = "test curve's peak (%)"


def epochs_with_runs(runs: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """The epoch rows with their run's data set, method, q, noise, η and seed attached."""
    missing = [c for c in ("run_id", *RUN_KEYS) if c not in runs.columns]
    if missing:
        raise ValueError(f"runs must have the columns {['run_id', *RUN_KEYS]}; missing {missing}")
    keys = runs[["run_id", *RUN_KEYS]].assign(eta=runs["eta"].astype(float).round(4))
    return epochs.merge(keys, on="run_id", how="inner", validate="many_to_one")


def mean_curves(runs: pd.DataFrame, epochs: pd.DataFrame, metric: str, by: list[str]) -> pd.DataFrame:
    """Mean, standard deviation (NaN for one seed) and seed count of ``metric`` per epoch.

    Columns: ``by`` ..., epoch, mean, std, n; sorted by ``by`` and epoch.
    """
    if metric not in epochs.columns:
        raise ValueError(f"metric must be a column of epochs ({', '.join(epochs.columns)}), got {metric!r}")
    for key in by:
        check_choice("by", key, RUN_KEYS)
    frame = epochs_with_runs(runs, epochs)
    keys = [*by, "epoch"]
    grouped = frame.groupby(keys, dropna=False)[metric].agg(["mean", "std", "size"]).reset_index()
    return grouped.rename(columns={"size": "n"}).sort_values(keys, ignore_index=True)


def _ordered(values, order=()) -> list:
    values = list(dict.fromkeys(values))
    return sorted(values, key=lambda v: (order.index(v) if v in order else len(order), v))


def _band(ax, curve: pd.DataFrame, **style) -> None:
    ax.plot(curve["epoch"], curve["mean"], **style)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if (curve["n"] > 1).any():
        low, high = curve["mean"] - curve["std"], curve["mean"] + curve["std"]
        ax.fill_between(curve["epoch"], low, high, color=style.get("color"), alpha=0.15, linewidth=0)


def _summary(runs: pd.DataFrame, epochs: pd.DataFrame, metric: str, by: list[str]) -> pd.DataFrame:
    """The peak of the mean curve and its epoch, the last value, their difference, and the first
    epoch at >= 90 % of the peak, per group. For a test curve the peak is chosen by looking at the
    test set: it describes the curve, it is not an accuracy a protocol may report."""
    curves = mean_curves(runs, epochs, metric, by)
    rows = []
    for key, curve in curves.groupby(by, sort=False):
        values, epochs_ = curve["mean"].to_numpy(), curve["epoch"].to_numpy()
        best = int(np.nanargmax(values))
        rows.append(
            (
                *np.atleast_1d(key),
                int(epochs_[-1]),
                values[best],
                int(epochs_[best]),
                values[-1],
                values[best] - values[-1],
                int(epochs_[np.argmax(values >= 0.9 * values[best])]),
                int(curve["n"].max()),
            )
        )
    columns = [
        *by,
        "epochs",
        PEAK,
        "epoch of the peak",
        "last",
        "peak − last",
        "first epoch ≥ 90 % of the peak",
        "seeds",
    ]
    return pd.DataFrame(rows, columns=columns)


def _with_profile(frame: pd.DataFrame, label: str, index: list[str]) -> pd.DataFrame:
    """Index ``frame`` and put the profile above every column header."""
    frame = frame.set_index(index)
    return pd.concat({f"{label} profile": frame}, axis=1)


def accuracy_at_epoch(runs: pd.DataFrame, epochs: pd.DataFrame, epoch: int) -> pd.DataFrame:
    """Mean test accuracy (%) per data set and method at ``epoch`` (NaN where a run is shorter),
    beside the run length, under a profile header."""
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise ValueError(f"epoch must be an integer >= 1, got {epoch!r}")
    label = results_label(runs)
    curves = mean_curves(runs, epochs, "test_acc", ["dataset", "method"])
    rows = []
    for (dataset, method), curve in curves.groupby(["dataset", "method"], sort=False):
        at = curve.loc[curve["epoch"] == epoch, "mean"]
        rows.append(
            (
                DATASET_LABELS[dataset],
                METHOD_LABELS[method],
                int(curve["epoch"].max()),
                at.iloc[0] if len(at) else np.nan,
            )
        )
    frame = pd.DataFrame(rows, columns=["dataset", "method", "epochs", f"test acc (%) at epoch {epoch}"])
    return _with_profile(frame.round(2), label, ["dataset", "method"])


def fig1ab_summary(runs: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Per data set and method: test accuracy (%) at its best and last epoch, the epoch of the best,
    and the first epoch reaching 90 % of the best (how fast it learns)."""
    label = results_label(runs)
    frame = _summary(runs, epochs, "test_acc", ["dataset", "method"])
    frame = frame.assign(dataset=frame["dataset"].map(DATASET_LABELS), method=frame["method"].map(METHOD_LABELS))
    frame = frame.rename(columns={"last": "last test acc (%)"})
    frame = frame.drop(columns="peak − last")
    return _with_profile(frame.round(2), label, ["dataset", "method"])


def fig1c_summary(runs: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean softmax of the given label on correctly and wrongly labelled training
    samples at the last epoch, and the highest value on the wrongly labelled ones with its epoch."""
    label = results_label(runs)
    clean = mean_curves(runs, epochs, "mean_softmax_clean", ["method"])
    noisy = mean_curves(runs, epochs, "mean_softmax_noisy", ["method"])
    rows = []
    for method in _ordered(runs["method"], tuple(METHOD_LABELS)):
        c, w = clean[clean["method"] == method], noisy[noisy["method"] == method]
        peak = int(np.nanargmax(w["mean"].to_numpy()))
        rows.append(
            (
                METHOD_LABELS[method],
                int(c["epoch"].iloc[-1]),
                c["mean"].iloc[-1],
                w["mean"].iloc[-1],
                w["mean"].iloc[peak],
                int(w["epoch"].iloc[peak]),
            )
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "method",
            "epochs",
            "correct labels, last epoch",
            "wrong labels, last epoch",
            "wrong labels, highest",
            "epoch of highest",
        ],
    )
    return _with_profile(frame.round(3), label, ["method"])


def fig2_summary(runs: pd.DataFrame, epochs: pd.DataFrame, loss: str = "val_loss") -> pd.DataFrame:
    """Per noise rate η and q: test accuracy (%) at its best and last epoch, their gap (how much
    the run overfits by the end), the epoch of the best, and the epoch of the lowest ``loss``."""
    check_choice("loss", loss, tuple(_LOSS_COLUMNS))
    label = results_label(runs)
    frame = _summary(runs, epochs, "test_acc", ["eta", "q"])
    curves = mean_curves(runs, epochs, loss, ["eta", "q"])
    lowest = curves.loc[curves.groupby(["eta", "q"])["mean"].idxmin(), ["eta", "q", "epoch"]]
    lowest_name = f"epoch of lowest {_LOSS_COLUMNS[loss]}"
    frame = frame.merge(lowest.rename(columns={"epoch": lowest_name}), on=["eta", "q"])
    frame = frame.rename(columns={"eta": "η", "last": "last test acc (%)"})
    frame = frame[
        [
            "η",
            "q",
            "epochs",
            PEAK,
            "epoch of the peak",
            "last test acc (%)",
            "peak − last",
            lowest_name,
            "seeds",
        ]
    ]
    return _with_profile(frame.round(2), label, ["η", "q"])


def plot_fig1ab(runs: pd.DataFrame, epochs: pd.DataFrame) -> Figure:
    """Fig. 1a/b: test accuracy per epoch of CCE (orange) and MAE (blue), one panel per data set."""
    label = results_label(runs)
    curves = mean_curves(runs, epochs, "test_acc", ["dataset", "method"])
    datasets = _ordered(curves["dataset"], _DATASET_ORDER)
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.8 * len(datasets), 4.2), layout="constrained", squeeze=False)
    for letter, ax, dataset in zip("ab", axes[0], datasets):
        for method in _ordered(curves["method"], tuple(METHOD_LABELS)):
            curve = curves[(curves["dataset"] == dataset) & (curves["method"] == method)]
            if len(curve):
                _band(ax, curve, color=METHOD_INFO[method].colour, label=METHOD_LABELS[method])
        ax.set(title=f"({letter}) {DATASET_LABELS[dataset]}, clean labels", xlabel="epoch", ylabel="test accuracy (%)")
        ax.legend()
    fig.suptitle(f"Fig. 1a/b re-run, {label} profile: CCE vs MAE")
    return fig


def plot_fig1c(runs: pd.DataFrame, epochs: pd.DataFrame) -> Figure:
    """Fig. 1c: mean softmax of the given label on correctly (solid) and wrongly (dashed)
    labelled training samples per epoch, CCE (orange) and L_q (blue)."""
    label = results_label(runs)
    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    settings = sorted({(NOISE_LABELS[n], float(e)) for n, e in zip(runs["noise"], runs["eta"])})
    for method in _ordered(runs["method"], tuple(METHOD_LABELS)):
        name = METHOD_LABELS[method]
        if method == "lq":
            name += f" (q = {runs.loc[runs['method'] == 'lq', 'q'].iloc[0]:g})"
        for column, style, which in (
            ("mean_softmax_clean", "-", "correct labels"),
            ("mean_softmax_noisy", "--", "wrong labels"),
        ):
            curve = mean_curves(runs[runs["method"] == method], epochs, column, ["method"])
            _band(ax, curve, color=METHOD_INFO[method].colour, linestyle=style, label=f"{name}, {which}")
    where = ", ".join(f"{noise} noise η = {eta:g}" for noise, eta in settings)
    ax.set(
        title=f"Fig. 1c re-run, {label} profile: {_datasets_named(runs)}, {where}",
        xlabel="epoch",
        ylabel="mean softmax of the given label\n(training samples)",
        ylim=(0, 1),
    )
    ax.legend(fontsize="small")
    return fig


def q_styles(n: int) -> list[dict]:
    """Colour and line style of ``n`` curves ordered by q: a sequential palette (plasma, dark to
    light, so the order of q reads as the order of the colours) with hues far enough apart that
    neighbours differ, and a line style of its own for each curve, for readers and printers
    that do not tell the colours apart."""
    colors = plt.get_cmap("plasma")(np.linspace(0, 0.85, n))
    dashes = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))]
    return [{"color": color, "linestyle": dashes[i % len(dashes)]} for i, color in enumerate(colors)]


def _q_curves(axes, curves: pd.DataFrame, etas: list, qs: list, ylabel: str, letters: str | None) -> None:
    """One panel per η in ``axes``, one curve per q (:func:`q_styles`); titles lettered if asked.
    The legend is the figure's (:func:`_q_legend`)."""
    for col, (ax, eta) in enumerate(zip(axes, etas)):
        for q, style in zip(qs, q_styles(len(qs))):
            curve = curves[(curves["eta"] == eta) & (curves["q"] == q)]
            note = " (CCE)" if q == 0 else " (MAE / 2)" if q == 1 else ""
            _band(ax, curve, **style, label=f"q = {q:g}{note}")
        title = f"η = {eta:g}" if letters is None else f"({letters[col]}) η = {eta:g}"
        ax.set(title=title, xlabel="epoch", ylabel=ylabel)


def _q_legend(fig: Figure, ax) -> None:
    """One legend of the q curves for the whole figure, right of the panels."""
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", title="$\\mathcal{L}_q$ with")


def _datasets_named(runs: pd.DataFrame) -> str:
    return ", ".join(DATASET_LABELS[d] for d in _ordered(runs["dataset"], _DATASET_ORDER))


def plot_fig2(runs: pd.DataFrame, epochs: pd.DataFrame) -> Figure:
    """Fig. 2: test accuracy (top row, a-c) and validation loss (bottom row, d-f) per epoch,
    one curve per q, one column per noise rate η. The loss is each run's own (L_q with its q,
    the loss it is trained with), on the noisy validation split."""
    label = results_label(runs)
    accuracy = mean_curves(runs, epochs, "test_acc", ["eta", "q"])
    losses = mean_curves(runs, epochs, "val_loss", ["eta", "q"])
    etas, qs = sorted(accuracy["eta"].unique()), sorted(accuracy["q"].unique())
    fig, axes = plt.subplots(2, len(etas), figsize=(3.3 * len(etas) + 1.6, 7.4), layout="constrained", squeeze=False)
    letters = "abcdefghijkl"
    _q_curves(axes[0], accuracy, etas, qs, "test accuracy (%)", letters[: len(etas)])
    _q_curves(axes[1], losses, etas, qs, "validation loss (each run's own $\\mathcal{L}_q$)", letters[len(etas) :])
    _q_legend(fig, axes[0, 0])
    fig.suptitle(
        f"Fig. 2 re-run, {label} profile: $\\mathcal{{L}}_q$ for several q, {_datasets_named(runs)}, uniform noise"
    )
    return fig


def plot_validation_loss(runs: pd.DataFrame, epochs: pd.DataFrame, loss: str = "val_cce") -> Figure:
    """One row of Fig. 2's loss panels with another validation loss: ``val_cce`` (CCE for every
    q, one scale; not in the paper) or ``val_loss`` (each run's own)."""
    check_choice("loss", loss, tuple(_LOSS_COLUMNS))
    label = results_label(runs)
    curves = mean_curves(runs, epochs, loss, ["eta", "q"])
    etas, qs = sorted(curves["eta"].unique()), sorted(curves["q"].unique())
    fig, axes = plt.subplots(1, len(etas), figsize=(3.3 * len(etas) + 1.6, 3.9), layout="constrained", squeeze=False)
    _q_curves(axes[0], curves, etas, qs, _LOSS_COLUMNS[loss], None)
    _q_legend(fig, axes[0, 0])
    name = _LOSS_COLUMNS[loss]
    fig.suptitle(
        f"{name[0].upper()}{name[1:]} of the $\\mathcal{{L}}_q$ runs, {label} profile, "
        f"{_datasets_named(runs)}, uniform noise"
    )
    return fig


def plot_difference_heatmap(runs: pd.DataFrame, table: str) -> Figure:
    """Ours − paper (percentage points) for every method and column of ``table``, one panel per
    data set; grey where either number is missing."""
    check_choice("table", table, tuple(TABLE_METRIC))
    label = results_label(runs)
    comparison = compare_with_paper(runs, table)
    datasets = _ordered(comparison["dataset"], _DATASET_ORDER)
    width = comparison.groupby("dataset")[["noise", "eta"]].apply(lambda g: len(g.drop_duplicates())).max()
    fig, axes = plt.subplots(
        len(datasets),
        1,
        figsize=(max(6.0, 0.9 * width + 2.2), 3.3 * len(datasets)),
        layout="constrained",
        squeeze=False,
    )
    limit = float(np.nanmax(np.abs(comparison["diff"]))) if comparison["diff"].notna().any() else 1.0
    for ax, dataset in zip(axes[:, 0], datasets):
        part = comparison[comparison["dataset"] == dataset]
        columns = list(dict.fromkeys(zip(part["noise"], part["eta"])))
        methods = _ordered(part["method"], tuple(METHOD_LABELS))
        grid = np.full((len(methods), len(columns)), np.nan)
        for _, row in part.iterrows():
            grid[methods.index(row["method"]), columns.index((row["noise"], row["eta"]))] = row["diff"]
        ax.set_facecolor("0.85")
        image = ax.imshow(np.ma.masked_invalid(grid), cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        ax.grid(False)
        for (i, j), value in np.ndenumerate(grid):
            text = "—" if np.isnan(value) else f"{value:+.1f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=9,
                color="white" if abs(np.nan_to_num(value)) > 0.6 * limit else "black",
            )
        noise_names = [NOISE_LABELS[n].replace("class-", "class-\n") for n, _ in columns]  # narrow columns
        ax.set_xticks(
            range(len(columns)), [f"{name}\nη = {e:g}" for name, (_, e) in zip(noise_names, columns)], fontsize=8
        )
        ax.set_yticks(range(len(methods)), [METHOD_LABELS[m] for m in methods])
        ax.set_title(f"{DATASET_LABELS[dataset]}: ours ({label} profile) − paper, percentage points")
        fig.colorbar(image, ax=ax, label="ours − paper")
    return fig
