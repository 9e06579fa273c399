"""Synthetic label noise as in Zhang & Sabuncu (2018), Sec. 3.1 and Sec. 4.

* Closed-set noise is a transition matrix ``T[i, j] = p(noisy label = j | true label = i)``
  that does not depend on the image (Sec. 3.1). *Uniform* noise at rate η keeps a label with
  probability 1 - η and otherwise replaces it by one of the other c - 1 classes, drawn
  uniformly (``T[i, i] = 1 - η``, ``T[i, j] = η / (c - 1)``); it is valid for η <= 1 - 1/c.
  *Class-dependent* noise flips the classes of a fixed map with probability η (Sec. 4.2,
  following Patrini et al. 2017): CIFAR-10 TRUCK→AUTOMOBILE, BIRD→AIRPLANE, DEER→HORSE,
  CAT↔DOG; CIFAR-100 each class to the next, circularly; Fashion-MNIST BOOT→SNEAKER,
  SNEAKER→SANDAL, PULLOVER→SHIRT, COAT↔DRESS; η < 0.5 so that the true class stays the
  most likely label.
* The paper holds out 10 % of the training set for validation; training and validation labels
  are both noisy, the test set is clean (Sec. 4). See :func:`train_val_split`.
* Open-set noise (Table 2, following Wang et al. 2018): a fraction η of the training images is
  replaced by images of another data set (CIFAR-100) that keep the target data set's labels.
  See :func:`open_set_replace`.

Labels are numpy integer arrays (CPU torch tensors and lists are accepted and converted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gce_lab.datasets import DATASET_INFO
from gce_lab.transition import estimate_transition
from gce_lab.validation import check_choice, check_in_range, check_int, check_labels

__all__ = [
    "NOISE_KINDS",
    "CLASS_MAPS",
    "NoiseModel",
    "NoisyLabels",
    "OpenSetNoise",
    "make_noise",
    "empirical_transition",
    "train_val_split",
    "training_subset",
    "open_set_replace",
    "estimate_transition",
]

NOISE_KINDS: tuple[str, ...] = ("none", "uniform", "class_dependent")

# Class indices follow the official class order of each data set:
# CIFAR-10: airplane 0, automobile 1, bird 2, cat 3, deer 4, dog 5, frog 6, horse 7, ship 8,
# truck 9.
# Fashion-MNIST: T-shirt/top 0, Trouser 1, Pullover 2, Dress 3, Coat 4, Sandal 5, Shirt 6,
# Sneaker 7, Bag 8, Ankle boot 9.
CLASS_MAPS: dict[str, dict[int, int]] = {
    # TRUCK→AUTOMOBILE, BIRD→AIRPLANE, DEER→HORSE, CAT↔DOG (Sec. 4.2; Patrini et al. 2017).
    "cifar10": {9: 1, 2: 0, 4: 7, 3: 5, 5: 3},
    # each class into the next, circularly (Sec. 4.2).
    "cifar100": {i: (i + 1) % 100 for i in range(100)},
    # BOOT→SNEAKER, SNEAKER→SANDAL, PULLOVER→SHIRT, COAT↔DRESS (Sec. 4.2).
    "fashion_mnist": {9: 7, 7: 5, 2: 6, 4: 3, 3: 4},
}

_CLASS_DEPENDENT_MAX_ETA = 0.5  # exclusive upper bound
_BOUND_TOLERANCE = 1e-12  # absorbs float rounding of 1 - 1/c


def _labels_array(name: str, labels: Any, num_classes: int) -> np.ndarray:
    """Validate class indices in [0, num_classes) and return them as a 1-D int64 numpy copy."""
    if not isinstance(labels, (np.ndarray, torch.Tensor)):
        labels = np.asarray(labels)
        if labels.size == 0:  # an empty list is an empty label vector, not one of float dtype
            labels = labels.astype(np.int64)
    check_labels(name, labels, num_classes)
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    return labels.astype(np.int64)


def _format_eta(eta: float) -> str:
    return f"{eta:g}"


@dataclass
class NoisyLabels:
    """The outcome of corrupting a label vector.

    Attributes:
        labels: (N,) int64 noisy labels.
        is_noisy: (N,) bool, True where the noisy label differs from the true one.
        realised_rate: fraction of labels actually changed, ``mean(is_noisy)`` (0 for N = 0).
    """

    labels: np.ndarray
    is_noisy: np.ndarray
    realised_rate: float


@dataclass(frozen=True)
class NoiseModel:
    """A closed-set label-noise model: its transition matrix T and a seeded corruption.

    Build it with :func:`make_noise`; the fields are validated on construction as well.

    Attributes:
        kind: "none", "uniform" or "class_dependent".
        eta: the noise rate η (uniform: in [0, 1 - 1/c]; class_dependent: in [0, 0.5); none: 0).
        num_classes: c.
        dataset: "cifar10", "cifar100", "fashion_mnist", or None (allowed for none/uniform).
    """

    kind: str
    eta: float
    num_classes: int
    dataset: str | None = None

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, NOISE_KINDS)
        num_classes = check_int("num_classes", self.num_classes, 2)
        if self.dataset is not None:
            check_choice("dataset", self.dataset, DATASET_INFO)
            expected = DATASET_INFO[self.dataset].num_classes
            if num_classes != expected:
                raise ValueError(f"num_classes must be {expected} for dataset {self.dataset!r}, got {num_classes}")
        if self.kind == "none":
            eta = check_in_range("eta (noise kind 'none')", self.eta, 0.0, 0.0)
        elif self.kind == "uniform":
            high = 1.0 - 1.0 / num_classes + _BOUND_TOLERANCE
            eta = check_in_range(f"eta (uniform noise, {num_classes} classes)", self.eta, 0.0, high)
        else:
            check_choice("dataset (class_dependent noise, which has a class map)", self.dataset, CLASS_MAPS)
            eta = check_in_range(
                "eta (class_dependent noise)",
                self.eta,
                0.0,
                _CLASS_DEPENDENT_MAX_ETA,
                high_open=True,
            )
        object.__setattr__(self, "eta", eta)
        object.__setattr__(self, "num_classes", num_classes)

    @property
    def name(self) -> str:
        """Short id for run and file names: "uniform0.4", "class_dependent0.2", "none"."""
        return "none" if self.kind == "none" else f"{self.kind}{_format_eta(self.eta)}"

    def describe(self) -> str:
        """Short human-readable label, e.g. "uniform η=0.4", "class_dependent η=0.2", "none"."""
        return "none" if self.kind == "none" else f"{self.kind} η={_format_eta(self.eta)}"

    def __str__(self) -> str:
        return self.describe()

    def transition_matrix(self) -> np.ndarray:
        """The (c, c) row-stochastic matrix ``T[i, j] = p(noisy = j | true = i)`` (Sec. 3.1)."""
        return np.stack([self.transition_row(i) for i in range(self.num_classes)])

    def transition_row(self, true_class: int) -> np.ndarray:
        """Row ``true_class`` of :meth:`transition_matrix` (c floats), without building the
        matrix: over 21,841 classes the matrix alone would take 3.5 GiB."""
        c, eta = self.num_classes, self.eta
        true_class = check_int("true_class", true_class, 0, c - 1)
        if self.kind == "uniform":
            row = np.full(c, eta / (c - 1))
            row[true_class] = 1.0 - eta
            return row
        row = np.zeros(c)
        row[true_class] = 1.0
        target = CLASS_MAPS[self.dataset].get(true_class) if self.kind == "class_dependent" else None
        if target is not None:
            row[true_class], row[target] = 1.0 - eta, eta
        return row

    def corrupt(self, labels: np.ndarray | torch.Tensor, seed: int) -> NoisyLabels:
        """Draw a noisy label for each true label from row ``T[label]``, reproducibly from ``seed``.

        Each sample gets one uniform draw u ~ U[0, 1) from ``np.random.default_rng(seed)``; its
        noisy label is the first j with ``u < cumsum(T[label])[j]`` (inverse CDF), so the noisy
        labels follow T exactly in distribution. The input is not modified.

        Args:
            labels: (N,) true labels in [0, c) (numpy array, list or CPU torch tensor).
            seed: non-negative integer seed.

        Returns:
            :class:`NoisyLabels` with the noisy labels, the flipped mask and the realised rate.
        """
        true = _labels_array("labels", labels, self.num_classes)
        seed = check_int("seed", seed, 0)
        uniforms = np.random.default_rng(seed).random(true.size)
        noisy = np.empty_like(true)
        for cls in np.unique(true):  # one row of T at a time: memory O(c), not O(c^2)
            cdf = np.cumsum(self.transition_row(int(cls)))
            cdf[-1] = 1.0  # u < 1 always lands on a class despite rounding in the cumsum
            mask = true == cls
            noisy[mask] = np.searchsorted(cdf, uniforms[mask], side="right")
        is_noisy = noisy != true
        rate = float(is_noisy.mean()) if true.size else 0.0
        return NoisyLabels(labels=noisy, is_noisy=is_noisy, realised_rate=rate)


def make_noise(kind: str, eta: float, dataset: str | None = None, *, num_classes: int | None = None) -> NoiseModel:
    """Build a validated :class:`NoiseModel`.

    Args:
        kind: "none", "uniform" or "class_dependent".
        eta: noise rate η; uniform: [0, 1 - 1/c]; class_dependent: [0, 0.5); none: 0.
        dataset: "cifar10", "cifar100" or "fashion_mnist"; required for class_dependent noise,
            and it fixes the number of classes.
        num_classes: c when no dataset is given (e.g. toy data); must match the dataset if both.

    Raises:
        ValueError: naming the parameter and its allowed values.
    """
    check_choice("kind", kind, NOISE_KINDS)
    if dataset is not None:
        check_choice("dataset", dataset, DATASET_INFO)
        if num_classes is None:
            num_classes = DATASET_INFO[dataset].num_classes
    elif num_classes is None:
        if kind == "class_dependent":
            check_choice("dataset (class_dependent noise, which has a class map)", None, CLASS_MAPS)
        raise ValueError("num_classes must be an integer >= 2 when no dataset is given, got None")
    return NoiseModel(kind=kind, eta=eta, num_classes=num_classes, dataset=dataset)


def empirical_transition(
    true_labels: np.ndarray | torch.Tensor,
    noisy_labels: np.ndarray | torch.Tensor,
    num_classes: int,
) -> np.ndarray:
    """Row-normalised confusion counts ``T_emp[i, j] = #(true = i, noisy = j) / #(true = i)``.

    Rows of classes that do not occur are all zero.
    """
    num_classes = check_int("num_classes", num_classes, 2)
    true = _labels_array("true_labels", true_labels, num_classes)
    noisy = _labels_array("noisy_labels", noisy_labels, num_classes)
    if true.shape != noisy.shape:
        raise ValueError(f"noisy_labels must have the same length as true_labels ({true.size}), got {noisy.size}")
    counts = np.bincount(true * num_classes + noisy, minlength=num_classes**2)
    counts = counts.reshape(num_classes, num_classes).astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def train_val_split(num_samples: int, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random train/validation split of the training set (Sec. 4: 10 % held out).

    Both parts keep *noisy* labels in the paper; corrupt the full training label vector once and
    index it with both parts. ``val_fraction * num_samples``, rounded half up, go to validation.

    Args:
        num_samples: size N of the training set, >= 2.
        val_fraction: fraction held out, in [0, 1); the training part must stay non-empty.
        seed: non-negative integer seed for ``np.random.default_rng``.

    Returns:
        ``(train_idx, val_idx)``: sorted, disjoint int64 arrays that together cover 0..N-1.
    """
    num_samples = check_int("num_samples", num_samples, 2)
    fraction = check_in_range("val_fraction", val_fraction, 0.0, 1.0, high_open=True)
    seed = check_int("seed", seed, 0)
    num_val = int(math.floor(fraction * num_samples + 0.5))
    if num_val >= num_samples:
        raise ValueError(
            f"val_fraction must leave at least one of {num_samples} samples for training, got {val_fraction}"
        )
    order = np.random.default_rng(seed).permutation(num_samples)
    return np.sort(order[num_val:]).astype(np.int64), np.sort(order[:num_val]).astype(np.int64)


def training_subset(labels: np.ndarray | torch.Tensor, size: int, seed: int = 0) -> np.ndarray:
    """Indices of a class-balanced random subset of ``size`` training samples (sorted, int64).

    Every class contributes ``size // c`` samples (the first ``size % c`` classes one more),
    drawn without replacement; a class with too few samples gives all it has and the rest is
    filled from the other classes. The subset depends only on the labels, ``size`` and ``seed``,
    so every run of a profile trains on the same images whatever its run seed.
    """
    labels_np = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    if labels_np.ndim != 1 or labels_np.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels_np.shape}")
    if not np.issubdtype(labels_np.dtype, np.integer):
        raise ValueError(f"labels must hold integer class indices >= 0, got dtype {labels_np.dtype}")
    if labels_np.min() < 0:
        raise ValueError(f"labels must hold integer class indices >= 0, got values down to {labels_np.min()}")
    size = check_int("size", size, 1)
    if size > labels_np.size:
        raise ValueError(f"size must be at most the {labels_np.size} training samples, got {size}")
    seed = check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    classes = np.unique(labels_np)
    shares = np.full(classes.size, size // classes.size)
    shares[: size % classes.size] += 1
    chosen, spare = [], []
    for cls, share in zip(classes, shares):
        members = rng.permutation(np.flatnonzero(labels_np == cls))
        chosen.append(members[:share])
        spare.append(members[share:])
    picked = np.concatenate(chosen)
    missing = size - picked.size
    if missing:  # a short class: fill from the others at random
        picked = np.concatenate([picked, rng.permutation(np.concatenate(spare))[:missing]])
    return np.sort(picked).astype(np.int64)


@dataclass
class OpenSetNoise:
    """Training images with a fraction replaced by images of another data set (open-set noise).

    Attributes:
        images: copy of the input images with the replaced rows (same type, dtype and device).
        labels: (N,) int64 labels, unchanged: the replaced images keep them, which makes them wrong.
        is_open_set: (N,) bool, True for replaced samples.
        replaced_indices: sorted int64 indices of the replaced samples.
        source_indices: int64 indices into ``other_images`` of the image placed at each
            ``replaced_indices`` position (distinct: drawn without replacement).
        realised_rate: fraction of samples replaced.
    """

    images: np.ndarray | torch.Tensor
    labels: np.ndarray
    is_open_set: np.ndarray
    replaced_indices: np.ndarray
    source_indices: np.ndarray
    realised_rate: float


def open_set_replace(
    images: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    other_images: np.ndarray | torch.Tensor,
    eta: float,
    seed: int,
    num_classes: int,
) -> OpenSetNoise:
    """Open-set noise of Table 2: replace a fraction η of the images by foreign images.

    For every class k, ``round(η * n_k)`` of its n_k samples (rounding half up) are chosen at
    random and their images replaced by images drawn at random, without replacement, from
    ``other_images`` (CIFAR-100 in the paper, for CIFAR-10); the labels stay, so each replaced
    image carries one of the target classes, in equal shares when the classes are balanced (as in
    the released code of Wang et al. 2018, "Iterative learning with open-set noisy labels").
    Inputs are not modified.

    Args:
        images: (N, ...) numpy array or torch tensor, e.g. uint8 (N, C, H, W).
        labels: (N,) class indices in [0, num_classes).
        other_images: (M, ...) images of another data set with the same per-sample shape and
            dtype (numpy or torch; converted to the type and device of ``images``).
        eta: fraction to replace, in [0, 1].
        seed: non-negative integer seed for ``np.random.default_rng``.
        num_classes: number of classes of the target data set, >= 2.

    Returns:
        :class:`OpenSetNoise`.
    """
    num_classes = check_int("num_classes", num_classes, 2)
    y = _labels_array("labels", labels, num_classes)
    eta = check_in_range("eta (open-set noise)", eta, 0.0, 1.0)
    seed = check_int("seed", seed, 0)
    if not isinstance(images, (np.ndarray, torch.Tensor)):
        raise ValueError(f"images must be a numpy array or torch tensor, got {type(images).__name__}")
    if isinstance(images, torch.Tensor):
        other = torch.as_tensor(other_images).to(images.device)
    elif isinstance(other_images, torch.Tensor):
        other = other_images.detach().cpu().numpy()
    else:
        other = np.asarray(other_images)
    if images.ndim < 1 or images.shape[0] != y.size:
        raise ValueError(f"images must have one row per label ({y.size}), got shape {tuple(images.shape)}")
    if tuple(other.shape[1:]) != tuple(images.shape[1:]):
        raise ValueError(
            f"other_images must have per-sample shape {tuple(images.shape[1:])} like images, "
            f"got {tuple(other.shape[1:])}"
        )
    if other.dtype != images.dtype:
        raise ValueError(f"other_images must have dtype {images.dtype} like images, got {other.dtype}")

    rng = np.random.default_rng(seed)
    chosen = []
    for cls in range(num_classes):
        members = np.flatnonzero(y == cls)
        count = int(math.floor(eta * members.size + 0.5))
        chosen.append(rng.choice(members, size=count, replace=False))
    replaced = np.sort(np.concatenate(chosen)).astype(np.int64)
    if replaced.size > other.shape[0]:
        raise ValueError(f"other_images must hold at least {replaced.size} images for eta={eta}, got {other.shape[0]}")
    source = rng.choice(other.shape[0], size=replaced.size, replace=False).astype(np.int64)

    if isinstance(images, torch.Tensor):
        out = images.clone()
        device = images.device
        out[torch.from_numpy(replaced).to(device)] = other[torch.from_numpy(source).to(device)]
    else:
        out = images.copy()
        out[replaced] = other[source]
    is_open_set = np.zeros(y.size, dtype=bool)
    is_open_set[replaced] = True
    rate = float(is_open_set.mean()) if y.size else 0.0
    return OpenSetNoise(
        images=out,
        labels=y,
        is_open_set=is_open_set,
        replaced_indices=replaced,
        source_indices=source,
        realised_rate=rate,
    )
