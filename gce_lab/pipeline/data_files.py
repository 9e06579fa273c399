"""Where the data live and the offline snapshot files: the data root, the decode cache, and
reading a snapshot with every check that names a damaged file and how to get a good copy.

The snapshots are those of ``shared/datasets/`` (its README says what each file is):
Fashion-MNIST as raw arrays, CIFAR-10 as lossy JPEGs (CIFAR-10-JPEG) decoded once into the
cache. :func:`gce_lab.pipeline.data.load_dataset` reads them through :func:`read_snapshot`.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import urllib.request
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from gce_lab.datasets import DATASET_INFO
from gce_lab.files import atomic_path

__all__ = [
    "DataFileError",
    "resolve_data_root",
    "root_and_reason",
    "cache_dir",
    "to_nchw",
    "read_snapshot",
    "sha256_of",
    "download_checked",
]


# ----------------------------------------------------------------------------- locations


def _repo_root() -> Path:
    """The folder holding the ``gce_lab`` package (the repository root in a checkout)."""
    return Path(__file__).resolve().parents[2]


def root_and_reason(root: str | os.PathLike[str] | None) -> tuple[Path, str]:
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
    return root_and_reason(root)[0]


def cache_dir() -> Path:
    """Where decoded arrays are cached: ``$GCE_LAB_CACHE``, else ``~/.cache/gce_lab``."""
    env = os.environ.get("GCE_LAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gce_lab"


def to_nchw(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """NHW (grey) or NHWC images -> contiguous NCHW uint8 array."""
    x = np.asarray(x, dtype=np.uint8)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, C), got shape {x.shape}")
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


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
    spec = DATASET_INFO[name]
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
        if x.shape[:1] == (0,):
            raise _damaged(path, f"holds no images in x_{split}", name)
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


def sha256_of(path: Path) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def download_checked(url: str, sha256: str, path: Path) -> None:
    """Fetch ``url`` into ``path`` atomically and check its SHA-256 (a mismatch keeps nothing).

    Where the internet cannot be reached (or ``path`` cannot be written) a ``FileNotFoundError``
    names the file and the address."""
    try:
        with atomic_path(path) as tmp:
            with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
            got = sha256_of(tmp)
            if got != sha256:
                raise DataFileError(f"the download of {path.name} from {url} has SHA-256 {got}, not {sha256}")
    except OSError as err:  # no network, a refused connection, an unwritable data root
        raise FileNotFoundError(f"{path} could not be downloaded from {url} ({type(err).__name__}: {err})") from err


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
    cached = cache_dir() / f"{path.stem}-{sha256_of(path)[:16]}-nchw.npz"
    if cached.is_file():
        try:
            return _check_arrays(cached, _open_npz(cached, name), name)
        except DataFileError as err:  # a damaged cache costs time, not the load: decode again
            warnings.warn(f"{err}; decoding {path.name} again to replace it", stacklevel=3)
    needed = [k for split in ("train", "test") for k in (f"jpeg_{split}", f"off_{split}", f"y_{split}")]
    missing = [k for k in (*needed, "classes") if k not in raw]
    if missing:
        raise _damaged(path, f"lacks the arrays {missing} (it has {sorted(raw)})", name)
    try:
        arrays = {
            f"x_{split}": to_nchw(_decode_jpegs(raw[f"jpeg_{split}"], raw[f"off_{split}"]))
            for split in ("train", "test")
        }
    except (OSError, ValueError, IndexError) as err:  # Pillow's UnidentifiedImageError is an OSError
        raise _damaged(path, f"holds images that do not decode ({type(err).__name__}: {err})", name) from err
    arrays.update({key: raw[key] for key in ("y_train", "y_test", "classes")})
    _check_arrays(path, arrays, name)
    try:
        _save_npz_atomically(cached, arrays)
    except OSError as err:  # a cache that cannot be written costs time, not the load
        warnings.warn(
            f"decode cache {cached} cannot be written ({err.strerror or err}); {path.name} is decoded again on "
            "every load (set GCE_LAB_CACHE to a writable folder)",
            stacklevel=3,
        )
    return arrays


def read_snapshot(path: Path, name: str) -> dict[str, np.ndarray]:
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
        arrays.update({key: to_nchw(raw[key]) for key in ("x_train", "x_test") if key in raw})
    except ValueError as err:
        raise _damaged(path, f"holds images of the wrong shape ({err})", name) from err
    return _check_arrays(path, arrays, name)
