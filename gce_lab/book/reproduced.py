"""What was reproduced: every claim of the paper the book tests, in one table a reader can trust.

Each row is a claim of Sec. 3-4 (Fig. 1a, Fig. 1c, Fig. 2, the readings of Tables 1 and 2), with
its verdict on our runs and on the paper's own numbers (:mod:`gce_lab.book.noise_verdicts`:
*holds*, *does not hold*, *within noise*, *cannot say*), the chapter that shows it, and, where
the two verdicts differ, a measured reason computed from our runs (the first pruning step's
precision, the best epochs, the wrong-label softmax). :func:`order_agreement` counts the pairs of
methods we order as the paper does, raw and beyond the noise of both sides, and
:func:`second_sources` reads what later papers report for GCE under their own protocols.

The figure claims compare one run per method (the figures run one seed): Fig. 2's accuracy
comparisons of q = 0.7 against q = 0 use the spread of L_q against CCE measured on the same data
set's multi-seed Table 1 columns, in the last-epoch accuracy the figure shows; the others (epochs
to learn, softmax values) have no measured spread and are decided by their sign, which the
verdict says.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from gce_lab.book.claims import CLAIMS, Claim, claims_table
from gce_lab.book.comparison import compare_with_paper, table_runs
from gce_lab.book.findings import Findings
from gce_lab.book.method_pairs import Noise, method_pairs, order_counts, pair_spread, table_noise
from gce_lab.book.noise_verdicts import FAILS, HOLDS, MISSING, NO_SPREAD, WITHIN, SeedNoise, gap_verdict
from gce_lab.datasets import DATASET_LABELS
from gce_lab.methods import METHOD_LABELS

__all__ = [
    "CHAPTERS",
    "table_claims",
    "figure_claims",
    "reproduced_table",
    "reproduced_findings",
    "order_agreement",
    "largest_disagreements",
    "disagreement_findings",
    "second_sources",
    "protocol_dependence",
    "final_wrong_label_softmax",
]

#: The chapter of the book that shows each experiment.
CHAPTERS = {"fig1ab": "6", "fig1c": "7", "fig2": "8", "table1": "9", "table2": "10"}

Results = Mapping[str, tuple[pd.DataFrame, pd.DataFrame]]  # experiment -> (runs, epochs)


def _mean_first_prune(runs: pd.DataFrame, epochs: pd.DataFrame, noises: tuple[str, ...]) -> tuple[float, float]:
    """Truncated L_q's first pruning step over the columns of ``noises``: mean precision, mean η."""
    pruning = runs[(runs["method"] == "truncated_lq") & runs["noise"].isin(noises)]
    steps = epochs[epochs["run_id"].isin(pruning["run_id"]) & (epochs["prune_step"].astype(str) == "True")]
    first = steps.sort_values("epoch").groupby("run_id").head(1)
    return float(first["prune_precision"].astype(float).mean()), float(pruning["eta"].astype(float).mean())


def final_wrong_label_softmax(epochs: pd.DataFrame, run_ids: Iterable[str]) -> pd.Series:
    """Per run of ``run_ids`` (in that order), the mean softmax its network gives the wrongly
    labelled training samples at the last epoch recorded (NaN for a run without epochs)."""
    run_ids = list(run_ids)
    curves = epochs[epochs["run_id"].isin(run_ids)].sort_values("epoch")
    return curves.groupby("run_id")["mean_softmax_noisy"].last().reindex(run_ids).astype(float)


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
    """One row per claim of :data:`gce_lab.book.claims.CLAIMS` and data set (chapters 9 and 10's
    :func:`gce_lab.book.claims.claims_table`), with its chapter and, where our verdict differs
    from the paper's, a measured reason. Table 2 borrows the spread of Table 1's multi-seed
    columns of the same data set where it has none of its own."""
    borrowed = table_noise(results["table1"][0], "table1") if "table1" in results else None
    by_statement = {c.statement: c for c in CLAIMS}
    frames = []
    for table in ("table1", "table2"):
        if table not in results:
            continue
        runs, epochs = results[table]
        claims = claims_table(runs, table, borrowed if table == "table2" else None).reset_index()
        claims = claims.rename(columns={claims.columns[3]: "ours"})
        reasons = []
        columns = zip(claims["claim"], claims["data set"], claims["ours"], claims["paper"])
        for statement, dataset, ours, paper in columns:
            differs = _verdict_word(ours) not in (_verdict_word(paper), "cannot say")
            reasons.append(_reason(by_statement[statement], runs, epochs, dataset) if differs else "")
        claims = claims.assign(chapter=CHAPTERS[table], **{"measured reason": reasons})
        claims["data set"] = claims["data set"].map(lambda d: DATASET_LABELS.get(d, d))
        frames.append(claims[["claim", "data set", "chapter", "ours", "paper", "measured reason", "our seeds"]])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


@dataclass(frozen=True)
class _FigureClaim:
    experiment: str
    statement: str
    decide: Callable[
        [pd.DataFrame, pd.DataFrame, SeedNoise], tuple[str, str]
    ]  # (runs, epochs, spread) -> verdict, numbers


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


def _mae_slower(runs: pd.DataFrame, epochs: pd.DataFrame, spread: SeedNoise) -> tuple[str, str]:
    cce, mae = _run_of(runs, dataset="cifar10", method="cce"), _run_of(runs, dataset="cifar10", method="mae")
    if cce is None or mae is None:
        return MISSING, ""
    first_cce, first_mae = _first_at_90(epochs, cce["run_id"]), _first_at_90(epochs, mae["run_id"])
    return _by_sign(first_mae - first_cce), f"first epoch at 90 % of its peak: MAE {first_mae:g}, CCE {first_cce:g}"


def _cce_memorises_more(runs: pd.DataFrame, epochs: pd.DataFrame, spread: SeedNoise) -> tuple[str, str]:
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


def _q_order(
    eta: float, better: float, worse: float
) -> Callable[[pd.DataFrame, pd.DataFrame, SeedNoise], tuple[str, str]]:
    def decide(runs: pd.DataFrame, epochs: pd.DataFrame, spread: SeedNoise) -> tuple[str, str]:
        at = runs[np.isclose(runs["eta"].astype(float), eta)]
        high, low = _run_of(at, q=better), _run_of(at, q=worse)
        if high is None or low is None:
            return MISSING, ""
        difference = float(high["test_acc_last"]) - float(low["test_acc_last"])
        if math.isnan(spread.sd):
            return MISSING + " (one seed, and no spread of L_q against CCE measured on Table 1)", ""
        verdict = gap_verdict(difference, spread.sd, spread.dof)
        basis = " (one seed; spread of L_q against CCE, last epoch, on Table 1's multi-seed CIFAR-10 columns)"
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


_FIGURE_PAPER = "shown in the figure (no numbers to test)"


def figure_claims(results: Results) -> pd.DataFrame:
    """One row per claim the paper makes about its figures: our verdict and the numbers behind it."""
    spread = NO_SPREAD
    if "table1" in results:
        last_epoch = table_noise(results["table1"][0], "table1", metric="test_acc_last")
        spread = pair_spread(last_epoch, "cifar10", "cce", "lq")
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
                "paper": _FIGURE_PAPER,
                "measured reason": "",
                "our seeds": "1 seed",
            }
        )
    return pd.DataFrame(rows)


def reproduced_table(results: Results) -> pd.DataFrame:
    """Every claim the book tests: figure claims first, then the tables' readings."""
    return pd.concat([figure_claims(results), table_claims(results)], ignore_index=True).set_index(
        ["claim", "data set"]
    )


def order_agreement(runs: pd.DataFrame, table: str, borrowed: Noise | None = None) -> pd.DataFrame:
    """Per data set: the pairs of methods (within a column) that we order as the paper does, raw
    and counting only pairs whose gap exceeds the noise on both sides (our spread of a pair
    ``borrowed``'s where ``runs`` have no multi-seed column of it), with the median spread."""
    noise = table_noise(runs, table, borrowed)
    counts = order_counts(method_pairs(runs, table, noise), ["dataset"]).reset_index()
    spreads = [
        pd.Series([n.sd for (d, _, _), n in noise.items() if d == dataset]).median() for dataset in counts["dataset"]
    ]
    return pd.DataFrame(
        {
            "data set": [DATASET_LABELS.get(d, d) for d in counts["dataset"]],
            "pairs": counts["pairs"],
            "ordered as the paper": counts["same_order"],
            "pairs beyond noise on both sides": counts["beyond_noise"],
            "of those, ordered as the paper": counts["beyond_noise_same_order"],
            "median one-seed spread of a pair (points)": [round(float(sd), 2) for sd in spreads],
        }
    ).set_index("data set")


def _verdict_word(verdict: str) -> str:
    return "cannot say" if verdict.startswith("cannot say") else verdict.split(" (")[0].split(":")[0]


def reproduced_findings(table: pd.DataFrame, label: str) -> Findings:
    """How many of the claims of :func:`reproduced_table` hold on our runs (of profile ``label``) and
    on the paper's own numbers, and how many we judge differently from the paper where we can say."""
    ours = table["ours"].map(_verdict_word)
    tested = table[table["paper"] != _FIGURE_PAPER]
    paper, ours_tested = tested["paper"].map(_verdict_word), tested["ours"].map(_verdict_word)

    def counts(verdicts: pd.Series) -> str:
        words = {HOLDS: "hold", FAILS: "do not hold", WITHIN: "within noise", "cannot say": "cannot say"}
        present = [(words[w], int((verdicts == w).sum())) for w in words]
        return ", ".join(f"{n} {word}" for word, n in present if n)

    said = ours_tested != "cannot say"
    judged, differ = int(said.sum()), int((said & (ours_tested != paper)).sum())
    if judged:
        plural = "s" if judged > 1 else ""
        against = f"{differ} get{'s' if differ == 1 else ''} a different verdict from the paper's"
        judgement = f"Of the {judged} table claim{plural} our runs can judge, {against}."
    else:
        judgement = f"Our runs cannot judge any of the {len(tested)} table claims yet: each is 'cannot say'."
    sentences = [
        f"On our runs, of the {len(table)} claims (per data set): {counts(ours)}.",
        f"On the paper's own numbers, of the {len(tested)} claims about its tables: {counts(paper)}.",
        judgement,
    ]
    return Findings(label, tuple(sentences))


def _pair_reason(runs: pd.DataFrame, epochs: pd.DataFrame, column: pd.Series) -> str:
    """Measured on our runs of one column for the pair (a, b): their best-validation epochs, the
    wrong-label softmax at the end and, for truncated L_q, its first pruning step's precision."""
    part = runs[
        (runs["dataset"] == column["dataset"])
        & (runs["noise"] == column["noise"])
        & np.isclose(runs["eta"].astype(float), column["eta"])
        & runs["method"].isin([column["a"], column["b"]])
    ]
    if part.empty:
        return ""
    curves = epochs[epochs["run_id"].isin(part["run_id"])].sort_values("epoch")
    reasons = []
    for method in (column["a"], column["b"]):
        mine = part[part["method"] == method]
        best = mine["best_epoch"].astype(float).mean()
        shown = f"{best:.0f}" if best.is_integer() else f"{best:.1f}"
        seeds = f" (mean of {len(mine)} seeds)" if len(mine) > 1 else ""
        text = f"{METHOD_LABELS[method]}: best epoch {shown} of {mine['epochs'].max()}{seeds}"
        softmax = final_wrong_label_softmax(curves, mine["run_id"]).mean()
        if not math.isnan(softmax):
            text += f", wrong-label softmax {softmax:.2f}"
        if method == "truncated_lq":
            precision, _ = _mean_first_prune(mine, curves, (column["noise"],))
            if not math.isnan(precision):
                text += f", first prune precision {precision:.2f}"
        reasons.append(text)
    return "; ".join(reasons)


def largest_disagreements(results: Results, n: int = 3) -> pd.DataFrame:
    """The ``n`` pairs of methods within a column of Table 1 that we and the paper order
    oppositely, each side beyond its own noise, largest ``|our gap - the paper's gap|`` first:
    our gap and the paper's (the first method's lead, with its standard error) and a measured
    reason (:func:`_pair_reason`). Table 2 cannot have any: the paper gives no standard deviations."""
    columns = ["data set", "column", "pair", "ours", "paper", "measured reason"]
    if "table1" not in results:
        return pd.DataFrame(columns=columns)
    runs, epochs = results["table1"]
    pairs = method_pairs(runs, "table1")
    decided = pairs["ours_verdict"].isin([HOLDS, FAILS]) & pairs["paper_verdict"].isin([HOLDS, FAILS])
    opposite = decided & (pairs["ours_verdict"] != pairs["paper_verdict"])
    found = pairs[opposite & (pairs["ours_gap"] > 0)]  # each unordered pair once, our winner first
    found = found.assign(distance=(found["ours_gap"] - found["paper_gap"]).abs())
    found = found.sort_values("distance", ascending=False).head(n)
    return pd.DataFrame(
        {
            "data set": found["dataset"].map(lambda d: DATASET_LABELS.get(d, d)),
            "column": [f"{k.replace('_', '-')} {e:g}" for k, e in zip(found["noise"], found["eta"])],
            "pair": [f"{METHOD_LABELS[a]} vs {METHOD_LABELS[b]}" for a, b in zip(found["a"], found["b"])],
            "ours": [f"{g:+.2f} (SE {se:.2f})" for g, se in zip(found["ours_gap"], found["ours_se"])],
            "paper": [f"{g:+.2f} (SE {se:.2f})" for g, se in zip(found["paper_gap"], found["paper_se"])],
            "measured reason": [_pair_reason(runs, epochs, row) for _, row in found.iterrows()],
        },
        columns=columns,
    ).reset_index(drop=True)


def disagreement_findings(results: Results, label: str, n: int = 3) -> Findings:
    """How many pairs of methods within a column of Table 1 we order oppositely to the paper (by
    the sign of the two gaps), how many of them are beyond the noise on both sides (those
    :func:`largest_disagreements` shows, its ``n`` largest) and, for the others, why not: no
    measured spread on our side, within our noise, or within the paper's only."""
    if "table1" not in results:
        return Findings(label, ())
    pairs = method_pairs(results["table1"][0], "table1")
    both = pairs[(pairs["a"] < pairs["b"]) & pairs["ours_gap"].notna() & pairs["paper_gap"].notna()]
    opposite = both[np.sign(both["ours_gap"]) * np.sign(both["paper_gap"]) < 0]
    decided = opposite["ours_verdict"].isin([HOLDS, FAILS]) & opposite["paper_verdict"].isin([HOLDS, FAILS])
    beyond = int(decided.sum())
    sentences = [
        f"Of the {len(both)} pairs of methods within a column of Table 1 that we and the paper both ran, "
        f"we order {len(opposite)} oppositely to the paper (by the sign of the two gaps)."
    ]
    if beyond:
        verb = "is" if beyond == 1 else "are"
        sentences.append(
            f"{beyond} of them {verb} beyond the noise on both sides; the table below shows "
            f"the {min(n, beyond)} largest, with what our runs measured."
        )
    elif len(opposite):
        sentences.append("None of them is beyond the noise on both sides, so the table below is empty.")
    rest = opposite[~decided]
    reasons = [
        (
            int((rest["ours_verdict"] == MISSING).sum()),
            "have no measured spread on our side (no column of their data set has two seeds yet)",
        ),
        (int((rest["ours_verdict"] == WITHIN).sum()), "are within our noise"),
        (int(rest["ours_verdict"].isin([HOLDS, FAILS]).sum()), "are beyond our noise but within the paper's"),
    ]
    if len(rest):
        said = "; ".join(f"{count} {why}" for count, why in reasons if count)
        sentences.append(f"Of the {'other ' if beyond else ''}{len(rest)} not beyond both noises: {said}.")
    return Findings(label, tuple(sentences))


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
