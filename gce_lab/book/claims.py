"""The paper's claims about its tables, each tested on a set of results.

Sec. 4.3 of Zhang & Sabuncu (2018) reads Tables 1 and 2 in sentences ("for uniform noise,
proposed loss functions outperformed the baselines significantly", "MAE performed poorly for
all datasets at all noise levels", ...). Here every such sentence is a :class:`Claim`: a test
of one column of the table (a data set, a noise type and a rate η) and how many of the
columns it must hold in (``"all"`` or ``"most"``, i.e. more than half). :func:`claims_table`
applies each claim, per data set, to our numbers and to the paper's own, and says *holds*,
*does not hold*, *within noise* or *cannot say* (results missing), with the count of columns
behind the verdict. Each pair of methods a claim orders is judged against its noise (the
rule is in :mod:`gce_lab.book.noise_verdicts`, the pairs in :mod:`gce_lab.book.method_pairs`).
Nothing is typed in: change the results and the verdicts follow.

A verdict is given as soon as the missing columns could not change it: under ``"all"`` one
failing column is enough to refute; under ``"most"``, more than half the columns holding
confirms and half or more failing refutes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from gce_lab.book.comparison import table_runs
from gce_lab.book.method_pairs import Noise, method_pairs, seed_accuracies, table_noise
from gce_lab.book.noise_verdicts import MISSING, claim_verdict, column_verdict
from gce_lab.methods import METHOD_INFO, METHOD_LABELS
from gce_lab.validation import check_choice

__all__ = ["Claim", "Order", "CLAIMS", "column_verdicts", "seed_basis", "claims_table"]


@dataclass(frozen=True)
class Claim:
    """One sentence of the paper about a table, as a test of its columns.

    Attributes:
        key: short identifier.
        table: ``table1`` or ``table2``.
        statement: the claim in words, with the paper's section.
        noises: noise types of the columns it speaks of.
        methods: the methods the test needs (a column lacking one of them cannot be tested).
        test: the order it claims (:class:`Order`): the pairs of methods a column must order.
        quantifier: ``"all"`` columns must hold, or ``"most"`` (more than half).
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


def column_verdicts(claim: Claim, pairs: pd.DataFrame, dataset: str, side: str) -> list[str]:
    """The claim on each of its columns of ``dataset``, on ``side`` (``"ours"`` or ``"paper"``), from
    a :func:`gce_lab.book.method_pairs.method_pairs` frame: every pair the claim orders gets its
    noise-aware verdict, and the column gets :func:`gce_lab.book.noise_verdicts.column_verdict`
    (*cannot say* where a method it needs has no number)."""
    check_choice("side", side, ("ours", "paper"))
    part = pairs[(pairs["dataset"] == dataset) & pairs["noise"].isin(claim.noises)]
    outcomes = []
    for _, column in part.groupby(["noise", "eta"], sort=False):
        present = list(dict.fromkeys(column.loc[column[f"{side}_gap"].notna(), "a"]))
        if not all(m in present for m in claim.methods):
            outcomes.append(MISSING)
            continue
        verdicts = column.set_index(["a", "b"])[f"{side}_verdict"]
        outcomes.append(column_verdict(verdicts[pair] for pair in claim.test.pairs(present)))
    return outcomes


def seed_basis(ours: pd.DataFrame, dataset: str, noise: Noise, borrowed_from: str | None = None) -> str:
    """How our side of ``dataset`` was judged, from our runs' accuracies per seed (``ours``, of
    :func:`gce_lab.book.method_pairs.seed_accuracies`): the seeds per method and column, and the
    pairs' spreads, e.g. ``"1 to 3 seeds a method and column; each pair's one-seed spread pooled
    over its multi-seed columns: median 1.93 points (0.80 to 6.10, 15 pairs)"``."""
    counts = ours[ours["dataset"] == dataset].groupby(["noise", "eta", "method"])["seed"].nunique()
    if counts.empty:
        return "no runs"
    low, high = int(counts.min()), int(counts.max())
    seeds = f"{low} seed{'s' if high > 1 else ''}" if low == high else f"{low} to {high} seeds"
    spreads = pd.Series([spread.sd for (d, _, _), spread in noise.items() if d == dataset], dtype=float)
    if spreads.empty:
        return f"{seeds} a method and column; no column has two seeds, so no spread is measured"
    where = f" of {borrowed_from}" if borrowed_from else ""
    return (
        f"{seeds} a method and column; each pair's one-seed spread pooled over its multi-seed columns{where}: "
        f"median {spreads.median():.2f} points ({spreads.min():.2f} to {spreads.max():.2f}, {len(spreads)} pairs)"
    )


def claims_table(
    runs: pd.DataFrame, table: str, borrowed: Noise | None = None, borrowed_from: str = "Table 1"
) -> pd.DataFrame:
    """Each claim about ``table`` per data set: the statement, its noise-aware verdict on our
    numbers (under a header naming their profile) and on the paper's own, and how our side was
    judged. A data set without multi-seed columns in ``runs`` uses the pairs' spreads of
    ``borrowed`` (e.g. Table 1's for Table 2), and says they are ``borrowed_from`` there."""
    check_choice("table", table, ("table1", "table2"))
    ours = seed_accuracies(runs, table)
    own = table_noise(runs, table)
    noise = {**(borrowed or {}), **own}  # table_noise(runs, table, borrowed), without computing it again
    pairs = method_pairs(runs, table, noise)
    profiles = sorted(set(table_runs(runs, table)["profile"].dropna()))
    ours_header = f"ours ({'+'.join(profiles) or 'no runs'} profile)"
    rows = []
    for claim in (c for c in CLAIMS if c.table == table):
        for dataset in claim.datasets or tuple(dict.fromkeys(pairs["dataset"])):
            need = "all columns" if claim.quantifier == "all" else "more than half the columns"
            source = None if any(key[0] == dataset for key in own) else borrowed_from
            rows.append(
                {
                    "claim": claim.statement,
                    "data set": dataset,
                    "must hold in": need,
                    ours_header: claim_verdict(column_verdicts(claim, pairs, dataset, "ours"), claim.quantifier),
                    "paper": claim_verdict(column_verdicts(claim, pairs, dataset, "paper"), claim.quantifier),
                    "our seeds": seed_basis(ours, dataset, noise, source),
                }
            )
    return pd.DataFrame(rows).set_index(["claim", "data set"])
