"""How much our numbers move between seeds, beside the paper's spread over its five runs.

Most of our table cells rest on one seed; a few columns run three (for `cpu`: CIFAR-10's
uniform 0.4 and class-dependent 0.4). :func:`seed_spread_table` shows those columns seed by
seed with our standard deviation beside the paper's, and :func:`seed_order_findings` says, in
sentences computed from the numbers, whether one seed orders the methods as another does, and
as the paper does: how far a one-seed column's agreement with the paper can be trusted.
"""

from __future__ import annotations

import itertools

import pandas as pd

from gce_lab.book.comparison import TABLE_METRIC, compare_with_paper, pairs_in_same_order, table_runs
from gce_lab.book.findings import Findings
from gce_lab.book.report import NOISE_LABELS, format_mean_std, results_label
from gce_lab.datasets import DATASET_LABELS
from gce_lab.methods import METHOD_LABELS
from gce_lab.validation import check_choice

__all__ = ["multi_seed_columns", "seed_spread_table", "seed_order_findings"]

_COLUMN = ["dataset", "noise", "eta"]


def _table_runs(runs: pd.DataFrame, table: str) -> pd.DataFrame:
    check_choice("table", table, tuple(TABLE_METRIC))
    ours = table_runs(runs, table)
    return ours.assign(seed=ours["seed"].astype(int))


def multi_seed_columns(runs: pd.DataFrame, table: str) -> pd.DataFrame:
    """The (dataset, noise, eta) columns of ``table`` where some method ran with more than one seed."""
    ours = _table_runs(runs, table)
    seeds = ours.groupby(_COLUMN, sort=False)["seed"].nunique()
    return seeds[seeds > 1].reset_index()[_COLUMN]


def seed_spread_table(runs: pd.DataFrame, table: str) -> pd.DataFrame:
    """Each seed's accuracy (%) in the columns of ``table`` with more than one seed.

    Rows: (data set, noise, η, method) in the paper's order. Columns, under a header naming the
    profile: one per seed, then our mean ± std over the seeds and the range (max − min); then the
    paper's mean ± std over its five runs. Empty (no rows) when every column has one seed.
    """
    label = results_label(runs)
    metric = TABLE_METRIC[table]
    ours = _table_runs(runs, table).merge(multi_seed_columns(runs, table), on=_COLUMN)
    comparison = compare_with_paper(ours, table).dropna(subset=["ours_mean"])
    per_seed = ours.pivot_table(index=["dataset", "method", "noise", "eta"], columns="seed", values=metric)
    rows = []
    for _, row in comparison.iterrows():
        values = per_seed.loc[(row["dataset"], row["method"], row["noise"], row["eta"])]
        rows.append(
            {
                "data set": DATASET_LABELS[row["dataset"]],
                "noise": NOISE_LABELS[row["noise"]],
                "η": f"{row['eta']:g}",
                "method": METHOD_LABELS[row["method"]],
                **{(f"ours ({label} profile)", f"seed {s}"): format_mean_std(v) for s, v in values.items()},
                (f"ours ({label} profile)", "mean ± std"): format_mean_std(row["ours_mean"], row["ours_std"]),
                (f"ours ({label} profile)", "range"): format_mean_std(values.max() - values.min()),
                ("paper", "mean ± std"): format_mean_std(row["paper_mean"], row["paper_std"]),
            }
        )
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).set_index(["data set", "noise", "η", "method"])
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def _order_agreement(a: pd.Series, b: pd.Series) -> tuple[int, int]:
    """(pairs ordered alike, pairs) between two accuracy series indexed by method (one column)."""
    both = pd.concat([a, b], axis=1).dropna()
    return pairs_in_same_order(both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy())


def seed_order_findings(runs: pd.DataFrame, table: str) -> Findings:
    """Per multi-seed column: how many method pairs two seeds order alike, and each seed's
    agreement with the paper's order (the pairwise agreement of ``agreement_table``)."""
    label = results_label(runs)
    metric = TABLE_METRIC[table]
    ours = _table_runs(runs, table)
    paper = compare_with_paper(ours, table).set_index(_COLUMN)
    sentences = []
    for key, cells in ours.groupby(_COLUMN, sort=False):
        by_seed = {s: seed_cells.set_index("method")[metric] for s, seed_cells in cells.groupby("seed")}
        between = [_order_agreement(by_seed[s], by_seed[t]) for s, t in itertools.combinations(by_seed, 2)]
        agree, pairs = sum(a for a, _ in between), sum(p for _, p in between)
        if not pairs:
            continue
        paper_here = paper.loc[[key]].set_index("method")["paper_mean"]
        with_paper = ", ".join("{}/{}".format(*_order_agreement(by_seed[s], paper_here)) for s in by_seed)
        sentences.append(
            f"{DATASET_LABELS[key[0]]}, {NOISE_LABELS[key[1]]} {key[2]:g} ({len(by_seed)} seeds): two seeds order a "
            f"pair of methods alike in {agree} of {pairs} comparisons ({100 * agree / pairs:.0f}%); seeds "
            f"{', '.join(str(s) for s in by_seed)} alone order {with_paper} pairs as the paper does."
        )
    return Findings(label, tuple(sentences))
