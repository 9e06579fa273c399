"""The human-noise chapter's analyses: how people's label errors differ from the paper's noise
models, and how the losses fare under them next to synthetic noise of about the same rate.

Everything here is computed from committed files: the counts derived from the CIFAR-10N label
files (:mod:`gce_lab.pipeline.human_stats`) and the runs' results; the chapter prints what these
functions return.
"""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gce_lab.book.findings import Findings
from gce_lab.book.report import NOISE_LABELS, results_label
from gce_lab.methods import METHOD_INFO, METHOD_LABELS
from gce_lab.pipeline.experiments import EXPERIMENTS, parse_noise
from gce_lab.pipeline.human_stats import HumanNoiseStats

__all__ = [
    "label_set_rates",
    "confused_pairs",
    "per_class_rates",
    "annotator_dependence",
    "plot_transition_matrices",
    "synthetic_partners",
    "human_comparison",
    "ordering_agreement",
    "human_findings",
]

_ORDER = tuple(m for m in METHOD_LABELS if m in METHOD_INFO)  # the paper's order


def label_set_rates(stats: HumanNoiseStats) -> pd.DataFrame:
    """Share of wrong labels of each label set over all training images of the data set."""
    rates = {NOISE_LABELS[kind]: round(stats.rate(kind), 4) for kind in stats.kinds}
    return pd.DataFrame({f"share of wrong labels (all {stats.counts[stats.kinds[0]].sum():,} images)": rates})


def confused_pairs(stats: HumanNoiseStats, kind: str, classes: list[str], top: int = 8) -> pd.DataFrame:
    """The ``top`` most frequent confusions of label set ``kind``: true class, the label people
    gave, the share of that class's images so labelled, and the count."""
    counts = stats.counts[kind]
    share = counts / counts.sum(axis=1, keepdims=True)
    rows = [
        (classes[i], classes[j], share[i, j], int(counts[i, j]))
        for i in range(stats.num_classes)
        for j in range(stats.num_classes)
        if i != j
    ]
    frame = pd.DataFrame(rows, columns=["true class", "labelled as", "share of the class", "images"])
    return frame.sort_values("images", ascending=False, ignore_index=True).head(top).round(3)


def per_class_rates(stats: HumanNoiseStats, classes: list[str]) -> pd.DataFrame:
    """Share of wrong labels per true class (rows) for each label set (columns), and over all."""
    columns = {NOISE_LABELS[kind]: [*stats.class_rates(kind).tolist(), stats.rate(kind)] for kind in stats.kinds}
    return pd.DataFrame(columns, index=[*classes, "all classes"]).round(3)


def annotator_dependence(stats: HumanNoiseStats, classes: list[str]) -> pd.DataFrame:
    """Are two annotators' errors independent once the class is known?

    Under class-conditional noise (the paper's model: the noise depends on the class alone) the
    chance that two independent annotators both mislabel an image of class i is the product of
    their error rates on class i. Per class, over the pairs of ``human_random1..3`` present: that
    product (expected), the observed rate of both wrong, and their ratio. A ratio well above 1 says
    that errors gather on particular images: the noise depends on the image, not only its class.
    """
    kinds = [k for k in ("human_random1", "human_random2", "human_random3") if k in stats.kinds]
    if len(kinds) < 2:
        raise ValueError(f"stats must hold at least two of human_random1..3, got {stats.kinds}")
    pairs = list(itertools.combinations(kinds, 2))
    rows = []
    for cls, name in enumerate(classes):
        part = stats.patterns[stats.patterns["true_class"] == cls]
        images = part["images"].sum()
        if not images:
            rows.append((name, np.nan, np.nan))
            continue

        def share(mask: pd.Series) -> float:
            return float(part.loc[mask, "images"].sum() / images)

        expected = sum(share(part[a] == 1) * share(part[b] == 1) for a, b in pairs) / len(pairs)
        observed = sum(share((part[a] == 1) & (part[b] == 1)) for a, b in pairs) / len(pairs)
        rows.append((name, expected, observed))
    frame = pd.DataFrame(rows, columns=["true class", "both wrong if class-conditional", "both wrong, observed"])
    frame["observed / class-conditional"] = frame["both wrong, observed"] / frame["both wrong if class-conditional"]
    return frame.set_index("true class").round(4)


def plot_transition_matrices(matrices: dict[str, np.ndarray], classes: list[str]) -> Figure:
    """One heatmap per transition matrix (``T[i, j]``: true class i labelled j), two to a row, with
    a shared colour scale and every class named on both axes."""
    rows = -(-len(matrices) // 2)
    fig, axes = plt.subplots(rows, 2, figsize=(10, 4.6 * rows), layout="constrained", squeeze=False)
    for ax, (title, T) in zip(axes.flat, matrices.items()):
        image = ax.imshow(T, cmap="Blues", vmin=0, vmax=1)
        ax.grid(False)
        ax.set_title(title, fontsize=11)
        ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", rotation_mode="anchor", fontsize=9)
        ax.set_yticks(range(len(classes)), classes, fontsize=9)
        ax.set_xlabel("label given")
        ax.set_ylabel("true class")
    for ax in axes.flat[len(matrices) :]:
        ax.set_visible(False)
    fig.colorbar(image, ax=axes, label="T[i, j]", shrink=0.6)
    return fig


def synthetic_partners(human_runs: pd.DataFrame) -> dict[str, dict[str, float]]:
    """For each human label set of ``human_runs``: the synthetic columns of Table 1's design
    nearest to its realised rate, one per synthetic kind, as ``{kind: eta}`` (whether or not they
    have been run: a missing one shows as missing, never replaced by a farther one)."""
    design: dict[str, list[float]] = {}
    for noise in EXPERIMENTS["table1"].noises:
        kind, eta = parse_noise(noise)
        design.setdefault(kind, []).append(eta)
    partners = {}
    for noise, group in human_runs.groupby("noise", sort=False):
        rate = float(group["realised_noise_rate"].mean())
        partners[noise] = {kind: min(etas, key=lambda eta: (abs(eta - rate), eta)) for kind, etas in design.items()}
    return partners


def _means(runs: pd.DataFrame) -> pd.Series:
    return runs.groupby("method")["test_acc_best_val"].mean()


#: The training settings a synthetic run must share with the human runs to stand beside them: one
#: recipe of a profile (a profile's recipe can change, and its experiments move over one by one).
_RECIPE = ("model", "optimizer", "lr", "milestones", "batch_size", "epochs", "augment", "n_train", "n_val")


def _recipe_keys(runs: pd.DataFrame, settings: list[str]) -> pd.Series:
    def word(value: object) -> str:
        if pd.isna(value):
            return ""
        return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)

    return runs[settings].apply(lambda row: "|".join(word(v) for v in row), axis=1)


def _partner_runs(table1_runs: pd.DataFrame, human_runs: pd.DataFrame, kind: str, eta: float) -> pd.DataFrame:
    """The runs of Table 1's column (``kind``, ``eta``) on the human runs' data set that were
    trained as the human runs were (every setting of :data:`_RECIPE` that both record)."""
    part = table1_runs[
        (table1_runs["noise"] == kind)
        & np.isclose(table1_runs["eta"], eta)
        & table1_runs["dataset"].isin(human_runs["dataset"])
    ]
    settings = [s for s in _RECIPE if s in part and s in human_runs]
    if not settings or part.empty:
        return part
    return part[_recipe_keys(part, settings).isin(set(_recipe_keys(human_runs, settings)))]


def human_comparison(human_runs: pd.DataFrame, table1_runs: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy (%) at the best-validation epoch of each loss under each human label set,
    beside the synthetic columns of Table 1 nearest in rate (:func:`synthetic_partners`; only their
    runs trained as the human runs were, "—" where there are none), with the rank of the loss in
    each column (1 = most accurate). Headers name the profiles."""
    human_label, synthetic_label = results_label(human_runs), results_label(table1_runs)
    columns = {}
    partners = synthetic_partners(human_runs)
    for noise, group in human_runs.groupby("noise", sort=False):
        rate = group["realised_noise_rate"].mean()
        header = f"{NOISE_LABELS[noise]} ({100 * rate:.1f} % of training labels wrong)"
        columns[(f"human ({human_label})", header)] = _means(group)
    used = dict.fromkeys((k, e) for p in partners.values() for k, e in p.items())
    for kind, eta in sorted(used, key=lambda ke: (ke[0], ke[1])):
        part = _partner_runs(table1_runs, human_runs, kind, eta)
        columns[(f"synthetic ({synthetic_label})", f"{NOISE_LABELS[kind]} η = {eta:g}")] = _means(part)
    accuracy = pd.DataFrame(columns).reindex([m for m in _ORDER if m in human_runs["method"].unique()])
    ranks = accuracy.rank(ascending=False, method="min")
    shown = accuracy.round(2).astype(object).where(accuracy.notna(), "—")
    for column in accuracy.columns:
        shown[column] = [f"{a} ({int(r)})" if pd.notna(r) else "—" for a, r in zip(shown[column], ranks[column])]
    shown.index = [METHOD_LABELS[m] for m in shown.index]
    shown.index.name = "method (rank)"
    return shown


def ordering_agreement(human_runs: pd.DataFrame, table1_runs: pd.DataFrame) -> pd.DataFrame:
    """Per human label set: the losses from most to least accurate and, per synthetic kind, its
    partner column (nearest rate, :func:`synthetic_partners`) and how many pairs of losses that
    column orders the same way ("—" where it has no runs trained as the human runs were)."""
    partners = synthetic_partners(human_runs)
    rows = []
    for noise, group in human_runs.groupby("noise", sort=False):
        ours = _means(group)
        row = {
            "label set": NOISE_LABELS[noise],
            "share of training labels wrong": round(float(group["realised_noise_rate"].mean()), 3),
            "order (most accurate first)": " > ".join(
                METHOD_LABELS[m] for m in ours.sort_values(ascending=False).index
            ),
        }
        for kind, eta in partners[noise].items():
            theirs = _means(_partner_runs(table1_runs, group, kind, eta))
            common = [m for m in ours.index if m in theirs.index]
            pairs = list(itertools.combinations(common, 2))
            agree = sum(np.sign(ours[a] - ours[b]) == np.sign(theirs[a] - theirs[b]) for a, b in pairs)
            row[f"{NOISE_LABELS[kind]} partner"] = f"η = {eta:g}"
            row[f"same order as {NOISE_LABELS[kind]}"] = f"{agree} of {len(pairs)} pairs" if pairs else "—"
        rows.append(row)
    return pd.DataFrame(rows).set_index("label set")


def human_findings(human_runs: pd.DataFrame) -> Findings:
    """Per human label set, in sentences computed from the numbers: the most and least accurate
    losses, L_q's rank and its margin over CCE."""
    sentences = []
    for noise, group in human_runs.groupby("noise", sort=False):
        means = _means(group).sort_values(ascending=False)
        text = (
            f"{NOISE_LABELS[noise]} ({100 * group['realised_noise_rate'].mean():.1f} % of training labels wrong): "
            f"{METHOD_LABELS[means.index[0]]} is the most accurate ({means.iloc[0]:.2f} %), "
            f"{METHOD_LABELS[means.index[-1]]} the least ({means.iloc[-1]:.2f} %)"
        )
        if {"lq", "cce"} <= set(means.index):
            rank = list(means.index).index("lq") + 1
            margin = means["lq"] - means["cce"]
            text += f"; L_q ranks {rank} of {len(means)}, {margin:+.2f} points against CCE"
        sentences.append(text + ".")
    return Findings(results_label(human_runs), tuple(sentences))
