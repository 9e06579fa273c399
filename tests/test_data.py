"""Tests of gce_lab.pipeline.data: one in-memory form from snapshots, torchvision files and synthetic data."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gce_lab.pipeline import data_files
from gce_lab.pipeline.data import ImageDataset, load_dataset
from gce_lab.pipeline.data_files import cache_dir, resolve_data_root

SHARED = resolve_data_root()  # $GCE_LAB_DATA, else ../shared/datasets beside the checkout, else the user cache
FASHION_CLASSES = [
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
]


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A temporary decode cache, no GCE_LAB_DATA from the caller."""
    monkeypatch.setenv("GCE_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GCE_LAB_DATA", raising=False)


def _random_images(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _write_fake_jpeg_snapshot(path: Path, n_train: int = 12, n_test: int = 6) -> dict[str, np.ndarray]:
    """A miniature cifar10_jpeg.npz in the snapshot format of shared/datasets/README.md."""
    arrays: dict[str, np.ndarray] = {
        "classes": np.array(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])
    }
    for split, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        chunks = []
        for image in _random_images((n, 32, 32, 3), seed):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="JPEG", quality=75)
            chunks.append(np.frombuffer(buffer.getvalue(), dtype=np.uint8))
        arrays[f"jpeg_{split}"] = np.concatenate(chunks)
        arrays[f"off_{split}"] = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]).astype(np.int64)
        arrays[f"y_{split}"] = np.arange(n, dtype=np.int64) % 10
    np.savez(path, **arrays)
    return arrays


def _pillow_decode(arrays: dict[str, np.ndarray], split: str, i: int) -> np.ndarray:
    offsets = arrays[f"off_{split}"]
    chunk = arrays[f"jpeg_{split}"][offsets[i] : offsets[i + 1]].tobytes()
    return np.asarray(Image.open(io.BytesIO(chunk)).convert("RGB")).transpose(2, 0, 1)


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An uncompressed MNIST-style idx file (what torchvision's FashionMNIST reads from raw/)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_fake_torchvision_fashion(root: Path) -> dict[str, np.ndarray]:
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    arrays = {
        "x_train": _random_images((20, 28, 28), 3),
        "y_train": np.arange(20) % 10,
        "x_test": _random_images((10, 28, 28), 4),
        "y_test": (np.arange(10) * 3) % 10,
    }
    for prefix, split in (("train", "train"), ("t10k", "test")):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", arrays[f"x_{split}"])
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", arrays[f"y_{split}"])
    return arrays


# ----------------------------------------------------------------------------- synthetic


@pytest.mark.parametrize(
    ("name", "shape", "classes"),
    [("cifar10", (3, 32, 32), 10), ("cifar100", (3, 32, 32), 100), ("fashion_mnist", (1, 28, 28), 10)],
)
def test_synthetic_has_the_true_shape_and_class_count(name: str, shape: tuple, classes: int) -> None:
    ds = load_dataset(name, source="synthetic", synthetic_size=(300, 200))
    assert isinstance(ds, ImageDataset) and ds.source == "synthetic" and ds.name == name
    assert ds.x_train.shape == (300, *shape) and ds.x_test.shape == (200, *shape)
    assert ds.x_train.dtype == torch.uint8 and ds.y_train.dtype == torch.int64
    assert ds.image_shape == shape and ds.num_classes == classes == len(ds.classes)
    counts = torch.bincount(ds.y_train, minlength=classes)
    assert counts.max() - counts.min() <= 1  # balanced
    assert ds.display_name.endswith("(synthetic)")


def test_synthetic_is_deterministic_in_the_seed() -> None:
    a = load_dataset("cifar10", source="synthetic", seed=3)
    b = load_dataset("cifar10", source="synthetic", seed=3)
    c = load_dataset("cifar10", source="synthetic", seed=4)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


@pytest.mark.parametrize("name", ["cifar10", "fashion_mnist"])
def test_synthetic_classes_are_learnable(name: str) -> None:
    """A nearest-class-mean classifier fit on train must classify the test images."""
    ds = load_dataset(name, source="synthetic")
    x_train, x_test = ds.x_train.flatten(1).float(), ds.x_test.flatten(1).float()
    centroids = torch.stack([x_train[ds.y_train == k].mean(0) for k in range(ds.num_classes)])
    predicted = torch.cdist(x_test, centroids).argmin(1)
    assert (predicted == ds.y_test).float().mean() > 0.95


# ----------------------------------------------------------------------------- arguments and errors


def test_unknown_name_and_source_are_rejected() -> None:
    with pytest.raises(ValueError, match="name must be one of 'cifar10', 'cifar100', 'fashion_mnist'"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="source must be one of"):
        load_dataset("cifar10", source="internet")
    with pytest.raises(ValueError, match="source snapshot stem must be one of 'cifar10_jpeg'"):
        load_dataset("cifar10", source="snapshot:fashion_mnist")
    with pytest.raises(ValueError, match="download=True only applies"):
        load_dataset("cifar10", source="snapshot", download=True)
    with pytest.raises(ValueError, match=r"synthetic_size must be two integers >= 1"):
        load_dataset("cifar10", source="synthetic", synthetic_size=(0, 10))
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        load_dataset("cifar10", source="synthetic", seed=-1)


def test_cifar100_says_plainly_it_is_not_available_offline(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CIFAR-100 images are not available offline"):
        load_dataset("cifar100", source="snapshot")
    with pytest.raises(FileNotFoundError, match="CIFAR-100 images are not available offline") as err:
        load_dataset("cifar100", root=tmp_path)
    assert str(tmp_path / "cifar-100-python") in str(err.value) and "download=True" in str(err.value)


def test_missing_data_names_every_place_looked_and_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("cifar10", root=tmp_path)
    message = str(err.value)
    assert str(tmp_path / "cifar10_jpeg.npz") in message
    assert str(tmp_path / "cifar-10-batches-py") in message
    assert "the root argument" in message and "download=True" in message and "cifar10_jpeg.npz" in message
    with pytest.raises(FileNotFoundError, match="FashionMNIST"):
        load_dataset("fashion_mnist", root=tmp_path, source="torchvision")


def test_data_root_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GCE_LAB_DATA", str(tmp_path / "env"))
    assert resolve_data_root(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_root() == tmp_path / "env"
    monkeypatch.delenv("GCE_LAB_DATA")
    repo = tmp_path / "checkout" / "repo"
    monkeypatch.setattr(data_files, "_repo_root", lambda: repo)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_root() == tmp_path / "home" / ".cache" / "gce_lab" / "data"
    (tmp_path / "checkout" / "shared" / "datasets").mkdir(parents=True)
    assert resolve_data_root() == tmp_path / "checkout" / "shared" / "datasets"


def test_cache_dir_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("GCE_LAB_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "gce_lab"


def test_image_dataset_checks_its_arrays() -> None:
    x, y = torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.zeros(4, dtype=torch.int64)
    with pytest.raises(ValueError, match="x_train must be a uint8 tensor"):
        ImageDataset("cifar10", x.float(), y, x, y, ["a", "b"], "synthetic")
    with pytest.raises(ValueError, match="y_test must contain integers in"):
        ImageDataset("cifar10", x, y, x, y + 2, ["a", "b"], "synthetic")


# ----------------------------------------------------------------------------- file sources


def test_jpeg_snapshot_is_decoded_once_and_cached_outside_the_data_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    arrays = _write_fake_jpeg_snapshot(root / "cifar10_jpeg.npz")
    ds = load_dataset("cifar10", root=root)
    assert ds.source == "snapshot:cifar10_jpeg" and ds.display_name == "CIFAR-10-JPEG"
    assert ds.x_train.shape == (12, 3, 32, 32) and ds.x_test.shape == (6, 3, 32, 32)
    np.testing.assert_array_equal(ds.x_train[5].numpy(), _pillow_decode(arrays, "train", 5))
    np.testing.assert_array_equal(ds.x_test[2].numpy(), _pillow_decode(arrays, "test", 2))
    np.testing.assert_array_equal(ds.y_train.numpy(), arrays["y_train"])
    assert sorted(p.name for p in root.iterdir()) == ["cifar10_jpeg.npz"]  # nothing written next to it
    cached = list((tmp_path / "cache").iterdir())
    assert len(cached) == 1 and cached[0].name.startswith("cifar10_jpeg-") and cached[0].suffix == ".npz"

    def no_decoding(*_: object) -> None:
        raise AssertionError("the second load must come from the cache")

    monkeypatch.setattr(data_files, "_decode_jpegs", no_decoding)
    again = load_dataset("cifar10", root=root, source="snapshot:cifar10_jpeg")
    assert torch.equal(again.x_train, ds.x_train) and torch.equal(again.y_test, ds.y_test)


def test_torchvision_files_give_the_same_form(tmp_path: Path) -> None:
    arrays = _write_fake_torchvision_fashion(tmp_path)
    ds = load_dataset("fashion_mnist", root=tmp_path)  # auto: no snapshot, torchvision files present
    assert ds.source == "torchvision" and ds.display_name == "Fashion-MNIST"
    assert ds.x_train.shape == (20, 1, 28, 28) and ds.x_train.dtype == torch.uint8
    np.testing.assert_array_equal(ds.x_train[:, 0].numpy(), arrays["x_train"])
    np.testing.assert_array_equal(ds.y_test.numpy(), arrays["y_test"])
    assert ds.y_train.dtype == torch.int64 and ds.classes == FASHION_CLASSES
    # with a snapshot present as well, auto prefers the snapshot
    np.savez(
        tmp_path / "fashion_mnist.npz",
        x_train=arrays["x_train"][:4],
        y_train=arrays["y_train"][:4],
        x_test=arrays["x_test"][:2],
        y_test=arrays["y_test"][:2],
        classes=np.array(FASHION_CLASSES),
    )
    snap = load_dataset("fashion_mnist", root=tmp_path)
    assert snap.source == "snapshot:fashion_mnist" and snap.x_train.shape == (4, 1, 28, 28)
    assert torch.equal(snap.x_train, ds.x_train[:4])
    assert load_dataset("fashion_mnist", root=tmp_path, source="torchvision").source == "torchvision"


@pytest.mark.skipif(
    not (SHARED / "fashion_mnist.npz").is_file(), reason=f"no offline Fashion-MNIST snapshot in the data root {SHARED}"
)
def test_real_fashion_mnist_snapshot() -> None:
    ds = load_dataset("fashion_mnist", root=SHARED)
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert ds.x_train.dtype == torch.uint8 and ds.y_train.dtype == torch.int64
    assert torch.bincount(ds.y_train).tolist() == [6000] * 10
    assert torch.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.classes == FASHION_CLASSES and ds.display_name == "Fashion-MNIST"


@pytest.mark.skipif(
    not (SHARED / "cifar10_jpeg.npz").is_file(), reason=f"no offline CIFAR-10 snapshot in the data root {SHARED}"
)
def test_real_cifar10_jpeg_snapshot() -> None:
    """Decodes 60 000 JPEGs into the temporary cache (a few seconds), then reads it back."""
    ds = load_dataset("cifar10", root=SHARED)
    assert ds.x_train.shape == (50000, 3, 32, 32) and ds.x_test.shape == (10000, 3, 32, 32)
    assert ds.x_train.dtype == torch.uint8 and ds.y_train.dtype == torch.int64
    assert torch.bincount(ds.y_train).tolist() == [5000] * 10
    assert ds.classes[:3] == ["airplane", "automobile", "bird"] and ds.display_name == "CIFAR-10-JPEG"
    assert torch.equal(load_dataset("cifar10", root=SHARED).x_test, ds.x_test)
