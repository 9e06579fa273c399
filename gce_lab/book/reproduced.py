"""What was reproduced: every claim of the paper the book tests, in one table a reader can trust.

Each row is a claim of Sec. 3-4 (Fig. 1a, Fig. 1c, Fig. 2, the readings of Tables 1 and 2), with
its verdict on our runs and on the paper's own numbers (:mod:`gce_lab.book.noise_verdicts`:
*holds*, *does not hold*, *within noise*, *cannot say*), the chapter that shows it, and, where
the two verdicts differ, a measured reason computed from our runs (the first pruning step's
precision, the best epochs, the wrong-label softmax). :func:`order_agreement` counts the pairs of
methods we order as the paper does, raw and beyond the noise of both sides, and
:func:`second_sources` reads what later papers report for GCE under their own protocols.

The figure claims compare one run per method (the figures run one seed): accuracy comparisons
use the spread of one-seed differences measured on the same data set's multi-seed Table 1
columns; the others (epochs to learn, softmax values) have no measured spread and are decided by
their sign, which the verdict says.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from gce_lab.book.claims import CLAIMS, Claim
from gce_lab.book.comparison import TABLE_METRIC, compare_with_paper, table_runs
from gce_lab.book.noise_verdicts import (
    FAILS,
    HOLDS,
    MISSING,
    PAPER_RUNS,
    SeedNoise,
    claim_verdict,
    column_verdict,
    gap_verdict,
    paired_difference,
    seed_noise,
)
from gce_lab.datasets import DATASET_LABELS
from gce_lab.methods import METHOD_LABELS

__all__ = [
    "CHAPTERS",
    "claim_column_verdicts",
    "table_claims",
    "figure_claims",
    "reproduced_table",
    "order_agreement",
    "second_sources",
    "protocol_dependence",
]

#: The chapter of the book that shows each experiment.
CHAPTERS = {"fig1ab": "6", "fig1c": "7", "fig2": "8", "table1": "9", "table2": "10"}

Results = Mapping[str, tuple[pd.DataFrame, pd.DataFrame]]  # experiment -> (runs, epochs)


def _seed_accuracies(runs: pd.DataFrame, table: str) -> pd.DataFrame:
    ours = table_runs(runs, table)
    return ours.assign(seed=ours["seed"].astype(int), acc=ours[TABLE_METRIC[table]].astype(float))


def claim_column_verdicts(
    claim: Claim, runs: pd.DataFrame, dataset: str, side: str, noise: Mapping[str, SeedNoise] | None = None
) -> list[str]:
    """The claim's verdict on each of its columns of ``dataset``, on ``side`` (``"ours"``: the mean
    paired difference over seeds against the pooled one-seed spread ``noise[dataset]``;
    ``"paper"``: the difference of the paper's means against its five runs' standard deviations)."""
    comparison = compare_with_paper(runs, claim.table)
    rows = comparison[(comparison["dataset"] == dataset) & comparison["noise"].isin(claim.noises)]
    ours = _seed_accuracies(runs, claim.table)
    noise = seed_noise(ours, "acc") if noise is None else noise
    spread = noise.get(dataset, SeedNoise(math.nan, 0, 0)).sd
    verdicts = []
    for (kind, eta), column in rows.groupby(["noise", "eta"], sort=False):
        if side == "paper":
            means = column.set_index("method")[["paper_mean", "paper_std"]].dropna(subset=["paper_mean"])
            present = list(means.index)
        else:
            cell = ours[(ours["dataset"] == dataset) & (ours["noise"] == kind) & (ours["eta"] == eta)]
            accuracies = {m: dict(zip(g["seed"], g["acc"])) for m, g in cell.groupby("method", sort=False)}
            present = list(accuracies)
        if not all(m in present for m in claim.methods):
            verdicts.append(MISSING)
            continue
        outcomes = []
        for a, b in claim.test.pairs(present):
            if side == "paper":
                difference = means.loc[a, "paper_mean"] - means.loc[b, "paper_mean"]
                se = math.sqrt((means.loc[a, "paper_std"] ** 2 + means.loc[b, "paper_std"] ** 2) / PAPER_RUNS)
            else:
                difference, n = paired_difference(accuracies[a], accuracies[b])
                se = spread / math.sqrt(n) if n else math.nan
            outcomes.append(gap_verdict(float(difference), float(se)))
        verdicts.append(column_verdict(outcomes))
    return verdicts


def _mean_first_prune(runs: pd.DataFrame, epochs: pd.DataFrame, noises: tuple[str, ...]) -> tuple[float, float]:
    """Truncated L_q's first pruning step over the columns of ``noises``: mean precision, mean η."""
    pruning = runs[(runs["method"] == "truncated_lq") & runs["noise"].isin(noises)]
    steps = epochs[epochs["run_id"].isin(pruning["run_id"]) & (epochs["prune_step"].astype(str) == "True")]
    first = steps.sort_values("epoch").groupby("run_id").head(1)
    return float(first["prune_precision"].astype(float).mean()), float(pruning["eta"].astype(float).mean())


def _best_epochs(runs: pd.DataFrame, methods: tuple[str, ...]) -> str:
    means = runs[runs["method"].isin(methods)].groupby("method")["best_epoch"].mean()
    return ", ".join(f"{METHOD_LABELS[m]} {means[m]:.1f}" for m in methods if m in means)


def _reason(claim: Claim, runs: pd.DataFrame, epochs: pd.DataFrame, dataset: str) -> str:
    """A measured reason for a claim whose verdict on our runs differs from the paper's."""
    part = table_runs(runs, claim.table)
    part = part[(part["dataset"] == dataset) & part["noise"].isin(claim.noises)]
    if part.empty:
        return ""
    epochs = epochs[epochs["run_id"].isin(part["run_id"])]
    reasons = []
    if "truncated_lq" in claim.methods:
        precision, eta = _mean_first_prune(part, epochs, claim.noises)
        if not math.isnan(precision):
            reasons.append(
                f"truncated L_q's first pruning step picks wrongly labelled samples with precision {precision:.2f} "
                f"(mean η {eta:.2f})"
            )
    if claim.table == "table1":
        reasons.append(f"mean best-validation epoch: {_best_epochs(part, tuple(m for m in claim.methods))}")
    else:
        reasons.append("Table 2 reads the last epoch")
    return "; ".join(reasons)


def table_claims(results: Results) -> pd.DataFrame:
    """One row per claim of :data:`gce_lab.book.claims.CLAIMS` and data set."""
    rows = []
    for table in ("table1", "table2"):
        if table not in results:
            continue
        runs, epochs = results[table]
        noise = seed_noise(_seed_accuracies(runs, table), "acc")
        datasets = tuple(dict.fromkeys(compare_with_paper(runs, table)["dataset"]))
        for claim in (c for c in CLAIMS if c.table == table):
            for dataset in claim.datasets or datasets:
                ours = claim_verdict(claim_column_verdicts(claim, runs, dataset, "ours", noise), claim.quantifier)
                paper = claim_verdict(claim_column_verdicts(claim, runs, dataset, "paper", noise), claim.quantifier)
                differs = ours.split(" (")[0] != paper.split(" (")[0] and not ours.startswith(MISSING)
                rows.append(
                    {
                        "claim": claim.statement,
                        "data set": DATASET_LABELS.get(dataset, dataset),
                        "chapter": CHAPTERS[table],
                        "ours": ours,
                        "paper": paper,
                        "measured reason": _reason(claim, runs, epochs, dataset) if differs else "",
                    }
                )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class _FigureClaim:
    experiment: str
    statement: str
    decide: Callable[[pd.DataFrame, pd.DataFrame, float], tuple[str, str]]  # (runs, epochs, spread) -> verdict, numbers


def _first_at_90(epochs: pd.DataFrame, run_id: str) -> float:
    curve = epochs[epochs["run_id"] == run_id].sort_values("epoch")
    accuracy = curve["test_acc"].astype(float).to_numpy()
    if np.isnan(accuracy).all():
        return math.nan
    return float(curve["epoch"].to_numpy()[np.nanargmax(accuracy >= 0.9 * np.nanmax(accuracy))])


def _run_of(runs: pd.DataFrame, **match: str | float) -> pd.Series | None:
    """The first run whose columns equal ``match`` (q compared as a float)."""
    rows = runs
    for column, value in match.items():
        same = np.isclose(rows[column].astype(float), value) if column == "q" else rows[column] == value
        rows = rows[same]
    return rows.iloc[0] if len(rows) else None


def _by_sign(difference: float) -> str:
    if math.isnan(difference):
        return MISSING
    return (HOLDS if difference > 0 else FAILS) + " (one seed; decided by the sign: no spread measured)"


def _mae_slower(runs: pd.DataFrame, epochs: pd.DataFrame, spread: float) -> tuple[str, str]:
    cce, mae = _run_of(runs, dataset="cifar10", method="cce"), _run_of(runs, dataset="cifar10", method="mae")
    if cce is None or mae is None:
        return MISSING, ""
    first_cce, first_mae = _first_at_90(epochs, cce["run_id"]), _first_at_90(epochs, mae["run_id"])
    return _by_sign(first_mae - first_cce), f"first epoch at 90 % of its peak: MAE {first_mae:g}, CCE {first_cce:g}"


def _cce_memorises_more(runs: pd.DataFrame, epochs: pd.DataFrame, spread: float) -> tuple[str, str]:
    last = {}
    for method in ("cce", "lq"):
        run = _run_of(runs, method=method)
        if run is None:
            return MISSING, ""
        curve = epochs[epochs["run_id"] == run["run_id"]].sort_values("epoch")
        last[method] = float(curve["mean_softmax_noisy"].iloc[-1])
    return _by_sign(last["cce"] - last["lq"]), (
        f"mean softmax on wrongly labelled samples, last epoch: CCE {last['cce']:.3f}, L_q {last['lq']:.3f}"
    )


def _q_order(eta: float, better: float, worse: float) -> Callable[[pd.DataFrame, pd.DataFrame, float], tuple[str, str]]:
    def decide(runs: pd.DataFrame, epochs: pd.DataFrame, spread: float) -> tuple[str, str]:
        at = runs[np.isclose(runs["eta"].astype(float), eta)]
        high, low = _run_of(at, q=better), _run_of(at, q=worse)
        if high is None or low is None:
            return MISSING, ""
        difference = float(high["test_acc_last"]) - float(low["test_acc_last"])
        verdict = gap_verdict(difference, spread)
        basis = " (one seed; spread from Table 1's multi-seed CIFAR-10 columns)" if not math.isnan(spread) else ""
        return verdict + basis, (
            f"last-epoch test accuracy: q = {better:g} {float(high['test_acc_last']):.2f} %, q = {worse:g} "
            f"{float(low['test_acc_last']):.2f} %"
        )

    return decide


_FIGURE_CLAIMS = (
    _FigureClaim(
        "fig1ab",
        "On clean CIFAR-10, MAE learns more slowly than CCE "
        '(Sec. 3.2, Fig. 1a: "took significantly longer to converge")',
        _mae_slower,
    ),
    _FigureClaim(
        "fig1c",
        "At uniform η = 0.4, CCE memorises the wrong labels and L_q much less: its mean softmax on "
        "them ends higher (Sec. 4.1, Fig. 1c)",
        _cce_memorises_more,
    ),
    _FigureClaim(
        "fig2",
        "On clean data a larger q lowers the accuracy: CCE (q = 0) ends above q = 0.7 "
        '(Sec. 4.1, Fig. 2a: "also lowered the classification accuracy")',
        _q_order(0.0, 0.0, 0.7),
    ),
    _FigureClaim(
        "fig2",
        "At η = 0.2, q = 0.7 ends above CCE "
        '(Sec. 4.1, Fig. 2b: increased q "attained higher classification accuracies")',
        _q_order(0.2, 0.7, 0.0),
    ),
    _FigureClaim("fig2", "At η = 0.6, q = 0.7 ends above CCE (Sec. 4.1, Fig. 2c)", _q_order(0.6, 0.7, 0.0)),
)


def figure_claims(results: Results) -> pd.DataFrame:
    """One row per claim the paper makes about its figures: our verdict and the numbers behind it."""
    spread = math.nan
    if "table1" in results:
        noise = seed_noise(_seed_accuracies(results["table1"][0], "table1"), "acc")
        spread = noise.get("cifar10", SeedNoise(math.nan, 0, 0)).sd
    rows = []
    for claim in _FIGURE_CLAIMS:
        verdict, numbers = MISSING, ""
        if claim.experiment in results:
            runs, epochs = results[claim.experiment]
            verdict, numbers = claim.decide(runs, epochs, spread)
        rows.append(
            {
                "claim": claim.statement,
                "data set": "CIFAR-10",
                "chapter": CHAPTERS[claim.experiment],
                "ours": verdict + (f": {numbers}" if numbers else ""),
                "paper": "shown in the figure (no numbers to test)",
                "measured reason": "",
            }
        )
    return pd.DataFrame(rows)


def reproduced_table(results: Results) -> pd.DataFrame:
    """Every claim the book tests: figure claims first, then the tables' readings."""
    return pd.concat([figure_claims(results), table_claims(results)], ignore_index=True).set_index(
        ["claim", "data set"]
    )


def order_agreement(runs: pd.DataFrame, table: str) -> pd.DataFrame:
    """Per data set: the pairs of methods (within a column) that we order as the paper does, raw
    and counting only pairs whose gap exceeds two standard errors on both sides."""
    comparison = compare_with_paper(runs, table).dropna(subset=["ours_mean", "paper_mean"])
    ours = _seed_accuracies(runs, table)
    noise = seed_noise(ours, "acc")
    rows = []
    for dataset, block in comparison.groupby("dataset", sort=False):
        spread = noise.get(dataset, SeedNoise(math.nan, 0, 0)).sd
        raw = beyond = agree_raw = agree_beyond = 0
        for (kind, eta), column in block.groupby(["noise", "eta"], sort=False):
            cell = ours[(ours["dataset"] == dataset) & (ours["noise"] == kind) & (ours["eta"] == eta)]
            seeds = {m: dict(zip(g["seed"], g["acc"])) for m, g in cell.groupby("method")}
            paper = column.set_index("method")
            methods = [m for m in paper.index if m in seeds]
            for i, a in enumerate(methods):
                for b in methods[i + 1 :]:
                    ours_gap, n = paired_difference(seeds[a], seeds[b])
                    paper_gap = paper.loc[a, "paper_mean"] - paper.loc[b, "paper_mean"]
                    same = np.sign(ours_gap) == np.sign(paper_gap)
                    raw, agree_raw = raw + 1, agree_raw + bool(same)
                    paper_se = math.sqrt((paper.loc[a, "paper_std"] ** 2 + paper.loc[b, "paper_std"] ** 2) / PAPER_RUNS)
                    ours_se = spread / math.sqrt(n) if n else math.nan
                    if abs(ours_gap) > 2 * ours_se and abs(paper_gap) > 2 * paper_se:
                        beyond, agree_beyond = beyond + 1, agree_beyond + bool(same)
        rows.append(
            {
                "data set": DATASET_LABELS.get(dataset, dataset),
                "pairs": raw,
                "ordered as the paper": agree_raw,
                "pairs beyond noise on both sides": beyond,
                "of those, ordered as the paper": agree_beyond,
                "one-seed spread (points)": round(spread, 2) if not math.isnan(spread) else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("data set")


def second_sources() -> pd.DataFrame:
    """What later papers report for GCE and CE under their own protocols (``gce_lab/data/second_sources.csv``:
    each number with its table and page, network, epochs, reading and citation)."""
    with resources.files("gce_lab.data").joinpath("second_sources.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f)


def protocol_dependence(runs: pd.DataFrame, dataset: str = "cifar10", noise: str = "uniform") -> pd.DataFrame:
    """GCE (L_q) and CCE on ``dataset`` under ``noise`` per η: the paper's numbers (ResNet-34,
    best-validation epoch), each second source's, and ours, with what each protocol reads."""
    comparison = compare_with_paper(runs, "table1")
    part = comparison[
        (comparison["dataset"] == dataset) & (comparison["noise"] == noise) & comparison["method"].isin(["cce", "lq"])
    ]
    frames = {
        "the paper (Table 1: ResNet-34, 120 epochs, best-validation epoch)": part.pivot_table(
            index="eta", columns="method", values="paper_mean"
        ),
    }
    profiles = "+".join(sorted(set(part["profile"].dropna()))) or "no"
    frames[f"ours ({profiles} runs, best-validation epoch)"] = part.pivot_table(
        index="eta", columns="method", values="ours_mean"
    )
    sources = second_sources()
    sources = sources[(sources["dataset"] == dataset) & (sources["noise"] == noise)]
    for key, rows in sources.groupby("source_key", sort=False):
        first = rows.iloc[0]
        label = f"{key} ({first['location']}: {first['network']}, {first['epochs']} epochs, {first['reading']})"
        frames[label] = rows.assign(method=rows["method"].replace({"gce": "lq"})).pivot_table(
            index="eta", columns="method", values="accuracy"
        )
    table = pd.concat(frames, axis=1).rename(columns={"cce": "CCE", "lq": "GCE (L_q, q = 0.7)"}, level=1)
    table.index = [f"η = {eta:g}" for eta in table.index]
    return table.round(2)
