"""Image data sets in one in-memory form, from torchvision, the offline snapshots, or synthetic.

Every loader returns an :class:`ImageDataset`: ``uint8`` image tensors ``(N, C, H, W)`` and
``int64`` labels on the CPU, plus the class names, whatever the source:

* ``"torchvision"`` -- torchvision's ``CIFAR10`` / ``CIFAR100`` / ``FashionMNIST`` files under the
  data root (``root/cifar-10-batches-py``, ``root/cifar-100-python``, ``root/FashionMNIST/raw``);
  ``download=True`` lets torchvision fetch them (needs internet, e.g. on Colab).
* ``"snapshot"`` -- the offline copies described in ``shared/datasets/README.md``:
  ``fashion_mnist.npz`` (lossless) and ``cifar10_jpeg.npz`` (JPEG quality 75, *lossy*; results on
  it are CIFAR-10-JPEG results, see :attr:`ImageDataset.display_name`). ``"snapshot:<file stem>"``
  names the file explicitly. The JPEG snapshot is decoded once (about 3-4 s) and the arrays are
  cached under :func:`gce_lab.pipeline.data_files.cache_dir`, never next to the read-only
  snapshot. Its test split is sorted by class: never take a prefix of it as a "subset".
* ``"synthetic"`` -- small deterministic class-conditional images with the data set's true shape
  and class count, for smoke runs and tests.
* ``"auto"`` -- the snapshot if present, else the torchvision files if present, else (with
  ``download=True``) a torchvision download, else ``FileNotFoundError``. Never synthetic.

The data root is ``root`` if given, else the environment variable ``GCE_LAB_DATA``, else
``<repo>/../shared/datasets`` when that folder exists, else ``~/.cache/gce_lab/data``.

The paper's preprocessing (Section 4.2: per-pixel mean subtraction, random flips, 32x32 crops
after 4-pixel padding) lives in :mod:`gce_lab.pipeline.augment`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gce_lab.datasets import DATASET_INFO, dataset_info
from gce_lab.pipeline.data_files import read_snapshot, root_and_reason, to_nchw
from gce_lab.validation import check_bool, check_choice, check_labels

__all__ = [
    "SOURCES",
    "ImageDataset",
    "class_names",
    "load_dataset",
]

#: Sources accepted by :func:`load_dataset` (``"snapshot:<stem>"`` is also accepted).
SOURCES = ("auto", "snapshot", "torchvision", "synthetic")


@dataclass(frozen=True)
class ImageDataset:
    """A labelled image data set held in memory (CPU tensors).

    Attributes:
        name: a data set of :data:`gce_lab.datasets.DATASET_INFO`.
        x_train, x_test: ``uint8`` tensors ``(N, C, H, W)``.
        y_train, y_test: ``int64`` tensors ``(N,)`` with values in ``[0, num_classes)``.
        classes: class names, index = label.
        source: where the images came from: ``"torchvision"``, ``"synthetic"`` or
            ``"snapshot:<file stem>"`` (e.g. ``"snapshot:cifar10_jpeg"``).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str]
    source: str

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dtype != torch.uint8 or x.ndim != 4:
                raise ValueError(f"x_{split} must be a uint8 tensor (N, C, H, W), got {x.dtype} {tuple(x.shape)}")
            if y.dtype != torch.int64 or y.shape != (x.shape[0],):
                raise ValueError(f"y_{split} must be an int64 tensor ({x.shape[0]},), got {y.dtype} {tuple(y.shape)}")
            check_labels(f"y_{split}", y, len(self.classes))
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"x_train and x_test must share the image shape, got {tuple(self.x_train.shape[1:])} "
                f"and {tuple(self.x_test.shape[1:])}"
            )

    @property
    def num_classes(self) -> int:
        """Number of classes ``c``."""
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        c, h, w = self.x_train.shape[1:]
        return int(c), int(h), int(w)

    @property
    def display_name(self) -> str:
        """Name to print with results, e.g. ``"CIFAR-10-JPEG"`` for the lossy snapshot."""
        spec = DATASET_INFO[self.name]
        if self.source.startswith("snapshot:"):
            return spec.snapshots.get(self.source.split(":", 1)[1], spec.title)
        if self.source == "synthetic":
            return f"{spec.title} (synthetic)"
        return spec.title


def class_names(name: str) -> list[str]:
    """The official class names of data set ``name``, index = label."""
    return list(dataset_info(name).classes)


# ----------------------------------------------------------------------------- conversion


def _to_dataset(name: str, arrays: dict, source: str) -> ImageDataset:
    """Wrap reader output (images NCHW uint8) as an :class:`ImageDataset`, checking the shape."""
    spec = DATASET_INFO[name]
    expected = (spec.channels, spec.size, spec.size)
    for key in ("x_train", "x_test"):
        if arrays[key].shape[1:] != expected:
            raise ValueError(f"{key} of {name} must have images of shape {expected}, got {arrays[key].shape[1:]}")
    return ImageDataset(
        name=name,
        x_train=torch.from_numpy(arrays["x_train"]),
        y_train=torch.as_tensor(np.asarray(arrays["y_train"], dtype=np.int64)),
        x_test=torch.from_numpy(arrays["x_test"]),
        y_test=torch.as_tensor(np.asarray(arrays["y_test"], dtype=np.int64)),
        classes=[str(c) for c in arrays["classes"]],
        source=source,
    )


# ----------------------------------------------------------------------------- torchvision


def _read_torchvision(name: str, root: Path, download: bool) -> dict:
    """Arrays from torchvision's data set class (downloading into ``root`` when asked)."""
    import torchvision.datasets as tv_datasets

    spec = DATASET_INFO[name]
    if download and not (root / spec.torchvision_dir).is_dir():
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"download=True needs a writable data root; cannot create {root}: {err}") from err
        if not os.access(root, os.W_OK):
            raise ValueError(
                f"download=True needs a writable data root, but {root} is read-only; pass root= "
                "or set GCE_LAB_DATA to a writable folder"
            )
    cls = getattr(tv_datasets, spec.torchvision_class)
    train, test = (cls(str(root), train=flag, download=download) for flag in (True, False))
    return {
        "x_train": to_nchw(train.data),
        "y_train": np.asarray(train.targets),
        "x_test": to_nchw(test.data),
        "y_test": np.asarray(test.targets),
        "classes": list(train.classes),
    }


# ----------------------------------------------------------------------------- synthetic


def _synthetic_split(prototypes: np.ndarray, n: int, rng: np.random.Generator, noise_std: float) -> dict:
    """``n`` noisy copies of the class prototypes, classes balanced and shuffled."""
    labels = rng.permutation(np.arange(n) % prototypes.shape[0])
    images = prototypes[labels] + rng.normal(0.0, noise_std, size=(n, *prototypes.shape[1:]))
    return {"x": np.clip(np.rint(images), 0, 255).astype(np.uint8), "y": labels.astype(np.int64)}


def _synthetic_arrays(name: str, sizes: tuple[int, int], seed: int) -> dict:
    """Class-conditional images: each class has a fixed colour plus a smooth random pattern
    (robust to crops and flips, so a small network learns it); every image adds pixel noise."""
    spec = DATASET_INFO[name]
    proto_rng, train_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    k, c, s = len(spec.classes), spec.channels, spec.size
    colours = proto_rng.uniform(56.0, 200.0, size=(k, c, 1, 1))
    coarse = torch.from_numpy(proto_rng.normal(0.0, 40.0, size=(k, c, 4, 4)))
    patterns = torch.nn.functional.interpolate(coarse, size=(s, s), mode="bilinear", align_corners=False).numpy()
    prototypes = colours + patterns
    train = _synthetic_split(prototypes, sizes[0], train_rng, noise_std=24.0)
    test = _synthetic_split(prototypes, sizes[1], test_rng, noise_std=24.0)
    return {
        "x_train": train["x"],
        "y_train": train["y"],
        "x_test": test["x"],
        "y_test": test["y"],
        "classes": list(spec.classes),
    }


# ----------------------------------------------------------------------------- loading


def _missing_message(name: str, root: Path, reason: str, looked: Sequence[str]) -> str:
    spec = DATASET_INFO[name]
    lines = [f"{spec.title} was not found. Looked for:"] + [f"  - {place}" for place in looked]
    lines.append(f"The data root {root} came from {reason}.")
    if not spec.snapshots:
        lines.append(
            f"{spec.title} images are not available offline: no snapshot of them exists (the offline "
            "shared/datasets folder has only the CIFAR-100N noisy labels, not the images)."
        )
    lines.append(
        f"To get it, on a machine with internet: train with --download (python -m gce_lab run ...), "
        f"chapter_results(..., download=True) (the default on Colab) or load_dataset({name!r}, download=True); "
        "torchvision then downloads it into the data root and checks its MD5 sums."
    )
    if spec.snapshots:
        files = ", ".join(f"{stem}.npz" for stem in spec.snapshots)
        lines.append(
            f"Offline: put the snapshot file {files} (see shared/datasets/README.md) in the data root, "
            "or pass root= / set GCE_LAB_DATA to the folder holding it."
        )
    return "\n".join(lines)


def _parse_source(name: str, source: str) -> tuple[str, str | None]:
    """Split ``source`` into its kind and, for snapshots, the file stem (None = the default one)."""
    if not isinstance(source, str):
        raise ValueError(f"source must be one of {SOURCES} or 'snapshot:<file stem>', got {source!r}")
    kind, _, stem = source.partition(":")
    check_choice("source", kind, SOURCES)
    if stem and kind != "snapshot":
        raise ValueError(f"source must be one of {SOURCES} or 'snapshot:<file stem>', got {source!r}")
    snapshots = DATASET_INFO[name].snapshots
    if kind == "snapshot" and not snapshots:
        raise ValueError(
            f"source='snapshot' is not possible for {name!r}: {DATASET_INFO[name].title} images are not "
            "available offline (no snapshot exists); use source='torchvision' with download=True on a "
            "machine with internet"
        )
    if stem:
        check_choice("source snapshot stem", stem, tuple(snapshots))
    return kind, stem or (next(iter(snapshots)) if snapshots else None)


def _check_synthetic_size(synthetic_size: Sequence[int]) -> tuple[int, int]:
    sizes = tuple(synthetic_size)
    if len(sizes) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in sizes
    ):
        raise ValueError(f"synthetic_size must be two integers >= 1 (train, test), got {synthetic_size!r}")
    return int(sizes[0]), int(sizes[1])


def load_dataset(
    name: str,
    root: str | os.PathLike[str] | None = None,
    source: str = "auto",
    download: bool = False,
    synthetic_size: tuple[int, int] = (512, 256),
    seed: int = 0,
) -> ImageDataset:
    """Load a data set as an :class:`ImageDataset` (see the module docstring for the sources).

    Args:
        name: ``"cifar10"``, ``"cifar100"`` or ``"fashion_mnist"``.
        root: data root; default from ``$GCE_LAB_DATA`` or :func:`gce_lab.pipeline.data_files.resolve_data_root`.
        source: ``"auto"``, ``"snapshot"``, ``"snapshot:<file stem>"``, ``"torchvision"`` or
            ``"synthetic"``.
        download: let torchvision download missing files (sources ``"auto"``/``"torchvision"``).
        synthetic_size: ``(n_train, n_test)`` for ``source="synthetic"``.
        seed: seed of the synthetic images (same seed, same images).

    Raises:
        ValueError: unknown name or source, or an argument out of range.
        FileNotFoundError: the data are not there; the message says where it looked and how to
            get them.
    """
    check_choice("name", name, DATASET_INFO)
    kind, stem = _parse_source(name, source)
    check_bool("download", download)
    if download and kind in ("snapshot", "synthetic"):
        raise ValueError(f"download=True only applies to source 'auto' or 'torchvision', got source={source!r}")
    if kind == "synthetic":
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        return _to_dataset(name, _synthetic_arrays(name, _check_synthetic_size(synthetic_size), int(seed)), "synthetic")

    data_root, reason = root_and_reason(root)
    spec = DATASET_INFO[name]
    looked: list[str] = []
    if kind in ("auto", "snapshot") and stem is not None:
        path = data_root / f"{stem}.npz"
        if path.is_file():
            return _to_dataset(name, read_snapshot(path, name), f"snapshot:{stem}")
        looked.append(f"snapshot {path}")
    if kind in ("auto", "torchvision"):
        tv_path = data_root / spec.torchvision_dir
        if tv_path.is_dir() or download:
            return _to_dataset(name, _read_torchvision(name, data_root, download), "torchvision")
        looked.append(f"torchvision files {tv_path}")
    raise FileNotFoundError(_missing_message(name, data_root, reason, looked))
