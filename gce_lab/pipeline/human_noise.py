"""Real human label noise: CIFAR-10N and CIFAR-100N (Wei et al., ICLR 2022).

The paper tests synthetic noise only. CIFAR-N gives every CIFAR training image labels that
people wrote down on Amazon Mechanical Turk: for CIFAR-10 three independent labels per image
(``random_label1..3``, about 17-18 % wrong), their majority vote (``aggre_label``, 9 %) and the
worst of the three (``worse_label``, 40 %); for CIFAR-100 one label per image (``noisy_label``,
40 %). Each set is a noise kind here (:data:`HUMAN_LABEL_SETS`), used like the synthetic kinds of
:mod:`gce_lab.noise`: the labels of the whole training set in its original order, then the
subset and the 10 % noisy validation split.

Unlike the paper's models, human noise depends on the image, not only on its class; its
transition matrix (:func:`HumanLabels.transition_matrix`, measured from the clean and human
label pairs of all 50,000 images) is what Forward T is given.

The files, ``CIFAR-10_human.pt`` and ``CIFAR-100_human.pt``, are read from ``cifar-n/`` under the
data root (:func:`gce_lab.pipeline.data_files.resolve_data_root`), with ``torch.load(weights_only=True)`` and
only numpy's array reconstruction allowed: a pickle cannot run code here. They are not part of
this repository: the labels are licensed CC BY-NC 4.0 (non-commercial use), not MIT. Where the
internet is reachable, ``download=True`` fetches them from the CIFAR-N repository and checks
their SHA-256 (:data:`HUMAN_LABEL_FILES`), as torchvision does for its data sets. The book needs
neither file: it reads the statistics derived from them (:mod:`gce_lab.pipeline.human_stats`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gce_lab.datasets import DATASET_INFO
from gce_lab.noise import empirical_transition
from gce_lab.pipeline.data_files import download_checked, resolve_data_root
from gce_lab.validation import check_choice

__all__ = [
    "HUMAN_LABEL_SETS",
    "HUMAN_LABEL_FILES",
    "LICENSE",
    "HumanLabels",
    "is_human",
    "human_label_file",
    "human_label_sets",
    "load_human_labels",
]

#: Noise kind -> (data set, file, key of the human labels).
HUMAN_LABEL_SETS: dict[str, tuple[str, str, str]] = {
    "human_aggregate": ("cifar10", "CIFAR-10_human.pt", "aggre_label"),
    "human_random1": ("cifar10", "CIFAR-10_human.pt", "random_label1"),
    "human_random2": ("cifar10", "CIFAR-10_human.pt", "random_label2"),
    "human_random3": ("cifar10", "CIFAR-10_human.pt", "random_label3"),
    "human_worst": ("cifar10", "CIFAR-10_human.pt", "worse_label"),
    "human_noisy100": ("cifar100", "CIFAR-100_human.pt", "noisy_label"),
}
LICENSE = "CIFAR-N labels: Wei et al. (ICLR 2022), CC BY-NC 4.0 (non-commercial use only)"
_UPSTREAM = "https://github.com/UCSC-REAL/cifar-10-100n/raw/main/data"
#: Label file -> (where it is downloaded from, its SHA-256): the copy the committed statistics come from.
HUMAN_LABEL_FILES: dict[str, tuple[str, str]] = {
    "CIFAR-10_human.pt": (
        f"{_UPSTREAM}/CIFAR-10_human.pt",
        "873e69c39cb9b5e97fb6bae2d60bb59b38a5cbc31d2b868f7903dcb2b9dd2310",
    ),
    "CIFAR-100_human.pt": (
        f"{_UPSTREAM}/CIFAR-100_human.pt",
        "bd2d80409754d420292d622e15e25248ba21e37d27429efac49c8da723f44394",
    ),
}
# What a pickle of numpy integer arrays needs, under the name numpy 1 (the files) and numpy 2 give it.
_SAFE = [
    (np._core.multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
    np._core.multiarray._reconstruct,
    np.ndarray,
    np.dtype,
    type(np.dtype(np.int64)),
]


def is_human(kind: str) -> bool:
    """Whether ``kind`` names a human label set."""
    return kind in HUMAN_LABEL_SETS


@dataclass(frozen=True)
class HumanLabels:
    """One human label set for a data set's whole training set, in its original order.

    Attributes:
        kind: the noise kind (a key of :data:`HUMAN_LABEL_SETS`).
        clean: the true labels, int64 (N,).
        labels: the human labels, int64 (N,).
        num_classes: c.
    """

    kind: str
    clean: np.ndarray
    labels: np.ndarray
    num_classes: int

    @property
    def is_noisy(self) -> np.ndarray:
        """True where the human label is wrong."""
        return self.labels != self.clean

    @property
    def rate(self) -> float:
        """Fraction of wrong labels over the whole training set."""
        return float(self.is_noisy.mean())

    def transition_matrix(self) -> np.ndarray:
        """``T[i, j]``: the fraction of images of true class i that people labelled j (all images)."""
        return empirical_transition(self.clean, self.labels, self.num_classes)


def human_label_file(
    dataset: str = "cifar10", root: str | os.PathLike[str] | None = None, *, download: bool = False
) -> Path:
    """The path of ``dataset``'s human label file under the data root; with ``download=True`` a
    missing file is first fetched from the CIFAR-N repository (its SHA-256 checked)."""
    check_choice("dataset", dataset, tuple(dict.fromkeys(d for d, _, _ in HUMAN_LABEL_SETS.values())))
    file = next(f for d, f, _ in HUMAN_LABEL_SETS.values() if d == dataset)
    path = resolve_data_root(root) / "cifar-n" / file
    if download and not path.is_file():
        download_checked(*HUMAN_LABEL_FILES[file], path)
    return path


def _read(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(
            f"human label file {path} not found: copy the cifar-n folder of the shared datasets "
            "(or github.com/UCSC-REAL/cifar-10-100n, data/) into the data root, set "
            "GCE_LAB_DATA to the folder that holds cifar-n/, or pass download=True (--download) "
            "where the internet is reachable"
        )
    try:
        with torch.serialization.safe_globals(_SAFE):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a damaged zip, or a pickle that asks for more than numpy arrays
        raise ValueError(
            f"human label file {path} cannot be read ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:200]}); copy it again from the shared datasets folder "
            "(SHA256SUMS lists its checksum)"
        ) from err


def human_label_sets(
    dataset: str = "cifar10", root: str | os.PathLike[str] | None = None, *, download: bool = False
) -> dict[str, HumanLabels]:
    """Every human label set of ``dataset`` (``cifar10``: aggregate, random 1-3, worst), paired with
    the clean labels stored in the same file (for studying the noise itself; to train, use
    :func:`load_human_labels`, which checks the pairing against the images). ``download=True``
    fetches a missing label file first (:func:`human_label_file`)."""
    stored = _read(human_label_file(dataset, root, download=download))
    kinds = [k for k, (d, _, _) in HUMAN_LABEL_SETS.items() if d == dataset]
    return {kind: load_human_labels(kind, np.asarray(stored["clean_label"]), root) for kind in kinds}


def load_human_labels(
    kind: str,
    clean_labels: np.ndarray | torch.Tensor,
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = False,
) -> HumanLabels:
    """The human labels of ``kind`` for the training images whose true labels are ``clean_labels``
    (``download=True``: a missing label file is fetched first, :func:`human_label_file`).

    The file's ``clean_label`` must equal ``clean_labels`` (the images in CIFAR's original order, as
    torchvision and the CIFAR-10-JPEG snapshot give them): otherwise the human labels would be
    attached to other images, and a ``ValueError`` says so.
    """
    check_choice("kind", kind, tuple(HUMAN_LABEL_SETS))
    dataset, _, key = HUMAN_LABEL_SETS[kind]
    path = human_label_file(dataset, root, download=download)
    stored = _read(path)
    missing = [k for k in ("clean_label", key) if k not in stored]
    if missing:
        raise ValueError(f"human label file {path} lacks {missing}; copy it again from the shared datasets folder")
    clean = np.asarray(stored["clean_label"], dtype=np.int64)
    labels = np.asarray(stored[key], dtype=np.int64)
    given = np.asarray(clean_labels.cpu() if isinstance(clean_labels, torch.Tensor) else clean_labels, np.int64)
    if given.shape != clean.shape or not np.array_equal(given, clean):
        where = (
            "of another length"
            if given.shape != clean.shape
            else f"different at {int((given != clean).sum())} of {clean.size} positions"
        )
        raise ValueError(
            f"the training labels must equal the clean_label of {path} (the images in CIFAR's original "
            f"order), got labels {where}: the human labels would belong to other images"
        )
    num_classes = DATASET_INFO[dataset].num_classes
    if labels.shape != clean.shape or labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"human label file {path} holds {key} that are not {clean.size} labels in [0, {num_classes})")
    return HumanLabels(kind, clean, labels, num_classes)
