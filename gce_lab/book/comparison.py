"""The comparison of our results with the paper's numbers: its Tables 1 and 2 as reported
(``gce_lab/data/reported_results.csv``), our mean ± std beside them and per-column ranks (how
many pairs of methods we order as the paper does is :mod:`gce_lab.book.method_pairs`).

It reads the results store's tables (:func:`gce_lab.pipeline.results.load_results`); the book's
chapters and tables (:mod:`gce_lab.book.report`, :mod:`gce_lab.book.plots`, ...) build on it.
"""

from __future__ import annotations

import itertools
from importlib import resources

import numpy as np
import pandas as pd

from gce_lab.datasets import DATASET_LABELS
from gce_lab.methods import METHOD_LABELS
from gce_lab.validation import check_choice

__all__ = [
    "TABLE_METRIC",
    "PAPER_METHOD_RENAMES",
    "reported_results",
    "table_runs",
    "compare_with_paper",
    "per_column_ranking",
    "pairs_in_same_order",
]

#: The accuracy each table of the paper reports (Table 1 caption; Table 2 caption).
TABLE_METRIC = {"table1": "test_acc_best_val", "table2": "test_acc_last"}

#: Rows of the paper's tables whose method we name differently. Table 2's "Forward" column
#: (Wang et al. 2018's numbers) is filed as ``forward_t`` in the paper's numbers file; under
#: open-set noise there is no true T, so that number can only come from an estimated T̂ and
#: is our ``forward_t_hat``. Under closed-set noise the paper does not say: it stays ``forward_t``.
PAPER_METHOD_RENAMES = {("table2", "open_set", "forward_t"): "forward_t_hat"}

_KEYS = ["dataset", "method", "noise", "eta"]
_COLUMN_KEYS = ["dataset", "noise", "eta"]
_ORDER = {
    "dataset": tuple(DATASET_LABELS),
    "method": tuple(METHOD_LABELS),
    "noise": ("none", "uniform", "class_dependent", "open_set", "closed_set"),
}


def reported_results(table: str | None = None) -> pd.DataFrame:
    """The paper's Table 1 and 2 (columns table, dataset, method, noise, eta, mean, std; percent).

    Read from the copy shipped in the package (``gce_lab/data/reported_results.csv``), with the
    methods of :data:`PAPER_METHOD_RENAMES` named as we run them.
    """
    with resources.files("gce_lab").joinpath("data/reported_results.csv").open("r") as handle:
        frame = pd.read_csv(handle)
    for (table_name, noise, method), ours in PAPER_METHOD_RENAMES.items():
        rows = (frame["table"] == table_name) & (frame["noise"] == noise) & (frame["method"] == method)
        frame.loc[rows, "method"] = ours
    if table is None:
        return frame
    check_choice("table", table, tuple(TABLE_METRIC))
    return frame[frame["table"] == table].reset_index(drop=True)


def _sort(frame: pd.DataFrame) -> pd.DataFrame:
    def key(column: pd.Series) -> pd.Series:
        order = _ORDER.get(column.name)
        if order is None:
            return column
        return column.map(lambda v: order.index(v) if v in order else len(order))

    return frame.sort_values(
        [c for c in ("dataset", "noise", "eta", "method") if c in frame], key=key, ignore_index=True
    )


def table_runs(runs: pd.DataFrame, table: str) -> pd.DataFrame:
    """The rows of ``runs`` for ``table`` (all without an ``experiment`` column), ``eta`` rounded as the paper's."""
    ours = runs[runs["experiment"] == table] if "experiment" in runs.columns else runs
    return ours.assign(eta=ours["eta"].astype(float).round(4))


def compare_with_paper(runs: pd.DataFrame, table: str = "table1") -> pd.DataFrame:
    """Our mean ± std per (dataset, method, noise, eta) beside the paper's, for ``table``.

    Our value is the accuracy the table reports (:data:`TABLE_METRIC`: best-validation epoch for
    Table 1, last epoch for Table 2), averaged over seeds. Columns: dataset, method, noise, eta,
    ours_mean, ours_std (NaN for one seed), n_runs, paper_mean, paper_std, diff (ours - paper),
    profile. The join is outer and on exact method names: a method the paper lists but we did
    not run (``wang2018``) or one only we ran has NaN on the other side.
    """
    check_choice("table", table, tuple(TABLE_METRIC))
    metric = TABLE_METRIC[table]
    needed = set(_KEYS) | {metric, "profile"}
    if not needed <= set(runs.columns):
        raise ValueError(f"runs must have the columns {sorted(needed)}; missing {sorted(needed - set(runs.columns))}")
    ours = table_runs(runs, table)
    grouped = (
        ours.groupby(_KEYS, sort=False)
        .agg(
            ours_mean=(metric, "mean"),
            ours_std=(metric, "std"),
            n_runs=(metric, "size"),
            profile=("profile", lambda s: "+".join(sorted(set(map(str, s))))),
        )
        .reset_index()
    )
    paper = reported_results(table).rename(columns={"mean": "paper_mean", "std": "paper_std"}).drop(columns="table")
    paper = paper.assign(eta=paper["eta"].round(4))
    merged = grouped.merge(paper, on=_KEYS, how="outer")
    merged["diff"] = merged["ours_mean"] - merged["paper_mean"]
    merged["n_runs"] = merged["n_runs"].fillna(0).astype(int)
    columns = [*_KEYS, "ours_mean", "ours_std", "n_runs", "paper_mean", "paper_std", "diff", "profile"]
    return _sort(merged[columns])


def per_column_ranking(comparison: pd.DataFrame) -> pd.DataFrame:
    """Rank the methods within each (dataset, noise, eta) column of the table, 1 = most accurate.

    Adds ``ours_rank`` and ``paper_rank`` (ties share the better rank; NaN where a value is
    missing) to a :func:`compare_with_paper` frame; methods present on only one side are ranked
    on that side only.
    """
    frame = comparison.copy()
    groups = frame.groupby(_COLUMN_KEYS, sort=False)
    for side in ("ours", "paper"):
        frame[f"{side}_rank"] = groups[f"{side}_mean"].rank(ascending=False, method="min")
    return frame


def pairs_in_same_order(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """(pairs ordered alike, pairs) of two accuracy vectors over the same methods: a pair (i, j)
    is alike when ``a[i] - a[j]`` and ``b[i] - b[j]`` have the same sign (a tie only with a tie)."""
    pairs = list(itertools.combinations(range(len(a)), 2))
    agree = sum(np.sign(a[i] - a[j]) == np.sign(b[i] - b[j]) for i, j in pairs)
    return int(agree), len(pairs)
