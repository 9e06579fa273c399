"""What the experiment chapters (6-11) show: which results, from which profile, beside the paper.

A chapter calls :func:`chapter_results` with its ``PROFILE`` parameter:

* ``"cached"`` (the default) reads the committed results: ``paper``, else ``lab``, else
  ``cpu``, else ``smoke`` (:func:`gce_lab.pipeline.results.load_results`). Where nothing is committed (e.g. a pip
  install on Colab, which has no ``results/``), it runs the ``smoke`` profile on the spot
  (seconds on a CPU) into a temporary folder, so that reading never writes into
  ``results/``, and says so.
* ``"smoke"``, ``"cpu"``, ``"lab"`` or ``"paper"`` trains the runs of that profile that are not finished
  yet (:func:`gce_lab.pipeline.runner.train_missing`) and reads them. A data set or noise setting that
  cannot run here (CIFAR-100 without internet) is skipped with a note, not faked.

:func:`notice` says in words which profile made the numbers, what that profile is, and
which planned runs are missing. :func:`comparison_table` and :func:`agreement_table` put
our Table 1 / Table 2 numbers beside the paper's, with differences, per-column ranks and
pairwise agreement of the method orderings (from :mod:`gce_lab.book.comparison`). Every column
header of these tables names the profile of our numbers.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from gce_lab.book.comparison import TABLE_METRIC, compare_with_paper, per_column_ranking
from gce_lab.book.method_pairs import Noise, method_pairs, order_counts, table_noise
from gce_lab.datasets import DATASET_LABELS
from gce_lab.methods import METHOD_LABELS
from gce_lab.pipeline.experiments import check_experiment
from gce_lab.pipeline.planning import Selection, plan
from gce_lab.pipeline.profiles import PROFILE_NAMES, base_profile
from gce_lab.pipeline.results import load_results
from gce_lab.pipeline.runner import Where, train_missing
from gce_lab.validation import check_choice

__all__ = [
    "CHAPTER_PROFILES",
    "NOISE_LABELS",
    "ChapterResults",
    "Notice",
    "chapter_results",
    "missing_runs",
    "notice",
    "results_label",
    "format_mean_std",
    "comparison_table",
    "agreement_table",
]

#: Values of a chapter's ``PROFILE`` parameter.
CHAPTER_PROFILES: tuple[str, ...] = ("cached", *PROFILE_NAMES)

NOISE_LABELS = {
    "none": "none",
    "uniform": "uniform",
    "class_dependent": "class-dependent",
    "open_set": "open-set",
    "closed_set": "closed-set",
    "human_aggregate": "human, aggregate",
    "human_random1": "human, random 1",
    "human_random2": "human, random 2",
    "human_random3": "human, random 3",
    "human_worst": "human, worst",
    "human_noisy100": "human, CIFAR-100N",
}

_ABOUT = {
    "smoke": (
        "Smoke-test numbers",
        "They test the pipeline and say nothing about the paper's claims. "
        'Set `PROFILE = "cpu"` at the top of this page to train on the real images on a CPU (about an hour per '
        'Table 1 block), `PROFILE = "lab"` on a GPU (minutes), or '
        '`PROFILE = "paper"` (hours), to put the claims to a test.',
    ),
    "cpu": (
        "CPU-profile numbers",
        "Real images, but a small network in a recipe sized for a laptop's two CPU cores (the settings "
        "table below gives the runs' own settings): expect the paper's effects at lower accuracies, not "
        'its numbers (`PROFILE = "lab"` or `"paper"` on a GPU come closer to the protocol).',
    ),
    "lab": (
        "Lab-profile numbers",
        "They show trends with a small network and a shortened schedule; "
        "they are not the paper's protocol, so expect lower accuracies than the paper's "
        '(`PROFILE = "paper"` runs the full protocol).',
    ),
    "paper": (
        "Paper-protocol numbers",
        "This is our re-run of the protocol of Sec. 4, not the numbers printed in the paper.",
    ),
}


@dataclass
class ChapterResults:
    """The results a chapter shows.

    Attributes:
        experiment: ``fig1ab``, ``fig1c``, ``fig2``, ``table1`` or ``table2``.
        requested: the chapter's ``PROFILE`` (``cached``, ``smoke``, ``lab``, ``paper``).
        label: the results label the numbers come from (``smoke``, ``lab``, ``paper`` or
            e.g. ``lab_epochs3``); name it with every number shown.
        runs, epochs: as :func:`gce_lab.pipeline.results.load_results` returns them.
        notes: what happened on the way (e.g. a data set that could not run here).
    """

    experiment: str
    requested: str
    label: str
    runs: pd.DataFrame
    epochs: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def profile(self) -> str:
        """The training profile behind :attr:`label` (``lab_epochs3`` -> ``lab``)."""
        return base_profile(self.label)[0]


def chapter_results(
    experiment: str,
    profile: str = "cached",
    *,
    root: str | os.PathLike[str] | None = None,
    device: str = "auto",
    precision: str | None = None,
    compile: bool | None = None,
    download: bool | None = None,
    progress: bool | None = None,
) -> ChapterResults:
    """The results of ``experiment`` for a chapter whose ``PROFILE`` parameter is ``profile``.

    ``cached`` reads what is committed (paper, else lab, else cpu, else smoke) and, when nothing is,
    runs ``smoke`` now (seconds on a CPU) into a temporary folder. ``smoke``, ``lab`` and ``paper`` first train the
    runs of that profile not finished yet (see the module docstring), then read them.
    ``root`` is the results root (default: ``results/`` or ``$GCE_LAB_RESULTS``).
    ``progress`` shows progress bars while training (default: for ``cpu``, ``lab`` and ``paper``).
    ``device``, ``precision`` (``auto``, ``bf16``, ``fp16``, ``fp32``; None: the profile's),
    ``compile`` (None: the profile's, where the device can) and ``download`` (let torchvision fetch
    missing data sets; None: only on Colab) say how to train, as
    :func:`gce_lab.pipeline.runner.train_missing` takes them; the runs record what was used.

    Raises:
        ValueError: an unknown experiment or profile.
        FileNotFoundError: nothing could be run or read (the message says why).
    """
    check_experiment(experiment)
    check_choice("PROFILE", profile, CHAPTER_PROFILES)
    notes: list[str] = []
    label = profile
    if profile == "cached":
        try:
            runs, epochs = load_results(experiment, "cached", root)
        except FileNotFoundError:
            notes.append(
                f"No results of {experiment} are committed where this page runs, so it ran the "
                "smoke profile just now (seconds on a CPU; kept in a temporary folder, not in "
                "results/)."
            )
            label, root = "smoke", tempfile.mkdtemp(prefix=f"gce_lab_{experiment}_smoke_")
    if label != "cached":
        show = label in ("cpu", "lab", "paper") if progress is None else progress
        how = {"device": device, "precision": precision, "compile": compile}
        notes += train_missing(experiment, label, Where(root), how=how, download=download, progress=show)
        try:
            runs, epochs = load_results(experiment, label, root)
        except FileNotFoundError as err:
            raise FileNotFoundError(" ".join([str(err), *notes])) from err
    return ChapterResults(experiment, profile, results_label(runs), runs, epochs, notes)


def stored_runs(experiment: str, label: str, root: str | os.PathLike[str] | None = None) -> pd.DataFrame | None:
    """The finished runs of ``experiment`` stored under ``label``, training none; None if there are none
    (e.g. Table 1's runs, whose spread Table 2's verdicts borrow)."""
    try:
        return load_results(experiment, label, root)[0]
    except FileNotFoundError:
        return None


def missing_runs(experiment: str, label: str, runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that ``label``'s profile plans for ``experiment`` but ``runs`` lacks.

    Columns: run_id, dataset, method, noise (``<kind><eta>``), seed.
    """
    profile, epochs = base_profile(label)
    have = set(runs["run_id"].astype(str))
    rows = [
        {"run_id": r.run_id, "dataset": r.dataset, "method": r.method, "noise": r.noise, "seed": r.seed}
        for r in plan(Selection(experiment, profile, epochs=epochs)).specs
        if r.run_id not in have
    ]
    return pd.DataFrame(rows, columns=["run_id", "dataset", "method", "noise", "seed"])


def source_words(source: str) -> str:
    """``data_source`` of a run in words: ``snapshot:cifar10_jpeg`` -> ``real images, lossy JPEG snapshot``."""
    if source == "synthetic":
        return "synthetic images"
    if source == "snapshot:cifar10_jpeg":
        return "real images, lossy JPEG snapshot"
    if source.startswith("snapshot:"):
        return "real images, offline snapshot"
    return f"real images ({source})"


def _describe_sources(runs: pd.DataFrame) -> str:
    parts = []
    for dataset, group in runs.groupby("dataset", sort=False):
        words = [source_words(source) for source in sorted(set(group["data_source"].astype(str)))]
        parts.append(f"{DATASET_LABELS.get(str(dataset), dataset)}: {' / '.join(words)}")
    return "; ".join(parts)


def _span(values: Iterable) -> str:
    values = sorted({int(v) for v in values})
    return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"


def describe_seeds(runs: pd.DataFrame) -> str:
    """How many seeds ran, per column of the results (data set and noise setting): one count when
    every column has the same, else the usual count and the columns that differ."""
    eta = runs["eta"].map(lambda e: "" if pd.isna(e) else f" η = {float(e):g}")
    column = (
        runs["dataset"].map(lambda d: DATASET_LABELS.get(str(d), str(d)))
        + " "
        + runs["noise"].map(lambda n: NOISE_LABELS.get(str(n), str(n)))
        + eta
    )
    per_column = runs.groupby(column, sort=False)["seed"].nunique()
    counts = per_column.value_counts()
    usual = int(counts.idxmax())
    seeds = f"{usual} seed{'s' if usual > 1 else ''}"
    if len(per_column) == 1:
        return seeds
    if len(counts) == 1:
        return f"{seeds} in every column"
    others = ", ".join(f"{name} ({n})" for name, n in per_column.items() if n != usual)
    return f"{seeds} per column, except {len(per_column) - int(counts.max())} of {len(per_column)} columns: {others}"


def _describe_missing(experiment: str, missing: pd.DataFrame, planned: int) -> str:
    if missing.empty:
        return f"All {planned} runs this profile plans are here."
    parts = []
    for dataset, group in missing.groupby("dataset", sort=False):
        noises = list(dict.fromkeys(group["noise"]))
        where = "" if set(noises) == set(check_experiment(experiment).noises) else f", noise {', '.join(noises)}"
        parts.append(f"{DATASET_LABELS.get(dataset, dataset)}: {len(group)} runs{where}")
    text = (
        f"Not run yet under this profile: {len(missing)} of {planned} planned runs "
        f"({'; '.join(parts)}); tables and figures leave them out."
    )
    if "cifar100" in set(missing["dataset"]) or missing["noise"].str.startswith("open_set").any():
        text += (
            " CIFAR-100 images (needed for CIFAR-100 and for open-set noise) are only available where "
            "torchvision can download them, not on an offline machine; run them e.g. on Colab."
        )
    return text


@dataclass(frozen=True)
class Notice:
    """A short note shown at the top of a chapter: markdown in the book, plain text elsewhere."""

    title: str
    body: str

    def _repr_markdown_(self) -> str:
        return f"> **{self.title}.** {self.body}"

    def __repr__(self) -> str:
        return textwrap.fill(f"{self.title}. {self.body}".replace("`", ""), width=88)


def notice(results: ChapterResults) -> Notice:
    """Which profile made the numbers of ``results``, what that means, and what is missing."""
    runs = results.runs
    title, caveat = _ABOUT[results.profile]
    profile, epochs_override = base_profile(results.label)
    facts = (
        f"{_describe_sources(runs)}; network {', '.join(sorted(set(runs['model'].astype(str))))}; "
        f"{_span(runs['epochs'])} epochs; {describe_seeds(runs)}; "
        f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
    )
    body = f"These numbers come from the `{results.label}` profile ({facts}). {caveat}"
    if epochs_override is not None:
        body += (
            f" The epoch count was overridden ({epochs_override} epochs), so they are not even the "
            f"`{profile}` profile's numbers."
        )
    if results.requested == "cached" and results.label != "paper":
        body += (
            f" `{results.label}` is the most faithful profile committed for this experiment "
            "(the book shows paper, else lab, else cpu, else smoke results)."
        )
    base, epochs = base_profile(results.label)
    planned = len(plan(Selection(results.experiment, base, epochs=epochs)).runs)
    body += " " + _describe_missing(results.experiment, missing_runs(results.experiment, results.label, runs), planned)
    for note in results.notes:
        body += " " + note
    return Notice(title, body)


_NBSP = "\u00a0"  # table cells such as "93.24 ± 0.12" or "Forward T-hat" must not wrap inside


def format_mean_std(mean: float, std: float = float("nan"), decimals: int = 2) -> str:
    """``"93.24 ± 0.12"`` (with non-breaking spaces); only the mean when ``std`` is NaN;
    ``"—"`` when ``mean`` is NaN."""
    if pd.isna(mean):
        return "—"
    if pd.isna(std):
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f}{_NBSP}±{_NBSP}{std:.{decimals}f}"


def _comparable_ranks(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per-column ranks (1 = most accurate) among the methods that both we and the paper report."""
    both = comparison.dropna(subset=["ours_mean", "paper_mean"])
    ranked = per_column_ranking(both)[["ours_rank", "paper_rank"]]
    return comparison.join(ranked)


def results_label(runs: pd.DataFrame) -> str:
    """The one results label (profile) of ``runs``; ValueError if they mix several."""
    labels = sorted(set(runs["profile"].astype(str)))
    if len(labels) != 1:
        raise ValueError(f"runs must come from one profile, got {labels}")
    return labels[0]


def comparison_table(runs: pd.DataFrame, table: str, dataset: str | None = None) -> pd.DataFrame:
    """Our numbers beside the paper's for ``table`` (``table1`` or ``table2``), ready to show.

    One row per (data set, noise, η, method), in the paper's order; accuracies in percent
    (the metric of :data:`gce_lab.book.comparison.TABLE_METRIC`), as text with two decimals. Column
    groups: ``ours (<profile> profile)`` with the accuracy (mean ± std over seeds, std only
    with more than one seed), the number of runs and the rank; ``paper`` with its mean ± std
    and rank; ``ours (<profile>) − paper``. Ranks are taken within each column of the paper's
    table (data set, noise, η; 1 = most accurate) among the methods both report. "—" marks
    a number that does not exist (a method the paper lists but we do not run, or the reverse,
    or a run not made yet). ``dataset`` keeps one data set and drops the data set level of
    the index.
    """
    check_choice("table", table, tuple(TABLE_METRIC))
    label = results_label(runs)
    comparison = _comparable_ranks(compare_with_paper(runs, table))
    if dataset is not None:
        check_choice("dataset", dataset, tuple(DATASET_LABELS))
        comparison = comparison[comparison["dataset"] == dataset]

    def rank(value: float) -> str:
        return "—" if pd.isna(value) else str(int(value))

    ours = f"ours ({label} profile)"
    frame = pd.DataFrame(
        {
            ("data set", ""): comparison["dataset"].map(DATASET_LABELS),
            ("noise", ""): comparison["noise"].map(NOISE_LABELS),
            ("η", ""): comparison["eta"].map(lambda eta: f"{eta:g}"),
            ("method", ""): comparison["method"].map(METHOD_LABELS).str.replace(" ", _NBSP).str.replace("-", "\u2011"),
            (ours, "accuracy (%)"): [
                format_mean_std(m, s) for m, s in zip(comparison["ours_mean"], comparison["ours_std"])
            ],
            (ours, "runs"): comparison["n_runs"].astype(int),
            (ours, "rank"): comparison["ours_rank"].map(rank),
            ("paper", "accuracy (%)"): [
                format_mean_std(m, s) for m, s in zip(comparison["paper_mean"], comparison["paper_std"])
            ],
            ("paper", "rank"): comparison["paper_rank"].map(rank),
            (f"ours ({label}) − paper", ""): [
                format_mean_std(d) if pd.isna(d) else f"{d:+.2f}" for d in comparison["diff"]
            ],
        }
    )
    index = [("noise", ""), ("η", ""), ("method", "")]
    if dataset is None:
        index.insert(0, ("data set", ""))
    else:
        frame = frame.drop(columns=[("data set", "")])
    frame = frame.set_index(index)
    frame.index.names = [name for name, _ in index]
    return frame


def agreement_table(runs: pd.DataFrame, table: str, borrowed: Noise | None = None) -> pd.DataFrame:
    """How often our results order two methods as the paper does, per column and overall, raw and
    counting only the pairs whose gap exceeds the noise on both sides.

    Rows: every (data set, noise, η) column of ``table`` with a pair of methods that both sides
    report, then one "all" row per data set and a final overall row. Columns, under a header
    naming the profile: pairs, pairs in the paper's order ("same order") and their share in
    percent; pairs beyond the noise on both sides and, of those, in the paper's order. Our noise
    is each pair's spread of :func:`gce_lab.book.method_pairs.table_noise` (``borrowed``'s for a
    pair without multi-seed columns); the paper's, its standard deviations (none for Table 2).
    """
    check_choice("table", table, tuple(TABLE_METRIC))
    label = results_label(runs)
    pairs = method_pairs(runs, table, table_noise(runs, table, borrowed))
    per_column = order_counts(pairs, ["dataset", "noise", "eta"])
    totals = [per_column.groupby("dataset", sort=False).sum().assign(noise="all", eta="")]
    if per_column.index.get_level_values("dataset").nunique() > 1:
        totals.append(per_column.sum().to_frame("all").T.rename_axis("dataset").assign(noise="all", eta=""))
    frame = pd.concat([per_column.reset_index(), *(t.reset_index() for t in totals)], ignore_index=True)
    frame = frame.assign(
        dataset=frame["dataset"].map(lambda d: DATASET_LABELS.get(d, d)),
        noise=frame["noise"].map(lambda n: NOISE_LABELS.get(n, n)),
        eta=[f"{eta:g}" if eta != "" else "" for eta in frame["eta"]],
        share=[f"{100 * a / p:.1f}" if p else "—" for a, p in zip(frame["same_order"], frame["pairs"])],
    )
    frame = frame.rename(
        columns={
            "dataset": "data set",
            "eta": "η",
            "same_order": "same order",
            "share": "same order (%)",
            "beyond_noise": "beyond noise on both sides",
            "beyond_noise_same_order": "of those, same order",
        }
    )
    columns = ["pairs", "same order", "same order (%)", "beyond noise on both sides", "of those, same order"]
    frame = frame.set_index(["data set", "noise", "η"])[columns]
    return pd.concat({f"ours ({label} profile) vs paper": frame}, axis=1)
