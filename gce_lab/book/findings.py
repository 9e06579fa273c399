"""What the figures' and tables' numbers show, in sentences computed from them.

A chapter's prose must never contradict its numbers, and the numbers change with the profile
(smoke, cpu, lab, paper). So the sentences that state a finding of Fig. 1a, 1c and 2 are built
here from the same summaries the chapters print (:mod:`gce_lab.book.plots`): every comparison word
("more slowly", "below", "loses") is chosen by the numbers it compares.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from gce_lab.book.comparison import compare_with_paper
from gce_lab.book.plots import PEAK, fig1ab_summary, fig1c_summary, fig2_summary
from gce_lab.book.report import NOISE_LABELS, results_label
from gce_lab.datasets import DATASET_LABELS
from gce_lab.methods import METHOD_LABELS

__all__ = ["Findings", "fig1ab_findings", "fig1c_findings", "fig2_findings", "difference_findings"]


@dataclass(frozen=True)
class Findings:
    """Sentences about one figure's numbers: a markdown list in the book, plain text elsewhere."""

    label: str
    sentences: tuple[str, ...]

    def _lines(self) -> tuple[str, ...]:
        return self.sentences or (
            "Nothing to compare yet: the runs a comparison needs are not all there "
            "(the box at the top of the page names what is missing).",
        )

    def _repr_markdown_(self) -> str:
        head = f"**What the `{self.label}` numbers show** (computed from them):"
        return "\n".join([head, "", *(f"- {s}" for s in self._lines())])

    def __repr__(self) -> str:
        return "\n".join([f"What the {self.label} numbers show:", *(f"- {s}" for s in self._lines())])


def _compare(a: float, b: float, more: str, less: str, same: str) -> str:
    return more if a > b else less if a < b else same


def fig1ab_findings(runs: pd.DataFrame, epochs: pd.DataFrame) -> Findings:
    """Per data set with both losses: does MAE learn more slowly than CCE (the first epoch at 90 %
    of the peak of its own test curve), and does its test curve peak lower?"""
    summary = fig1ab_summary(runs, epochs).droplevel(0, axis=1)
    sentences = []
    for dataset in summary.index.get_level_values("dataset").unique():
        part = summary.xs(dataset, level="dataset")
        if not {"CCE", "MAE"} <= set(part.index):
            continue
        cce, mae = part.loc["CCE"], part.loc["MAE"]
        fast = "first epoch ≥ 90 % of the peak"
        pace = _compare(mae[fast], cce[fast], "more slowly than", "faster than", "as fast as")
        level = _compare(mae[PEAK], cce[PEAK], "above", "below", "level with")
        sentences.append(
            f"{dataset}: MAE learns {pace} CCE (90 % of its own peak by epoch {int(mae[fast])}, CCE by epoch "
            f"{int(cce[fast])}) and the peak of its test curve, {mae[PEAK]:.2f} % (epoch "
            f"{int(mae['epoch of the peak'])}), is {level} CCE's {cce[PEAK]:.2f} % (epoch "
            f"{int(cce['epoch of the peak'])})."
        )
    return Findings(results_label(runs), tuple(sentences))


def fig1c_findings(runs: pd.DataFrame, epochs: pd.DataFrame) -> Findings:
    """CCE against L_q: the mean softmax on wrongly labelled samples at the last epoch (and its
    first epoch for CCE), and the test accuracy from the best-validation epoch to the last."""
    summary = fig1c_summary(runs, epochs).droplevel(0, axis=1)
    sentences = []
    if {"CCE", "Lq"} <= set(summary.index):
        cce, lq = summary.loc["CCE", "wrong labels, last epoch"], summary.loc["Lq", "wrong labels, last epoch"]
        first = epochs.merge(runs[["run_id", "method"]], on="run_id")
        first = first[(first["method"] == "cce") & (first["epoch"] == 1)]["mean_softmax_noisy"].mean()
        trend = _compare(cce, first, "rises", "falls", "stays")
        sentences.append(
            f"On the wrongly labelled samples, CCE's mean softmax of the given label {trend} from "
            f"{first:.3f} after the first epoch to {cce:.3f} after the last; L_q's ends at {lq:.3f}, "
            f"{lq / cce:.2f} times CCE's."
        )
    for method, name in (("cce", "CCE"), ("lq", "L_q")):
        rows = runs[runs["method"] == method]
        if len(rows):
            best, last = rows["test_acc_best_val"].mean(), rows["test_acc_last"].mean()
            change = _compare(best, last, "falls", "rises", "stays")
            sentences.append(
                f"{name}'s test accuracy {change} from {best:.2f} % at its best-validation epoch to "
                f"{last:.2f} % at the last ({last - best:+.2f} points)."
            )
    return Findings(results_label(runs), tuple(sentences))


def fig2_findings(runs: pd.DataFrame, epochs: pd.DataFrame) -> Findings:
    """Per noise rate: which q ends most accurate, and how much CCE (q = 0) and the paper's q = 0.7
    lose from the peak of their test curve to the last epoch (overfitting)."""
    summary = fig2_summary(runs, epochs).droplevel(0, axis=1)
    sentences = []
    for eta in summary.index.get_level_values("η").unique():
        part = summary.xs(eta, level="η")
        top = part["last test acc (%)"].idxmax()
        text = (
            f"η = {eta:g}: q = {top:g} ends most accurate ({part.loc[top, 'last test acc (%)']:.2f} % at the "
            f"last epoch)"
        )
        losses = [
            f"q = {q:g} loses {part.loc[q, 'peak − last']:.2f} points from the peak of its test curve to the last epoch"
            for q in (0.0, 0.7)
            if q in part.index
        ]
        sentences.append(text + ("; " + ", ".join(losses) if losses else "") + ".")
    return Findings(results_label(runs), tuple(sentences))


def difference_findings(runs: pd.DataFrame, table: str) -> Findings:
    """Per data set: how many cells of ``table`` lie below the paper's number, and which lie above."""
    differences = compare_with_paper(runs, table).dropna(subset=["diff"])
    sentences = []
    for dataset, cells in differences.groupby("dataset", sort=False):
        above = "; ".join(
            f"{METHOD_LABELS[r.method]}, {NOISE_LABELS[r.noise]} {r.eta:g} ({r.diff:+.1f})"
            for r in cells[cells["diff"] > 0].itertuples()
        )
        sentences.append(
            f"{DATASET_LABELS[dataset]}: {(cells['diff'] < 0).sum()} of {len(cells)} cells below the paper's number"
            + (f"; above it: {above}." if above else ".")
        )
    return Findings(results_label(runs), tuple(sentences))
