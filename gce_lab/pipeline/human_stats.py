"""Statistics of the human label sets, derived once from the CIFAR-N label files and committed.

The book's chapter 11 shows how people's label errors differ from the paper's noise models:
transition matrices, error rates per class, the most frequent confusions, and whether two
workers err on the same images. All of it follows from two tables of counts, which
``python -m gce_lab human-stats`` computes from the label files and writes, with provenance,
to ``results/human_label_stats/<dataset>/``, so that the book renders without the files
(they are CC BY-NC 4.0 and not part of this repository):

* ``confusions.csv``: per label set, true class and given label, the number of training images;
* ``error_patterns.csv``: per true class and pattern of which label sets are wrong on an image
  (one 0/1 column per label set), the number of images;
* ``provenance.json``: the label file's name and SHA-256, the commit, command and time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gce_lab.datasets import DATASET_INFO
from gce_lab.files import atomic_path
from gce_lab.pipeline.data_files import sha256_of
from gce_lab.pipeline.human_noise import HUMAN_LABEL_SETS, LICENSE, HumanLabels
from gce_lab.pipeline.provenance import command_line, git_commit, utc_now
from gce_lab.pipeline.results import results_root, write_csv_atomically
from gce_lab.validation import check_choice

__all__ = ["HumanNoiseStats", "human_noise_stats", "human_stats_dir", "write_human_stats", "load_human_stats"]

_CONFUSION_COLUMNS = ["label_set", "true_class", "given_label", "images"]
_HUMAN_DATASETS = tuple(dict.fromkeys(d for d, _, _ in HUMAN_LABEL_SETS.values()))


@dataclass(frozen=True)
class HumanNoiseStats:
    """The counts behind every statistic of a data set's human label sets.

    Attributes:
        dataset: ``cifar10`` or ``cifar100``.
        counts: label set -> ``(c, c)`` int64 array, ``[i, j]`` = images of true class i labelled j.
        patterns: columns ``true_class``, one 0/1 column per label set (1: wrong on the image) and
            ``images``, one row per (true class, pattern) that occurs.
    """

    dataset: str
    counts: dict[str, np.ndarray]
    patterns: pd.DataFrame

    @property
    def kinds(self) -> list[str]:
        """The label sets, in the order of :data:`HUMAN_LABEL_SETS`."""
        return list(self.counts)

    @property
    def num_classes(self) -> int:
        return len(next(iter(self.counts.values())))

    def rate(self, kind: str) -> float:
        """Share of wrong labels of ``kind`` over the whole training set."""
        counts = self.counts[kind]
        return float(1 - np.trace(counts) / counts.sum())

    def class_rates(self, kind: str) -> np.ndarray:
        """Share of wrong labels of ``kind`` per true class."""
        counts = self.counts[kind]
        return 1 - np.diag(counts) / counts.sum(axis=1)

    def transition_matrix(self, kind: str) -> np.ndarray:
        """``T[i, j]``: the share of images of true class i that people labelled j (all images)."""
        counts = self.counts[kind].astype(np.float64)
        return counts / counts.sum(axis=1, keepdims=True)

    def wrong_share(self, condition: Callable[[pd.DataFrame], pd.Series]) -> float:
        """Share of all images whose pattern of wrong label sets satisfies ``condition``, a function
        of the ``patterns`` frame returning a boolean Series (e.g. ``lambda p: p["human_worst"] == 1``)."""
        selected = condition(self.patterns)
        return float(self.patterns.loc[selected, "images"].sum() / self.patterns["images"].sum())


def human_noise_stats(labels: dict[str, HumanLabels]) -> HumanNoiseStats:
    """The counts of :class:`HumanNoiseStats` from the label sets of one data set (all paired with
    the same clean labels, as :func:`gce_lab.pipeline.human_noise.human_label_sets` gives them)."""
    if not labels:
        raise ValueError("labels must hold at least one human label set, got none")
    datasets = {HUMAN_LABEL_SETS[kind][0] for kind in labels}
    if len(datasets) != 1:
        raise ValueError(f"labels must all belong to one data set, got label sets of {sorted(datasets)}")
    first = next(iter(labels.values()))
    if any(not np.array_equal(h.clean, first.clean) for h in labels.values()):
        raise ValueError("labels must share their clean labels (the same images in the same order)")
    c = first.num_classes
    counts = {
        kind: np.bincount(h.clean * c + h.labels, minlength=c * c).reshape(c, c).astype(np.int64)
        for kind, h in labels.items()
    }
    flags = pd.DataFrame(
        {"true_class": first.clean, **{kind: h.is_noisy.astype(np.int64) for kind, h in labels.items()}}
    )
    patterns = flags.value_counts(sort=False).rename("images").reset_index()
    patterns = patterns.sort_values(list(flags.columns), ignore_index=True)
    return HumanNoiseStats(datasets.pop(), counts, patterns)


def human_stats_dir(dataset: str, root: str | os.PathLike[str] | None = None) -> Path:
    """``<results root>/human_label_stats/<dataset>``."""
    check_choice("dataset", dataset, _HUMAN_DATASETS)
    return results_root(root) / "human_label_stats" / dataset


def write_human_stats(stats: HumanNoiseStats, source: Path, root: str | os.PathLike[str] | None = None) -> Path:
    """Write the counts of ``stats`` and their provenance (``source``: the label file they come
    from) to :func:`human_stats_dir`, each file atomically; returns the folder."""
    directory = human_stats_dir(stats.dataset, root)
    confusions = pd.DataFrame(
        [(kind, i, j, int(n)) for kind, counts in stats.counts.items() for (i, j), n in np.ndenumerate(counts)],
        columns=_CONFUSION_COLUMNS,
    )
    write_csv_atomically(confusions, directory / "confusions.csv")
    write_csv_atomically(stats.patterns, directory / "error_patterns.csv")
    provenance = {
        "label_file": source.name,
        "label_file_sha256": sha256_of(source),
        "licence": LICENSE,
        "git_commit": git_commit(),
        "command": command_line(),
        "created_at": utc_now(),
    }
    with atomic_path(directory / "provenance.json") as tmp:
        tmp.write_text(json.dumps(provenance, indent=2) + "\n")
    return directory


def load_human_stats(dataset: str = "cifar10", root: str | os.PathLike[str] | None = None) -> HumanNoiseStats:
    """The committed statistics of ``dataset``'s human label sets (:func:`write_human_stats`)."""
    directory = human_stats_dir(dataset, root)
    paths = [directory / name for name in ("confusions.csv", "error_patterns.csv")]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"no human label statistics at {', '.join(missing)}; compute them from the label files with "
            f"`python -m gce_lab human-stats --dataset {dataset}` (add --download where the internet is reachable)"
        )
    confusions, patterns = (pd.read_csv(p) for p in paths)
    expected = [k for k, (d, _, _) in HUMAN_LABEL_SETS.items() if d == dataset]
    if list(confusions.columns) != _CONFUSION_COLUMNS or list(patterns.columns) != ["true_class", *expected, "images"]:
        raise ValueError(
            f"the human label statistics in {directory} do not have the expected columns; "
            f"restore them (`git checkout -- {directory}`) or recompute them with "
            f"`python -m gce_lab human-stats --dataset {dataset}`"
        )
    c = DATASET_INFO[dataset].num_classes
    counts = {}
    for kind in expected:
        part = confusions[confusions["label_set"] == kind]
        matrix = np.zeros((c, c), dtype=np.int64)
        matrix[part["true_class"].to_numpy(), part["given_label"].to_numpy()] = part["images"].to_numpy()
        counts[kind] = matrix
    return HumanNoiseStats(dataset, counts, patterns)
