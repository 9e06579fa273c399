"""The paper's claims about its tables, each tested on a set of results.

Sec. 4.3 of Zhang & Sabuncu (2018) reads Tables 1 and 2 in sentences ("for uniform noise,
proposed loss functions outperformed the baselines significantly", "MAE performed poorly for
all datasets at all noise levels", ...). Here every such sentence is a :class:`Claim`: a test
of one column of the table (a data set, a noise type and a rate η) and how many of the
columns it must pass (``"all"`` or ``"most"``, i.e. more than half). :func:`claims_table`
applies each claim, per data set, to our numbers and to the paper's own, and says *holds*,
*does not hold* or *cannot say* (results missing), with the count of columns behind the
verdict. Nothing is typed in: change the results and the verdicts follow.

A verdict is given as soon as the missing columns could not change it: under ``"all"`` one
failing column is enough to refute; under ``"most"``, more than half the columns passing
confirms and half or more failing refutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from gce_lab.book.comparison import compare_with_paper
from gce_lab.methods import METHOD_INFO, METHOD_LABELS
from gce_lab.validation import check_choice

__all__ = ["Claim", "Order", "CLAIMS", "column_verdicts", "verdict", "claims_table"]

Means = Mapping[str, float]  # method -> mean accuracy of one column of a table


@dataclass(frozen=True)
class Claim:
    """One sentence of the paper about a table, as a test of its columns.

    Attributes:
        key: short identifier.
        table: ``table1`` or ``table2``.
        statement: the claim in words, with the paper's section.
        noises: noise types of the columns it speaks of.
        methods: the methods the test needs (a column lacking one of them cannot be tested).
        test: the order it claims (:class:`Order`): called on a column's means (every method
            present -> accuracy), True when they agree with the claim; its pairs are what the
            noise-aware verdicts of :mod:`gce_lab.book.reproduced` compare.
        quantifier: ``"all"`` columns must pass, or ``"most"`` (more than half).
        datasets: the data sets it speaks of (None: every data set of the table).
    """

    key: str
    table: str
    statement: str
    noises: tuple[str, ...]
    methods: tuple[str, ...]
    test: Order
    quantifier: str = "all"
    datasets: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Order:
    """A claim's test of one column: every method of ``winners`` more accurate than every method
    of ``losers``; ``None`` on one side stands for every other method of the column."""

    winners: tuple[str, ...] | None
    losers: tuple[str, ...] | None

    def pairs(self, present: Iterable[str]) -> list[tuple[str, str]]:
        """The (more accurate, less accurate) pairs the test orders, among the ``present`` methods."""
        present = list(present)
        winners = self.winners if self.winners is not None else [m for m in present if m not in self.losers]
        losers = self.losers if self.losers is not None else [m for m in present if m not in winners]
        return [(w, x) for w in winners for x in losers]

    def __call__(self, means: Means) -> bool:
        return all(means[w] > means[x] for w, x in self.pairs(means))


def _beats(winners: tuple[str, ...], losers: tuple[str, ...]) -> Order:
    """Every method of ``winners`` is more accurate than every method of ``losers``."""
    return Order(winners, losers)


def _best(method: str) -> Order:
    """``method`` is more accurate than every other method of the column."""
    return Order((method,), None)


def _worst(method: str) -> Order:
    """``method`` is less accurate than every other method of the column."""
    return Order(None, (method,))


_TABLE1 = tuple(m for m in METHOD_LABELS if m in METHOD_INFO)  # the paper's order
# Table 2's columns differ by side (the paper's open-set "Forward" has no true T, Wang et al. is
# the paper's alone): its claims need the four losses both sides have, and compare with the rest.
_TABLE2 = ("cce", "mae", "lq", "truncated_lq")

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "uniform_lq_beats_baselines",
        "table1",
        "Under uniform noise, L_q and truncated L_q beat CCE, MAE and Forward T (the true T) "
        '(Sec. 4.3: "outperformed the baselines significantly, including forward correction with '
        'the ground truth confusion matrices")',
        ("uniform",),
        ("lq", "truncated_lq", "cce", "mae", "forward_t"),
        _beats(("lq", "truncated_lq"), ("cce", "mae", "forward_t")),
        quantifier="most",
    ),
    Claim(
        "uniform_truncation_helps",
        "table1",
        'Under uniform noise, truncation helps: truncated L_q beats L_q (Sec. 4.3: "truncating the '
        'L_q loss enhanced results")',
        ("uniform",),
        ("truncated_lq", "lq"),
        _beats(("truncated_lq",), ("lq",)),
        quantifier="most",
    ),
    Claim(
        "class_dependent_forward_t_best",
        "table1",
        'Under class-dependent noise, Forward T is in general the best (Sec. 4.3: "in general Forward T '
        'offered the best performance")',
        ("class_dependent",),
        _TABLE1,
        _best("forward_t"),
        quantifier="most",
    ),
    Claim(
        "class_dependent_truncated_beats_cce_mae",
        "table1",
        "Under class-dependent noise, truncated L_q beats CCE and MAE at most noise levels (Sec. 4.3: "
        '"outperformed the other baselines at most noise levels for all datasets")',
        ("class_dependent",),
        ("truncated_lq", "cce", "mae"),
        _beats(("truncated_lq",), ("cce", "mae")),
        quantifier="most",
    ),
    Claim(
        "class_dependent_truncated_beats_forward_t_hat_on_cifar",
        "table1",
        "Under class-dependent noise, truncated L_q beats Forward T-hat on the CIFAR sets (Sec. 4.3: "
        '"similar accuracies as Forward T-hat for FASHION-MNIST and better results for CIFAR datasets")',
        ("class_dependent",),
        ("truncated_lq", "forward_t_hat"),
        _beats(("truncated_lq",), ("forward_t_hat",)),
        quantifier="most",
        datasets=("cifar10", "cifar100"),
    ),
    Claim(
        "mae_poor_everywhere",
        "table1",
        'MAE is the least accurate method everywhere (Sec. 4.3: "MAE performed poorly for all datasets '
        'at all noise levels")',
        ("uniform", "class_dependent"),
        _TABLE1,
        _worst("mae"),
    ),
    Claim(
        "table2_truncated_best",
        "table2",
        'Truncated L_q is the most accurate at the last epoch (Sec. 4.3: it "achieved better results '
        'than the state-of-the-art method for open-set noise"; best in the closed-set row as well)',
        ("open_set", "closed_set"),
        _TABLE2,
        _best("truncated_lq"),
    ),
    Claim(
        "table2_lq_beats_cce",
        "table2",
        'L_q ends above CCE (Sec. 4.3: "using L_q loss noticeably prevented overfitting")',
        ("open_set", "closed_set"),
        ("lq", "cce"),
        _beats(("lq",), ("cce",)),
    ),
    Claim(
        "table2_mae_beats_lq",
        "table2",
        "MAE ends above L_q: with a shallow CNN and no augmentation the last epoch is long after L_q "
        "started overfitting (Sec. 4.3)",
        ("open_set", "closed_set"),
        ("mae", "lq"),
        _beats(("mae",), ("lq",)),
    ),
)


def column_verdicts(claim: Claim, comparison: pd.DataFrame, dataset: str, side: str) -> list[bool | None]:
    """The claim's test on each of its columns of ``dataset`` in a :func:`compare_with_paper`
    frame, on ``side`` (``"ours"`` or ``"paper"``): True, False, or None where a method it needs
    has no number."""
    check_choice("side", side, ("ours", "paper"))
    rows = comparison[(comparison["dataset"] == dataset) & comparison["noise"].isin(claim.noises)]
    outcomes: list[bool | None] = []
    for _, column in rows.groupby(["noise", "eta"], sort=False):
        means = column.set_index("method")[f"{side}_mean"].dropna()
        present = all(m in means.index for m in claim.methods)
        outcomes.append(bool(claim.test(means.to_dict())) if present else None)
    return outcomes


def verdict(outcomes: list[bool | None], quantifier: str) -> str:
    """``holds``, ``does not hold`` or ``cannot say``, with the columns behind it, e.g.
    ``"holds (4 of 4 columns)"`` or ``"cannot say (3 of 4 pass, 1 missing)"``."""
    check_choice("quantifier", quantifier, ("all", "most"))
    n = len(outcomes)
    passed, failed = outcomes.count(True), outcomes.count(False)
    missing = n - passed - failed
    if n == 0:
        return "cannot say (no columns)"
    if quantifier == "all":
        decided = "does not hold" if failed else ("holds" if not missing else None)
    else:
        decided = "holds" if passed > n / 2 else ("does not hold" if failed >= n / 2 else None)
    counts = f"{passed} of {n} columns pass" + (f", {missing} missing" if missing else "")
    return f"{decided or 'cannot say'} ({counts})"


def claims_table(runs: pd.DataFrame, table: str) -> pd.DataFrame:
    """Each claim about ``table`` per data set: the statement, its verdict on our numbers (under a
    header naming their profile) and on the paper's own numbers."""
    check_choice("table", table, ("table1", "table2"))
    comparison = compare_with_paper(runs, table)
    profiles = sorted(set(comparison["profile"].dropna()))
    ours_header = f"ours ({'+'.join(profiles) or 'no runs'} profile)"
    rows = []
    for claim in (c for c in CLAIMS if c.table == table):
        for dataset in claim.datasets or tuple(dict.fromkeys(comparison["dataset"])):
            need = "all columns" if claim.quantifier == "all" else "more than half the columns"
            rows.append(
                {
                    "claim": claim.statement,
                    "data set": dataset,
                    "must pass": need,
                    ours_header: verdict(column_verdicts(claim, comparison, dataset, "ours"), claim.quantifier),
                    "paper": verdict(column_verdicts(claim, comparison, dataset, "paper"), claim.quantifier),
                }
            )
    return pd.DataFrame(rows).set_index(["claim", "data set"])
