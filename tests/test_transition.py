"""Tests for gce_lab.transition: the T̂ estimator of Patrini et al. (2017) on synthetic posteriors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gce_lab.noise import make_noise
from gce_lab.transition import estimate_transition, find_anchors


def synthetic_posteriors(
    T: np.ndarray, per_class: int, anchor_share: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy posteriors p(noisy | x) = p(clean | x) @ T for a known T.

    Each class has ``anchor_share`` of near-one-hot samples (clean prob. of their class in
    [0.995, 1)) and otherwise ambiguous samples (clean prob. of their class in [0.3, 0.7], the
    rest spread at random). Returns (noisy posteriors, true classes).
    """
    rng = np.random.default_rng(seed)
    c = T.shape[0]
    true = np.repeat(np.arange(c), per_class)
    n = true.size
    top = np.where(rng.random(n) < anchor_share, rng.uniform(0.995, 1.0, n), rng.uniform(0.3, 0.7, n))
    rest = rng.dirichlet(np.ones(c - 1), size=n) * (1 - top)[:, None]
    clean = np.empty((n, c))
    for k in range(c):
        rows = true == k
        clean[rows] = np.insert(rest[rows], k, top[rows], axis=1)
    assert np.allclose(clean.sum(axis=1), 1)
    return clean @ T, true


def test_exact_anchors_recover_T_exactly_without_filter() -> None:
    T = make_noise("class_dependent", 0.3, "cifar10").transition_matrix()
    probs, _ = synthetic_posteriors(T, per_class=200, anchor_share=0.2)
    probs = np.vstack([probs, T])  # one perfect anchor per class: p(noisy | x) = T[i]
    np.testing.assert_allclose(estimate_transition(probs, filter_outlier=False), T, atol=1e-12)


@pytest.mark.parametrize(
    ("kind", "eta", "dataset"),
    [("uniform", 0.4, "cifar10"), ("uniform", 0.8, "fashion_mnist"), ("class_dependent", 0.4, "cifar10")],
)
def test_filtered_estimate_recovers_T(kind: str, eta: float, dataset: str) -> None:
    T = make_noise(kind, eta, dataset).transition_matrix()
    probs, _ = synthetic_posteriors(T, per_class=500, anchor_share=0.5, seed=1)
    T_hat = estimate_transition(probs)
    np.testing.assert_allclose(T_hat.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(T_hat >= 0)
    # anchors have clean prob. >= 0.995, so every entry is within 0.005 of T
    np.testing.assert_allclose(T_hat, T, atol=0.006)


def test_filter_discards_overconfident_outliers() -> None:
    """Memorised noisy samples (one-hot outputs) fool the plain argmax, not the 97 % filter."""
    T = make_noise("uniform", 0.6, "cifar10").transition_matrix()
    probs, _ = synthetic_posteriors(T, per_class=500, anchor_share=0.5, seed=2)
    outliers = np.repeat(np.eye(10), 20, axis=0)  # 200 of 5200 samples (< 3 %) per column: 20
    probs = np.vstack([probs, outliers])
    plain = estimate_transition(probs, filter_outlier=False)
    filtered = estimate_transition(probs, filter_outlier=True)
    np.testing.assert_allclose(plain, np.eye(10))  # wrong: T has 0.4 on its diagonal
    np.testing.assert_allclose(filtered, T, atol=0.006)
    assert np.abs(filtered - T).sum() < 0.1 * np.abs(plain - T).sum()


def test_percentile_rule_matches_patrini_code() -> None:
    """np.percentile(..., 97, method='higher') and discarding values >= it, as in their code."""
    rng = np.random.default_rng(0)
    n = 100
    column = rng.permutation(np.linspace(0.01, 0.99, n))
    probs = np.stack([column, 1 - column], axis=1)
    order = np.argsort(column)  # ascending
    # 'higher' threshold = sorted[ceil(0.97 * 99)] = sorted[97]; values >= it (3 samples) go
    anchors = find_anchors(probs, filter_outlier=True)
    assert anchors[0] == order[96]
    assert anchors[1] == order[3]  # class 1 prob. = 1 - column: its top 3 are column's bottom 3
    assert find_anchors(probs, filter_outlier=False)[0] == order[-1]
    # a different percentile moves the cut: 90 -> sorted[ceil(0.9 * 99)] = sorted[90] -> anchor 89
    assert find_anchors(probs, percentile=90.0)[0] == order[89]


def test_matches_reference_implementation_on_random_input() -> None:
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.ones(6) * 0.3, size=1000)

    def reference(eta_corr: np.ndarray, filter_outlier: bool) -> np.ndarray:
        eta_corr = eta_corr.copy()
        c = eta_corr.shape[1]
        T = np.empty((c, c))
        for i in range(c):
            robust = eta_corr[:, i].copy()
            if filter_outlier:
                robust[robust >= np.percentile(robust, 97, method="higher")] = 0.0
            T[i] = eta_corr[int(np.argmax(robust))]
        return T / T.sum(axis=1, keepdims=True)

    for flag in (True, False):
        np.testing.assert_allclose(estimate_transition(probs, filter_outlier=flag), reference(probs, flag))


def test_input_not_modified_and_tensor_accepted() -> None:
    T = make_noise("uniform", 0.2, "cifar10").transition_matrix()
    probs, _ = synthetic_posteriors(T, per_class=100, anchor_share=0.5)
    before = probs.copy()
    T_hat = estimate_transition(probs)
    np.testing.assert_array_equal(probs, before)
    T_hat_tensor = estimate_transition(torch.from_numpy(probs).float())
    assert isinstance(T_hat_tensor, np.ndarray) and T_hat_tensor.dtype == np.float64
    np.testing.assert_allclose(T_hat_tensor, T_hat, atol=1e-6)


def test_rows_renormalised() -> None:
    probs = np.array([[0.7, 0.3], [0.2, 0.8]]) * (1 + 5e-5)  # rows off by 5e-5, within tolerance
    T_hat = estimate_transition(probs, filter_outlier=False)
    np.testing.assert_allclose(T_hat, [[0.7, 0.3], [0.2, 0.8]], atol=1e-12)


@pytest.mark.parametrize(
    ("probs", "fragment"),
    [
        (np.array([0.5, 0.5]), "shape"),  # 1-D
        (np.ones((4, 1)), "shape"),  # C = 1
        (np.empty((0, 3)), "shape"),  # N = 0
        (np.array([[0.5, 0.6], [0.5, 0.5]]), "sum to 1"),
        (np.array([[1.2, -0.2], [0.5, 0.5]]), r"\[0, 1\]"),
        (np.array([[np.nan, 0.5], [0.5, 0.5]]), "finite"),
        (np.array([["a", "b"]]), "probs"),
        (np.array([[2.0, 3.0], [1.0, 4.0]]), r"\[0, 1\]"),  # logits, not probabilities
    ],
)
def test_bad_probs(probs: np.ndarray, fragment: str) -> None:
    with pytest.raises(ValueError, match="probs") as info:
        estimate_transition(probs)
    assert info.match(fragment)


@pytest.mark.parametrize("percentile", [0.0, -5.0, 100.5, float("nan"), "97"])
def test_bad_percentile(percentile: float) -> None:
    probs = np.array([[0.6, 0.4], [0.3, 0.7]])
    with pytest.raises(ValueError, match=r"percentile.*\(0, 100\]"):
        estimate_transition(probs, percentile=percentile)
