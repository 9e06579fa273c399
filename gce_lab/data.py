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
  cached under :func:`cache_dir`, never next to the read-only snapshot. Its test split is sorted
  by class: never take a prefix of it as a "subset".
* ``"synthetic"`` -- small deterministic class-conditional images with the data set's true shape
  and class count, for smoke runs and tests.
* ``"auto"`` -- the snapshot if present, else the torchvision files if present, else (with
  ``download=True``) a torchvision download, else ``FileNotFoundError``. Never synthetic.

The data root is ``root`` if given, else the environment variable ``GCE_LAB_DATA``, else
``<repo>/../shared/datasets`` when that folder exists, else ``~/.cache/gce_lab/data``.

The paper's preprocessing (Section 4.2: per-pixel mean subtraction, random flips, 32x32 crops
after 4-pixel padding) lives in :mod:`gce_lab.augment`; ``per_pixel_mean`` and ``augment_batch``
are re-exported here as the architecture contract lists them under this module.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gce_lab.augment import augment_batch, per_pixel_mean
from gce_lab.files import atomic_path
from gce_lab.validation import check_choice, check_labels

__all__ = [
    "DataFileError",
    "DATASETS",
    "SOURCES",
    "ImageDataset",
    "class_names",
    "load_dataset",
    "resolve_data_root",
    "cache_dir",
    "augment_batch",
    "per_pixel_mean",
]

#: Data set names accepted by :func:`load_dataset`.
DATASETS = ("cifar10", "cifar100", "fashion_mnist")
#: Sources accepted by :func:`load_dataset` (``"snapshot:<stem>"`` is also accepted).
SOURCES = ("auto", "snapshot", "torchvision", "synthetic")

_CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_CIFAR100_CLASSES = tuple(
    """
apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle
caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish
forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle
mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine
possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar
sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale
willow_tree wolf woman worm""".split()
)


@dataclass(frozen=True)
class _Spec:
    """What is known about a data set before loading it."""

    title: str
    channels: int
    size: int
    classes: tuple[str, ...]
    snapshots: dict[str, str]  # file stem -> display title of results on it
    torchvision_class: str
    torchvision_dir: str  # relative to the data root; its existence means "files present"


_SPECS: dict[str, _Spec] = {
    "cifar10": _Spec(
        "CIFAR-10", 3, 32, _CIFAR10_CLASSES, {"cifar10_jpeg": "CIFAR-10-JPEG"}, "CIFAR10", "cifar-10-batches-py"
    ),
    "cifar100": _Spec("CIFAR-100", 3, 32, _CIFAR100_CLASSES, {}, "CIFAR100", "cifar-100-python"),
    "fashion_mnist": _Spec(
        "Fashion-MNIST", 1, 28, _FASHION_CLASSES, {"fashion_mnist": "Fashion-MNIST"}, "FashionMNIST", "FashionMNIST/raw"
    ),
}


@dataclass(frozen=True)
class ImageDataset:
    """A labelled image data set held in memory (CPU tensors).

    Attributes:
        name: one of :data:`DATASETS`.
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
        spec = _SPECS[self.name]
        if self.source.startswith("snapshot:"):
            return spec.snapshots.get(self.source.split(":", 1)[1], spec.title)
        if self.source == "synthetic":
            return f"{spec.title} (synthetic)"
        return spec.title


def class_names(name: str) -> list[str]:
    """The official class names of data set ``name``, index = label."""
    check_choice("name", name, DATASETS)
    return list(_SPECS[name].classes)


# ----------------------------------------------------------------------------- locations


def _repo_root() -> Path:
    """The folder holding the ``gce_lab`` package (the repository root in a checkout)."""
    return Path(__file__).resolve().parent.parent


def _root_and_reason(root: str | os.PathLike[str] | None) -> tuple[Path, str]:
    if root is not None:
        return Path(root).expanduser(), "the root argument"
    env = os.environ.get("GCE_LAB_DATA")
    if env:
        return Path(env).expanduser(), "the environment variable GCE_LAB_DATA"
    shared = _repo_root().parent / "shared" / "datasets"
    if shared.is_dir():
        return shared, "the default <repo>/../shared/datasets (GCE_LAB_DATA is not set)"
    fallback = Path.home() / ".cache" / "gce_lab" / "data"
    return fallback, f"the default ~/.cache/gce_lab/data (GCE_LAB_DATA is not set and {shared} does not exist)"


def resolve_data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``root``, else ``$GCE_LAB_DATA``, else ``<repo>/../shared/datasets`` if it
    exists, else ``~/.cache/gce_lab/data``."""
    return _root_and_reason(root)[0]


def cache_dir() -> Path:
    """Where decoded arrays are cached: ``$GCE_LAB_CACHE``, else ``~/.cache/gce_lab``."""
    env = os.environ.get("GCE_LAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gce_lab"


# ----------------------------------------------------------------------------- snapshots


class DataFileError(ValueError):
    """A data file (snapshot or decode cache) that is damaged or not what it should be; the
    message names the file and how to get a good copy."""


def _damaged(path: Path, problem: str, name: str | None = None) -> DataFileError:
    cached = path.parent == cache_dir()
    fix = (
        f"delete it ({path}); it is rebuilt from the snapshot on the next load"
        if cached
        else "copy it again from the shared datasets folder (its SHA256SUMS file lists the checksum to compare "
        "with `sha256sum`)"
        + (
            f", or use load_dataset({name!r}, source='torchvision', download=True) where the internet is reachable"
            if name
            else ""
        )
    )
    return DataFileError(f"data file {path} {problem}; {fix}")


def _open_npz(path: Path, name: str | None) -> dict[str, np.ndarray]:
    """Every array of an .npz file, read now; a damaged or truncated file raises :class:`DataFileError`."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise _damaged(path, f"cannot be read as a .npz archive ({type(err).__name__}: {err})", name) from err


def _check_arrays(path: Path, arrays: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """Keys, shapes, dtypes and class names of a snapshot's arrays against what ``name`` must be."""
    spec = _SPECS[name]
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test", "classes") if k not in arrays]
    if missing:
        raise _damaged(path, f"lacks the arrays {missing} (it has {sorted(arrays)})", name)
    classes = [str(c) for c in arrays["classes"]]
    if classes != list(spec.classes):
        order = "in another order" if sorted(classes) == sorted(spec.classes) else "other than the official ones"
        raise _damaged(
            path,
            f"names its classes {order}: {classes} (the labels would mean other classes: "
            f"{spec.title}'s order is {list(spec.classes)})",
            name,
        )
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (spec.channels, spec.size, spec.size):
            raise _damaged(
                path,
                f"holds x_{split} of {x.dtype} {x.shape}, not uint8 (N, {spec.channels}, {spec.size}, {spec.size})",
                name,
            )
        if not np.issubdtype(y.dtype, np.integer) or y.shape != (x.shape[0],):
            raise _damaged(path, f"holds y_{split} of {y.dtype} {y.shape}, not integer labels ({x.shape[0]},)", name)
        if y.size and (y.min() < 0 or y.max() >= len(spec.classes)):
            raise _damaged(path, f"holds y_{split} outside [0, {len(spec.classes)})", name)
    return arrays


def _file_digest(path: Path) -> str:
    """First 16 hex digits of the file's SHA-256 (keys the decode cache to the file's content)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _decode_jpegs(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Decode concatenated JPEG bytes (image i = ``data[offsets[i]:offsets[i+1]]``) to NHWC uint8
    with Pillow (one core, about 3-4 s for 50 000 CIFAR images on an idle machine)."""
    from PIL import Image

    def decode(chunk: bytes) -> np.ndarray:
        image = Image.open(io.BytesIO(chunk))
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))

    return np.stack([decode(data[a:b].tobytes()) for a, b in zip(offsets[:-1], offsets[1:])])


def _save_npz_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an uncompressed .npz atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def _read_jpeg_snapshot(path: Path, raw: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """Decoded arrays of a JPEG snapshot (images NCHW), from the cache when it holds them."""
    cached = cache_dir() / f"{path.stem}-{_file_digest(path)}-nchw.npz"
    if cached.is_file():
        return _check_arrays(cached, _open_npz(cached, name), name)
    needed = [k for split in ("train", "test") for k in (f"jpeg_{split}", f"off_{split}", f"y_{split}")]
    missing = [k for k in (*needed, "classes") if k not in raw]
    if missing:
        raise _damaged(path, f"lacks the arrays {missing} (it has {sorted(raw)})", name)
    try:
        arrays = {
            f"x_{split}": _to_nchw(_decode_jpegs(raw[f"jpeg_{split}"], raw[f"off_{split}"]))
            for split in ("train", "test")
        }
    except (OSError, ValueError, IndexError) as err:  # Pillow's UnidentifiedImageError is an OSError
        raise _damaged(path, f"holds images that do not decode ({type(err).__name__}: {err})", name) from err
    arrays.update({key: raw[key] for key in ("y_train", "y_test", "classes")})
    _check_arrays(path, arrays, name)
    _save_npz_atomically(cached, arrays)
    return arrays


def _read_snapshot(path: Path, name: str) -> dict[str, np.ndarray]:
    """Arrays ``x_train, y_train, x_test, y_test, classes`` of ``name``'s snapshot file (images
    NCHW), checked: keys, shapes, dtypes, label range and the class names in the official order."""
    raw = _open_npz(path, name)
    if "jpeg_train" in raw:
        return _read_jpeg_snapshot(path, raw, name)
    arrays = dict(raw)
    for key in ("x_train", "x_test"):
        if key in raw and raw[key].dtype != np.uint8:
            raise _damaged(path, f"holds {key} of dtype {raw[key].dtype}, not uint8 pixels", name)
    try:
        arrays.update({key: _to_nchw(raw[key]) for key in ("x_train", "x_test") if key in raw})
    except ValueError as err:
        raise _damaged(path, f"holds images of the wrong shape ({err})", name) from err
    return _check_arrays(path, arrays, name)


# ----------------------------------------------------------------------------- conversion


def _to_nchw(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """NHW (grey) or NHWC images -> contiguous NCHW uint8 array."""
    x = np.asarray(x, dtype=np.uint8)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, C), got shape {x.shape}")
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _to_dataset(name: str, arrays: dict, source: str) -> ImageDataset:
    """Wrap reader output (images NCHW uint8) as an :class:`ImageDataset`, checking the shape."""
    spec = _SPECS[name]
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

    spec = _SPECS[name]
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
        "x_train": _to_nchw(train.data),
        "y_train": np.asarray(train.targets),
        "x_test": _to_nchw(test.data),
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
    spec = _SPECS[name]
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
    spec = _SPECS[name]
    lines = [f"{spec.title} was not found. Looked for:"] + [f"  - {place}" for place in looked]
    lines.append(f"The data root {root} came from {reason}.")
    if not spec.snapshots:
        lines.append(
            f"{spec.title} images are not available offline: no snapshot of them exists (the offline "
            "shared/datasets folder has only the CIFAR-100N noisy labels, not the images)."
        )
    lines.append(
        f"To get it: call load_dataset({name!r}, download=True) on a machine with internet (e.g. Colab); "
        "torchvision then downloads it into the data root."
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
    snapshots = _SPECS[name].snapshots
    if kind == "snapshot" and not snapshots:
        raise ValueError(
            f"source='snapshot' is not possible for {name!r}: {_SPECS[name].title} images are not "
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
        root: data root; default from ``$GCE_LAB_DATA`` or :func:`resolve_data_root`.
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
    check_choice("name", name, DATASETS)
    kind, stem = _parse_source(name, source)
    if not isinstance(download, bool):
        raise ValueError(f"download must be True or False, got {download!r}")
    if download and kind in ("snapshot", "synthetic"):
        raise ValueError(f"download=True only applies to source 'auto' or 'torchvision', got source={source!r}")
    if kind == "synthetic":
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        return _to_dataset(name, _synthetic_arrays(name, _check_synthetic_size(synthetic_size), int(seed)), "synthetic")

    data_root, reason = _root_and_reason(root)
    spec = _SPECS[name]
    looked: list[str] = []
    if kind in ("auto", "snapshot") and stem is not None:
        path = data_root / f"{stem}.npz"
        if path.is_file():
            return _to_dataset(name, _read_snapshot(path, name), f"snapshot:{stem}")
        looked.append(f"snapshot {path}")
    if kind in ("auto", "torchvision"):
        tv_path = data_root / spec.torchvision_dir
        if tv_path.is_dir() or download:
            return _to_dataset(name, _read_torchvision(name, data_root, download), "torchvision")
        looked.append(f"torchvision files {tv_path}")
    raise FileNotFoundError(_missing_message(name, data_root, reason, looked))
