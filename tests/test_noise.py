"""Tests for gce_lab.noise: noise models of Zhang & Sabuncu (2018), Sec. 3.1 / 4.2, and Table 2."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gce_lab.datasets import DATASET_INFO
from gce_lab.noise import (
    CLASS_MAPS,
    NoiseModel,
    empirical_transition,
    estimate_transition,
    make_noise,
    open_set_replace,
    train_val_split,
)
from gce_lab.transition import estimate_transition as estimate_transition_original

# Official class orders (torchvision / data set READMEs).
CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def balanced_labels(num_classes: int, per_class: int, seed: int = 0) -> np.ndarray:
    labels = np.repeat(np.arange(num_classes), per_class)
    return np.random.default_rng(seed).permutation(labels)


# --- class maps (Sec. 4.2) -------------------------------------------------------------------


def test_cifar10_map_matches_paper_by_class_name() -> None:
    i = CIFAR10.index
    expected = {
        i("truck"): i("automobile"),
        i("bird"): i("airplane"),
        i("deer"): i("horse"),
        i("cat"): i("dog"),
        i("dog"): i("cat"),
    }
    assert CLASS_MAPS["cifar10"] == expected


def test_fashion_mnist_map_matches_paper_by_class_name() -> None:
    i = FASHION.index
    expected = {
        i("Ankle boot"): i("Sneaker"),
        i("Sneaker"): i("Sandal"),
        i("Pullover"): i("Shirt"),
        i("Coat"): i("Dress"),
        i("Dress"): i("Coat"),
    }
    assert CLASS_MAPS["fashion_mnist"] == expected


def test_cifar100_map_is_next_class_circularly() -> None:
    mapping = CLASS_MAPS["cifar100"]
    assert sorted(mapping) == list(range(100))
    assert all(mapping[k] == k + 1 for k in range(99))
    assert mapping[99] == 0


def test_the_registry_gives_each_data_set_its_classes_and_shape() -> None:
    assert {name: info.num_classes for name, info in DATASET_INFO.items()} == {
        "cifar10": 10,
        "cifar100": 100,
        "fashion_mnist": 10,
    }
    assert DATASET_INFO["fashion_mnist"].image_shape == (1, 28, 28) and DATASET_INFO["cifar10"].title == "CIFAR-10"
    assert DATASET_INFO["fashion_mnist"].classes[9] == "Ankle boot"


# --- transition matrices (Sec. 3.1) ------------------------------------------------------------


def test_uniform_transition_matrix() -> None:
    T = make_noise("uniform", 0.4, "cifar10").transition_matrix()
    assert T.shape == (10, 10)
    np.testing.assert_allclose(np.diag(T), 0.6)
    off = T[~np.eye(10, dtype=bool)]
    np.testing.assert_allclose(off, 0.4 / 9)
    np.testing.assert_allclose(T.sum(axis=1), 1.0)


def test_uniform_at_bound_is_all_one_over_c() -> None:
    T = make_noise("uniform", 0.9, "cifar10").transition_matrix()
    np.testing.assert_allclose(T, np.full((10, 10), 0.1))
    T = make_noise("uniform", 0.99, "cifar100").transition_matrix()
    np.testing.assert_allclose(T, np.full((100, 100), 0.01))


def test_class_dependent_transition_matrix_cifar10() -> None:
    eta = 0.3
    T = make_noise("class_dependent", eta, "cifar10").transition_matrix()
    i = CIFAR10.index
    expected = np.eye(10)
    for src, dst in [("truck", "automobile"), ("bird", "airplane"), ("deer", "horse"), ("cat", "dog"), ("dog", "cat")]:
        expected[i(src), i(src)] = 1 - eta
        expected[i(src), i(dst)] = eta
    np.testing.assert_allclose(T, expected)
    # untouched classes keep their label surely
    for name in ["airplane", "automobile", "frog", "horse", "ship"]:
        assert T[i(name), i(name)] == 1.0


def test_class_dependent_transition_matrix_cifar100_and_fashion() -> None:
    T = make_noise("class_dependent", 0.2, "cifar100").transition_matrix()
    assert T.shape == (100, 100)
    np.testing.assert_allclose(np.diag(T), 0.8)
    np.testing.assert_allclose(T[np.arange(100), (np.arange(100) + 1) % 100], 0.2)
    assert T[99, 0] == pytest.approx(0.2)
    assert np.count_nonzero(T) == 200

    T = make_noise("class_dependent", 0.4, "fashion_mnist").transition_matrix()
    i = FASHION.index
    assert T[i("Ankle boot"), i("Sneaker")] == pytest.approx(0.4)
    assert T[i("Sneaker"), i("Sandal")] == pytest.approx(0.4)
    assert T[i("Coat"), i("Dress")] == pytest.approx(0.4)
    assert T[i("Dress"), i("Coat")] == pytest.approx(0.4)
    assert T[i("Sandal"), i("Sandal")] == 1.0  # a target only, never flipped itself
    np.testing.assert_allclose(T.sum(axis=1), 1.0)


def test_none_is_identity() -> None:
    model = make_noise("none", 0.0, "cifar10")
    np.testing.assert_array_equal(model.transition_matrix(), np.eye(10))


# --- corruption -------------------------------------------------------------------------------


def test_uniform_corruption_realises_rate_and_matrix() -> None:
    model = make_noise("uniform", 0.4, "cifar10")
    true = balanced_labels(10, 5000)
    noisy = model.corrupt(true, seed=1)
    assert noisy.labels.dtype == np.int64 and noisy.labels.shape == true.shape
    np.testing.assert_array_equal(noisy.is_noisy, noisy.labels != true)
    assert noisy.realised_rate == pytest.approx(float(np.mean(noisy.labels != true)))
    assert abs(noisy.realised_rate - 0.4) < 0.01  # std ~0.0022 for 50k labels
    emp = empirical_transition(true, noisy.labels, 10)
    # each entry from 5000 draws: std <= 0.007 on the diagonal, ~0.003 off it
    np.testing.assert_allclose(emp, model.transition_matrix(), atol=0.025)


def test_uniform_flips_only_to_other_classes_uniformly() -> None:
    model = make_noise("uniform", 0.8, "cifar10")
    true = balanced_labels(10, 5000)
    noisy = model.corrupt(true, seed=3)
    flipped_targets = noisy.labels[noisy.is_noisy & (true == 4)]
    counts = np.bincount(flipped_targets, minlength=10)
    assert counts[4] == 0
    share = counts[np.arange(10) != 4] / counts.sum()
    np.testing.assert_allclose(share, 1 / 9, atol=0.02)


def test_class_dependent_corruption_cifar10() -> None:
    model = make_noise("class_dependent", 0.3, "cifar10")
    true = balanced_labels(10, 5000)
    noisy = model.corrupt(true, seed=7)
    emp = empirical_transition(true, noisy.labels, 10)
    np.testing.assert_allclose(emp, model.transition_matrix(), atol=0.025)
    # allowed transitions only: the exact support of T
    assert np.all(emp[model.transition_matrix() == 0] == 0)
    # five of ten classes flip with prob. 0.3 -> overall rate 0.15
    assert abs(noisy.realised_rate - 0.15) < 0.01


def test_class_dependent_corruption_cifar100_circular() -> None:
    model = make_noise("class_dependent", 0.4, "cifar100")
    true = balanced_labels(100, 500)
    noisy = model.corrupt(true, seed=0)
    changed = noisy.is_noisy
    np.testing.assert_array_equal(noisy.labels[changed], (true[changed] + 1) % 100)
    assert abs(noisy.realised_rate - 0.4) < 0.01
    assert np.any(noisy.labels[true == 99] == 0)


def test_none_and_zero_eta_leave_labels_unchanged() -> None:
    true = balanced_labels(10, 100)
    for model in [
        make_noise("none", 0.0, "cifar10"),
        make_noise("uniform", 0.0, "cifar10"),
        make_noise("class_dependent", 0.0, "fashion_mnist"),
    ]:
        noisy = model.corrupt(true, seed=5)
        np.testing.assert_array_equal(noisy.labels, true)
        assert noisy.realised_rate == 0.0
        assert not noisy.is_noisy.any()


def test_corruption_is_reproducible_and_seed_dependent() -> None:
    model = make_noise("uniform", 0.4, "cifar10")
    true = balanced_labels(10, 1000)
    a = model.corrupt(true, seed=11)
    b = model.corrupt(true, seed=11)
    c = model.corrupt(true, seed=12)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert np.mean(a.labels != c.labels) > 0.3


def test_corrupt_accepts_tensor_and_list_and_keeps_input() -> None:
    model = make_noise("uniform", 0.5, num_classes=3)
    true = np.array([0, 1, 2, 2, 1, 0] * 10)
    before = true.copy()
    from_numpy = model.corrupt(true, seed=2)
    np.testing.assert_array_equal(true, before)
    from_tensor = model.corrupt(torch.from_numpy(true), seed=2)
    from_list = model.corrupt(true.tolist(), seed=2)
    np.testing.assert_array_equal(from_numpy.labels, from_tensor.labels)
    np.testing.assert_array_equal(from_numpy.labels, from_list.labels)


def test_corrupt_is_fast_for_cifar100_sized_input() -> None:
    import time

    model = make_noise("uniform", 0.6, "cifar100")
    true = balanced_labels(100, 500)
    start = time.perf_counter()
    model.corrupt(true, seed=0)
    assert time.perf_counter() - start < 1.0


# --- names -----------------------------------------------------------------------------------


def test_names_and_descriptions() -> None:
    assert make_noise("uniform", 0.4, "cifar10").name == "uniform0.4"
    assert make_noise("class_dependent", 0.2, "cifar100").name == "class_dependent0.2"
    assert make_noise("none", 0, "cifar10").name == "none"
    assert str(make_noise("uniform", 0.4, "cifar10")) == "uniform η=0.4"
    assert make_noise("class_dependent", 0.1, "fashion_mnist").describe() == "class_dependent η=0.1"


def test_noise_model_is_frozen_and_normalised() -> None:
    model = make_noise("uniform", np.float32(0.5), "cifar10")
    assert isinstance(model.eta, float)
    with pytest.raises(AttributeError):
        model.eta = 0.1  # type: ignore[misc]


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "eta", "dataset", "fragment"),
    [
        ("uniform", 0.95, "cifar10", "[0, 0.9]"),
        ("uniform", -0.1, "cifar10", "[0, 0.9]"),
        ("uniform", 0.995, "cifar100", "[0, 0.99]"),
        ("class_dependent", 0.5, "cifar10", "[0, 0.5)"),
        ("class_dependent", -0.01, "fashion_mnist", "[0, 0.5)"),
        ("none", 0.1, "cifar10", "[0, 0]"),
        ("uniform", float("nan"), "cifar10", "eta"),
        ("uniform", "0.4", "cifar10", "eta"),
    ],
)
def test_bad_eta(kind: str, eta: float, dataset: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="eta") as info:
        make_noise(kind, eta, dataset)
    assert fragment in str(info.value)


def test_bad_kind_dataset_and_num_classes() -> None:
    with pytest.raises(ValueError, match="kind.*'uniform'"):
        make_noise("symmetric", 0.2, "cifar10")
    with pytest.raises(ValueError, match="dataset.*'cifar10'"):
        make_noise("uniform", 0.2, "mnist")
    with pytest.raises(ValueError, match="dataset"):
        make_noise("class_dependent", 0.2)
    with pytest.raises(ValueError, match="dataset"):
        make_noise("class_dependent", 0.2, num_classes=10)
    with pytest.raises(ValueError, match="num_classes"):
        make_noise("uniform", 0.2)
    with pytest.raises(ValueError, match="num_classes"):
        make_noise("uniform", 0.2, "cifar10", num_classes=100)
    with pytest.raises(ValueError, match="num_classes"):
        make_noise("uniform", 0.0, num_classes=1)
    with pytest.raises(ValueError, match="kind"):
        NoiseModel(kind="flip", eta=0.1, num_classes=10)
    with pytest.raises(ValueError, match=r"eta.*\[0, 0.5\)"):
        NoiseModel(kind="class_dependent", eta=0.6, num_classes=10, dataset="cifar10")


def test_corrupt_rejects_bad_labels_and_seed() -> None:
    model = make_noise("uniform", 0.2, "cifar10")
    with pytest.raises(ValueError, match=r"labels.*\[0, 10\)"):
        model.corrupt(np.array([0, 3, 10]), seed=0)
    with pytest.raises(ValueError, match=r"labels.*\[0, 10\)"):
        model.corrupt(np.array([-1, 3]), seed=0)
    with pytest.raises(ValueError, match="labels.*integer"):
        model.corrupt(np.array([0.0, 1.5]), seed=0)
    with pytest.raises(ValueError, match="labels.*1-D"):
        model.corrupt(np.zeros((2, 3), dtype=np.int64), seed=0)
    with pytest.raises(ValueError, match="seed"):
        model.corrupt(np.array([0, 1]), seed=-1)
    with pytest.raises(ValueError, match="seed"):
        model.corrupt(np.array([0, 1]), seed=1.5)  # type: ignore[arg-type]


def test_empirical_transition_rejects_mismatch() -> None:
    with pytest.raises(ValueError, match="noisy_labels"):
        empirical_transition(np.array([0, 1]), np.array([0, 1, 1]), 2)
    with pytest.raises(ValueError, match="true_labels"):
        empirical_transition(np.array([0, 2]), np.array([0, 1]), 2)


# --- train/validation split (Sec. 4) -----------------------------------------------------------


def test_train_val_split_paper_sizes() -> None:
    train, val = train_val_split(50_000, 0.1, seed=0)
    assert train.size == 45_000 and val.size == 5_000
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    assert np.intersect1d(train, val).size == 0
    np.testing.assert_array_equal(np.union1d(train, val), np.arange(50_000))
    assert train.dtype == np.int64 and val.dtype == np.int64


def test_train_val_split_reproducible_and_seeded() -> None:
    a = train_val_split(1000, 0.2, seed=3)
    b = train_val_split(1000, 0.2, seed=3)
    c = train_val_split(1000, 0.2, seed=4)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert a[1].size == 200
    assert train_val_split(10, 0.0)[1].size == 0


@pytest.mark.parametrize("fraction", [1.0, -0.1, 1.5, float("nan")])
def test_train_val_split_bad_fraction(fraction: float) -> None:
    with pytest.raises(ValueError, match=r"val_fraction.*\[0, 1\)"):
        train_val_split(100, fraction)


def test_train_val_split_bad_sizes() -> None:
    with pytest.raises(ValueError, match="num_samples"):
        train_val_split(0)
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(2, 0.9)  # rounds to 2 validation samples, none left to train
    with pytest.raises(ValueError, match="seed"):
        train_val_split(100, 0.1, seed=-3)


# --- open-set noise (Table 2) ----------------------------------------------------------------


def marked_images(n: int, marker: int) -> np.ndarray:
    """uint8 (n, 3, 4, 4) images; pixel (0,0) channels 0/1 encode the index, channel 2 a marker."""
    images = np.zeros((n, 3, 4, 4), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(n) // 256
    images[:, 1, 0, 0] = np.arange(n) % 256
    images[:, 2, 0, 0] = marker
    return images


def decode(images: np.ndarray) -> np.ndarray:
    return images[:, 0, 0, 0].astype(np.int64) * 256 + images[:, 1, 0, 0]


def test_open_set_replace_numpy() -> None:
    labels = balanced_labels(10, 50)
    images = marked_images(500, marker=0)
    other = marked_images(1000, marker=1)
    before = images.copy()
    result = open_set_replace(images, labels, other, eta=0.4, seed=0, num_classes=10)
    np.testing.assert_array_equal(images, before)  # input untouched
    np.testing.assert_array_equal(result.labels, labels)
    assert result.is_open_set.sum() == 200 and result.realised_rate == pytest.approx(0.4)
    # equal shares: 20 per class
    np.testing.assert_array_equal(np.bincount(labels[result.is_open_set], minlength=10), 20)
    np.testing.assert_array_equal(np.flatnonzero(result.is_open_set), result.replaced_indices)
    # replaced rows are exactly the chosen foreign images, all distinct
    np.testing.assert_array_equal(result.images[result.replaced_indices], other[result.source_indices])
    assert np.unique(result.source_indices).size == 200
    assert np.all(result.images[result.is_open_set, 2, 0, 0] == 1)
    # the other rows are unchanged
    keep = ~result.is_open_set
    np.testing.assert_array_equal(result.images[keep], images[keep])
    np.testing.assert_array_equal(decode(result.images[keep]), np.flatnonzero(keep))


def test_open_set_replace_torch_and_reproducible() -> None:
    labels = torch.from_numpy(balanced_labels(10, 30))
    images = torch.from_numpy(marked_images(300, marker=0))
    other = torch.from_numpy(marked_images(400, marker=7))
    a = open_set_replace(images, labels, other, eta=0.5, seed=9, num_classes=10)
    b = open_set_replace(images, labels, other, eta=0.5, seed=9, num_classes=10)
    c = open_set_replace(images, labels, other, eta=0.5, seed=10, num_classes=10)
    assert isinstance(a.images, torch.Tensor) and a.images.dtype == torch.uint8
    assert torch.equal(a.images, b.images)
    assert not np.array_equal(a.replaced_indices, c.replaced_indices)
    assert a.is_open_set.sum() == 150
    assert torch.all(images[:, 2, 0, 0] == 0)  # input untouched
    assert torch.equal(a.images[torch.from_numpy(a.replaced_indices)], other[torch.from_numpy(a.source_indices)])
    # numpy foreign images are accepted for torch images
    d = open_set_replace(images, labels, other.numpy(), eta=0.5, seed=9, num_classes=10)
    assert torch.equal(a.images, d.images)


def test_open_set_replace_per_class_rounding() -> None:
    labels = np.array([0] * 10 + [1] * 30 + [2] * 5)
    images = marked_images(45, 0)
    result = open_set_replace(images, labels, marked_images(100, 1), eta=0.5, seed=0, num_classes=3)
    np.testing.assert_array_equal(np.bincount(labels[result.is_open_set], minlength=3), [5, 15, 3])
    none = open_set_replace(images, labels, marked_images(100, 1), eta=0.0, seed=0, num_classes=3)
    assert not none.is_open_set.any()
    np.testing.assert_array_equal(none.images, images)


def test_open_set_replace_bad_input() -> None:
    labels = balanced_labels(10, 10)
    images = marked_images(100, 0)
    other = marked_images(100, 1)
    with pytest.raises(ValueError, match=r"eta.*\[0, 1\]"):
        open_set_replace(images, labels, other, eta=1.2, seed=0, num_classes=10)
    with pytest.raises(ValueError, match="other_images.*at least 60"):
        open_set_replace(images, labels, other[:50], eta=0.6, seed=0, num_classes=10)
    with pytest.raises(ValueError, match="other_images.*shape"):
        open_set_replace(images, labels, np.zeros((100, 3, 5, 5), np.uint8), 0.2, 0, 10)
    with pytest.raises(ValueError, match="other_images.*dtype"):
        open_set_replace(images, labels, other.astype(np.float32), 0.2, 0, 10)
    with pytest.raises(ValueError, match="images.*one row per label"):
        open_set_replace(images[:99], labels, other, 0.2, 0, 10)
    with pytest.raises(ValueError, match=r"labels.*\[0, 5\)"):
        open_set_replace(images, labels, other, 0.2, 0, 5)
    with pytest.raises(ValueError, match="images.*numpy array or torch tensor"):
        open_set_replace(images.tolist(), labels, other, 0.2, 0, 10)  # type: ignore[arg-type]


def test_estimate_transition_is_reexported() -> None:
    assert estimate_transition is estimate_transition_original


@pytest.mark.parametrize(
    ("kind", "dataset", "eta", "realised"),
    [
        ("uniform", "cifar10", 0.5, 0.5),  # never redraws the true class: nominal = realised
        ("class_dependent", "cifar10", 0.4, 0.2),  # half the classes are untouched
        ("class_dependent", "fashion_mnist", 0.4, 0.2),
        ("class_dependent", "cifar100", 0.4, 0.4),
    ],
)
def test_nominal_against_realised_rate_of_every_closed_set_model(kind, dataset, eta, realised):
    """Nominal vs realised (LiJunnan1992/DivideMix#29, cleanlab#977; chapter 5 shows the table)."""
    model = make_noise(kind, eta, dataset)
    labels = np.repeat(np.arange(model.num_classes), 50_000 // model.num_classes)
    assert abs(model.corrupt(labels, seed=0).realised_rate - realised) < 0.01
    # the expected rate of a matrix on balanced classes is the mean of 1 - T_ii
    assert float(np.mean(1 - np.diag(model.transition_matrix()))) == pytest.approx(realised)


def test_the_redraw_any_class_convention_realises_less_than_nominal():
    """The convention of DivideMix#29: 50 % nominal, a label drawn from all 10 classes, 45 % realised."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 5000)
    noisy = np.where(rng.random(labels.size) < 0.5, rng.integers(0, 10, labels.size), labels)
    assert abs(np.mean(noisy != labels) - 0.45) < 0.01
    ours = make_noise("uniform", 0.5, num_classes=10).corrupt(labels, seed=0).realised_rate
    assert abs(ours - 0.5) < 0.01
