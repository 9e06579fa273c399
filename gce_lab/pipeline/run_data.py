"""A run's data: the noisy training and validation splits and the clean test set (Sec. 4).

Per run and seed: the labels of the whole training set (or of the profile's fixed
class-balanced subset) are corrupted, or for open-set noise 40 % of its images replaced by
CIFAR-100 images, or replaced by the people's labels of a human label set; then 10 % are held
out as the noisy validation split; the test set stays clean. The seed fixes the noise and the
split through separate derived seeds (:mod:`gce_lab.seeds`). Data sets are loaded once per process.
"""

from __future__ import annotations

from typing import Any

import torch

from gce_lab.noise import make_noise, open_set_replace, train_val_split, training_subset
from gce_lab.pipeline.data import ImageDataset, load_dataset
from gce_lab.pipeline.data_files import resolve_data_root
from gce_lab.pipeline.human_noise import HumanLabels, is_human, load_human_labels
from gce_lab.pipeline.planning import DataSettings, PlannedRun
from gce_lab.pipeline.train import TrainData
from gce_lab.seeds import derived_seed

__all__ = ["build_run_data"]

_datasets: dict[tuple, ImageDataset] = {}


def _dataset(name: str, settings: DataSettings, download: bool = False) -> ImageDataset:
    """The data set of a run, loaded once per process and data root (``$GCE_LAB_DATA`` may change);
    ``download``: let torchvision fetch missing files (real images only)."""
    source, size = settings.source, settings.synthetic_size
    key = (name, source, size, resolve_data_root())
    if key not in _datasets:
        kwargs: dict[str, Any] = {"synthetic_size": size} if size else {}
        if download and source in ("auto", "torchvision"):
            kwargs["download"] = True
        _datasets[key] = load_dataset(name, source=source, **kwargs)
    return _datasets[key]


def _open_set_images(settings: DataSettings, download: bool) -> torch.Tensor:
    try:
        return _dataset("cifar100", settings, download).x_train
    except FileNotFoundError as err:
        raise FileNotFoundError(
            "Table 2's open-set noise replaces CIFAR-10 training images by CIFAR-100 images, which are not "
            "available here. Run it where torchvision can download CIFAR-100, with --download (python -m gce_lab "
            "run) or download=True (chapter_results; on Colab it is the default), or use --profile smoke "
            f"(synthetic images).\n{err}"
        ) from err


def _human_labels(kind: str, ds: ImageDataset, download: bool) -> HumanLabels:
    if ds.source == "synthetic":
        raise FileNotFoundError(
            f"human label noise ({kind}) exists only for the real CIFAR training images, not for "
            "synthetic ones: run it under the cpu, lab or paper profile"
        )
    return load_human_labels(kind, ds.y_train, download=download)


def _where_from(ds: ImageDataset) -> str:
    """The file or folder a data set was read from, for messages."""
    if ds.source.startswith("snapshot:"):
        return f"snapshot {resolve_data_root() / (ds.source.split(':', 1)[1] + '.npz')}"
    return f"{ds.source} files under {resolve_data_root()}"


def build_run_data(planned: PlannedRun, *, download: bool = False) -> tuple[TrainData, dict[str, Any]]:
    """The noisy train / noisy validation / clean test splits of a planned run, and facts about them.

    ``download`` lets torchvision download missing images (it checks their MD5 sums) and fetches a
    missing CIFAR-N label file (its SHA-256 checked).

    Returns ``(data, meta)`` with meta keys ``data_source``, ``realised_noise_rate`` (fraction of
    mislabelled or foreign samples in the training split) and ``true_T`` (None for open-set noise).
    """
    run, settings = planned.spec, planned.data
    ds = _dataset(run.dataset, settings, download)
    kind, eta = run.noise_kind, run.eta
    images, y_true = ds.x_train, ds.y_train.numpy()
    human = _human_labels(kind, ds, download) if is_human(kind) else None
    if settings.train_subset is not None:  # the same images for every run of the profile
        if settings.train_subset > len(y_true):
            raise ValueError(
                f"the {run.profile} profile trains on {settings.train_subset} images of {run.dataset}, but its "
                f"training set ({_where_from(ds)}) holds only {len(y_true)}; use the full data set there "
                "(the shared datasets folder's copy, see its SHA256SUMS) or a profile with a smaller subset"
            )
        subset = training_subset(y_true, settings.train_subset, seed=0)
        images, y_true = images[subset], y_true[subset]
    else:
        subset = slice(None)
    if human is not None:  # the people's labels of the same images
        labels, is_noisy, true_T = human.labels[subset], human.is_noisy[subset], human.transition_matrix()
    elif kind == "open_set":
        foreign = _open_set_images(settings, download)
        replaced = open_set_replace(images, y_true, foreign, eta, derived_seed(run.seed, "open_set"), ds.num_classes)
        images, labels, is_noisy, true_T = replaced.images, replaced.labels, replaced.is_open_set, None
    else:
        noise = make_noise("uniform" if kind == "closed_set" else kind, eta, run.dataset)
        noisy = noise.corrupt(y_true, derived_seed(run.seed, "noise"))
        labels, is_noisy, true_T = noisy.labels, noisy.is_noisy, noise.transition_matrix()
    train_idx, val_idx = train_val_split(len(y_true), settings.val_fraction, derived_seed(run.seed, "split"))
    labels_t, noisy_t = torch.from_numpy(labels), torch.from_numpy(is_noisy)
    data = TrainData(
        x_train=images[train_idx],
        y_train=labels_t[train_idx],
        is_noisy=noisy_t[train_idx],
        x_val=images[val_idx],
        y_val=labels_t[val_idx],
        x_test=ds.x_test,
        y_test=ds.y_test,
        num_classes=ds.num_classes,
    )
    meta = {"data_source": ds.source, "realised_noise_rate": float(is_noisy[train_idx].mean()), "true_T": true_T}
    return data, meta
