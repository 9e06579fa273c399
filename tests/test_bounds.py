"""Tests for gce_lab.bounds (Eq. 7, 8 and 10 of Zhang & Sabuncu 2018).

The reference values are computed here from first principles (plain numpy sums over explicit
probability vectors and explicit expectations over noisy labels), never from the module's
closed forms, so a wrong formula in the module makes a test fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gce_lab.bounds import (
    lq_sum,
    lq_sum_bounds,
    noise_tolerance_constant,
    noisy_risk_minimizer,
    truncated_lq_sum,
    truncated_lq_sum_bounds,
    truncated_lq_sum_minimum,
    truncation_tightens,
)

QS = [0.05, 0.3, 0.5, 0.7, 0.9, 1.0]
CS = [2, 3, 10, 100]


def lq_ref(p: np.ndarray, q: float) -> np.ndarray:
    """Eq. 6 written out, elementwise."""
    p = np.asarray(p, dtype=np.float64)
    if q == 0:
        with np.errstate(divide="ignore"):
            return -np.log(p)
    return (1.0 - p**q) / q


def trunc_ref(p: np.ndarray, q: float, k: float) -> np.ndarray:
    """Eq. 9 written out with an explicit branch, elementwise."""
    p = np.asarray(p, dtype=np.float64)
    return np.where(p <= k, lq_ref(np.array(k), q), lq_ref(p, q))


def random_simplex(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    """Dirichlet vectors with concentrations from very peaked to nearly uniform."""
    alphas = rng.choice([0.05, 0.3, 1.0, 5.0, 50.0], size=n)
    return np.stack([rng.dirichlet(np.full(c, a)) for a in alphas])


def one_hot(c: int, j: int = 0) -> np.ndarray:
    v = np.zeros(c)
    v[j] = 1.0
    return v


def uniform(c: int) -> np.ndarray:
    return np.full(c, 1.0 / c)


def noisy_risk_ref(f: np.ndarray, y: int, eta: float, q: float) -> float:
    """E over the noisy label of L_q(f, noisy label), with T built explicitly for uniform noise."""
    c = f.size
    T = np.full((c, c), eta / (c - 1))
    np.fill_diagonal(T, 1.0 - eta)
    return float(np.sum(T[y] * lq_ref(f, q)))


# --------------------------------------------------------------------------- Eq. 7
@pytest.mark.parametrize("q", QS + [0.0])
def test_lq_sum_matches_brute_force(q):
    rng = np.random.default_rng(0)
    probs = random_simplex(rng, 50, 7)
    np.testing.assert_allclose(lq_sum(probs, q), lq_ref(probs, q).sum(axis=1), rtol=1e-10)
    assert lq_sum(probs[0], q).shape == ()


@pytest.mark.parametrize("c", CS)
@pytest.mark.parametrize("q", QS)
def test_eq7_bounds_hold_on_random_vectors_and_are_attained(c, q):
    rng = np.random.default_rng(c)
    lower, upper = lq_sum_bounds(c, q)
    sums = lq_ref(random_simplex(rng, 200, c), q).sum(axis=1)
    assert np.all(sums >= lower - 1e-9) and np.all(sums <= upper + 1e-9)
    # the uniform vector attains the lower bound, a one-hot vector the upper bound
    assert lower == pytest.approx(lq_ref(uniform(c), q).sum(), rel=1e-10)
    assert upper == pytest.approx(lq_ref(one_hot(c, c - 1), q).sum(), rel=1e-10)


def test_eq7_limits():
    assert lq_sum_bounds(10, 0.0) == (pytest.approx(10 * math.log(10)), math.inf)
    lower, upper = lq_sum_bounds(10, 1e-9)
    assert lower == pytest.approx(10 * math.log(10), rel=1e-6) and upper == pytest.approx(9e9)
    assert lq_sum_bounds(10, 1.0) == (pytest.approx(9.0), pytest.approx(9.0))  # MAE is symmetric


# --------------------------------------------------------------------------- Eq. 8
def a_from_risk_decomposition(eta: float, q: float, c: int) -> float:
    """A from first principles, without the paper's closed form.

    Noisy risk at one input: sum_j T[y, j] L(f, j) = (1 - eta c/(c-1)) L(f, y) + eta/(c-1) S(f)
    with S(f) = sum_j L(f, j). From R^eta(f_hat) <= R^eta(f*):
    (1 - eta c/(c-1)) (R(f_hat) - R(f*)) <= eta/(c-1) (S(f*) - S(f_hat)) <= eta/(c-1) (max S - min S),
    where max S / min S are evaluated at their worst-case vectors (one-hot / uniform).
    """
    coefficient = 1.0 - eta * c / (c - 1)
    width = lq_ref(one_hot(c), q).sum() - lq_ref(uniform(c), q).sum()
    return eta / (c - 1) * width / coefficient


def test_risk_decomposition_used_for_a():
    rng = np.random.default_rng(1)
    for f in random_simplex(rng, 20, 6):
        for eta, q in [(0.2, 0.7), (0.5, 0.3)]:
            lhs = noisy_risk_ref(f, 2, eta, q)
            rhs = (1 - eta * 6 / 5) * lq_ref(f[2], q) + eta / 5 * lq_ref(f, q).sum()
            assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize("c", CS)
@pytest.mark.parametrize("q", QS)
@pytest.mark.parametrize("rel_eta", [0.0, 0.25, 0.5, 0.9])
def test_a_matches_independent_computation(c, q, rel_eta):
    eta = rel_eta * (1 - 1 / c)
    assert noise_tolerance_constant(eta, q, c) == pytest.approx(
        a_from_risk_decomposition(eta, q, c), rel=1e-9, abs=1e-12
    )


def test_a_known_value_and_special_cases():
    assert noise_tolerance_constant(0.4, 0.7, 10) == pytest.approx(0.4 / 0.7 * (10**0.3 - 1) / 5, rel=1e-12)
    assert noise_tolerance_constant(0.4, 1.0, 10) == 0.0  # MAE: A = 0
    assert noise_tolerance_constant(0.0, 0.3, 10) == 0.0  # no noise
    assert noise_tolerance_constant(0.4, 0.0, 10) == math.inf  # CCE limit
    assert noise_tolerance_constant(0.9, 0.7, 10) == math.inf  # eta = 1 - 1/c: no information left
    assert noise_tolerance_constant(0.4, 1e-8, 10) > 1e6


@pytest.mark.parametrize("c", [2, 10, 100])
def test_a_monotone_in_q_and_eta(c):
    qs = np.linspace(0.01, 1.0, 60)
    for eta in [0.1, 0.3, 0.5 * (1 - 1 / c)]:
        values = [noise_tolerance_constant(eta, q, c) for q in qs]
        assert np.all(np.diff(values) < 0) and values[-1] == 0.0
    etas = np.linspace(0.0, 0.95 * (1 - 1 / c), 30)
    values = [noise_tolerance_constant(eta, 0.5, c) for eta in etas]
    assert np.all(np.diff(values) > 0) and values[0] == 0.0


@pytest.mark.parametrize("c", [2, 10])
@pytest.mark.parametrize("q", [0.0, 0.3, 0.7, 1.0])
@pytest.mark.parametrize("eta", [0.1, 0.4])
def test_noisy_risk_minimizer_is_the_minimum_and_respects_a(c, q, eta):
    rng = np.random.default_rng(2)
    f_hat = noisy_risk_minimizer(eta, q, c, label=1)
    assert f_hat.sum() == pytest.approx(1.0) and np.argmax(f_hat) == 1
    best = noisy_risk_ref(f_hat, 1, eta, q)
    # no random vector, and no point on a fine grid of the symmetric family, does better
    candidates = np.concatenate([random_simplex(rng, 300, c), [one_hot(c, 1), uniform(c)]])
    assert all(noisy_risk_ref(f, 1, eta, q) >= best - 1e-12 for f in candidates)
    for p in np.linspace(1 / c, 1 - 1e-9, 2001):
        f = np.full(c, (1 - p) / (c - 1))
        f[1] = p
        assert noisy_risk_ref(f, 1, eta, q) >= best - 1e-12
    # the excess clean risk of f_hat over f* = one-hot is within Eq. 8's A
    assert lq_ref(f_hat[1], q) <= noise_tolerance_constant(eta, q, c) + 1e-12


def test_noisy_risk_minimizer_limits():
    np.testing.assert_allclose(noisy_risk_minimizer(0.3, 0.0, 4)[0], 0.7)  # CCE fits the noisy posterior
    np.testing.assert_allclose(noisy_risk_minimizer(0.3, 1.0, 4), one_hot(4))  # MAE ignores the noise
    np.testing.assert_allclose(noisy_risk_minimizer(0.75, 0.5, 4), uniform(4))


# --------------------------------------------------------------------------- Eq. 9-10
@pytest.mark.parametrize("q", [0.0, 0.3, 0.7, 1.0])
@pytest.mark.parametrize("k", [0.1, 0.3, 0.5, 0.9])
def test_truncated_sum_matches_brute_force(q, k):
    rng = np.random.default_rng(3)
    probs = random_simplex(rng, 100, 10)
    np.testing.assert_allclose(truncated_lq_sum(probs, q, k), trunc_ref(probs, q, k).sum(axis=1), rtol=1e-10)


@pytest.mark.parametrize("c", [2, 3, 10, 100])
@pytest.mark.parametrize("q", [0.1, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("k", [0.5, 0.7, 0.95])
def test_eq10_holds_for_k_at_least_half_and_is_attained(c, q, k):
    rng = np.random.default_rng(4)
    lower, upper = truncated_lq_sum_bounds(c, q, k)
    sums = trunc_ref(random_simplex(rng, 200, c), q, k).sum(axis=1)
    assert np.all(sums >= lower - 1e-9) and np.all(sums <= upper + 1e-9)
    assert lower == pytest.approx(trunc_ref(one_hot(c), q, k).sum(), rel=1e-10)
    assert upper == pytest.approx(trunc_ref(uniform(c), q, k).sum(), rel=1e-10)


def test_eq10_lower_bound_fails_for_small_k():
    c, q, k = 10, 0.7, 0.1
    lower, _ = truncated_lq_sum_bounds(c, q, k)
    two_way = np.array([0.5, 0.5] + [0.0] * 8)
    assert trunc_ref(two_way, q, k).sum() < lower - 0.04
    minimum, m = truncated_lq_sum_minimum(c, q, k)
    assert m == 2 and minimum == pytest.approx(trunc_ref(two_way, q, k).sum(), rel=1e-12)


@pytest.mark.parametrize("c, k", [(c, k) for c in (3, 10) for k in (0.1, 0.2, 0.34, 0.5, 0.8) if k >= 1 / c])
@pytest.mark.parametrize("q", [0.0, 0.2, 0.7, 1.0])
def test_truncated_minimum_against_search(c, q, k):
    rng = np.random.default_rng(5)
    minimum, m = truncated_lq_sum_minimum(c, q, k)
    witness = np.zeros(c)
    witness[:m] = 1.0 / m
    assert trunc_ref(witness, q, k).sum() == pytest.approx(minimum, rel=1e-12)
    # nothing beats it: peaked random vectors and every "1/m on m classes" vector
    sums = trunc_ref(random_simplex(rng, 500, c), q, k).sum(axis=1)
    assert sums.min() >= minimum - 1e-9
    for mm in range(1, c + 1):
        v = np.zeros(c)
        v[:mm] = 1.0 / mm
        assert trunc_ref(v, q, k).sum() >= minimum - 1e-12
    if k >= 0.5:
        assert m == 1 and minimum == pytest.approx(truncated_lq_sum_bounds(c, q, k)[0])


@pytest.mark.parametrize("c", [2, 3, 10, 100])
@pytest.mark.parametrize("q", [0.05, 0.3, 0.5, 0.7, 0.9, 1.0])
@pytest.mark.parametrize("rel_k", [0.0, 0.3, 0.6, 1.0])
def test_truncation_tightens_compares_band_widths(c, q, rel_k):
    k = 1 / c + rel_k * (1 - 1 / c)
    width_eq7 = lq_ref(one_hot(c), q).sum() - lq_ref(uniform(c), q).sum()
    width_eq10 = float(lq_ref(np.array(k), q))
    if abs(width_eq10 - width_eq7) > 1e-9:
        assert truncation_tightens(c, q, k) == (width_eq10 < width_eq7)


def test_paper_claim_q_half():
    """Paper: for q = 0.5 the condition holds for every k >= 1/c and c >= 2."""
    for c in range(2, 60):
        for k in np.linspace(1 / c, 1, 25):
            assert truncation_tightens(c, 0.5, k)
    assert not truncation_tightens(10, 1.0, 0.5)  # MAE: nothing to tighten


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: noise_tolerance_constant(0.95, 0.7, 10), r"eta must be in \[0, 1 - 1/c\] = \[0, 0.9\]"),
        (lambda: noise_tolerance_constant(-0.1, 0.7, 10), r"eta must be in"),
        (lambda: noise_tolerance_constant(0.2, 1.5, 10), r"q must be in \[0, 1\]"),
        (lambda: noise_tolerance_constant(0.2, 0.7, 1), r"c \(the number of classes\) must be an integer >= 2"),
        (lambda: noise_tolerance_constant(0.2, 0.7, 2.5), r"c \(the number of classes\)"),
        (lambda: lq_sum_bounds(10, -0.1), r"q must be in \[0, 1\]"),
        (lambda: truncated_lq_sum_bounds(10, 0.7, 0.05), r"k must be in \[1/c, 1\] = \[0.1, 1\]"),
        (lambda: truncation_tightens(10, 0.7, 1.2), r"k must be in \[0, 1\]"),
        (lambda: lq_sum([0.5, 0.6], 0.7), r"probs must sum to 1"),
        (lambda: lq_sum([1.0], 0.7), r"probs must have shape \(\.\.\., C\) with at least one row and C >= 2"),
        (lambda: truncated_lq_sum([[-0.1, 1.1]], 0.7, 0.5), r"probs entries must be in \[0, 1\]"),
        (lambda: noisy_risk_minimizer(0.2, 0.7, 3, label=3), r"label must be an integer in \[0, 3\)"),
    ],
)
def test_invalid_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_boundary_values_are_accepted():
    assert noise_tolerance_constant(1 - 1 / 3, 0.5, 3) == math.inf
    assert truncated_lq_sum_bounds(3, 0.5, 1 / 3)[1] == pytest.approx(3 * (1 - (1 / 3) ** 0.5) / 0.5)


def test_eq10_lower_bound_fails_exactly_below_the_threshold():
    from gce_lab.bounds import eq10_lower_bound_threshold

    assert eq10_lower_bound_threshold(0.0) == 0.25 and eq10_lower_bound_threshold(1.0) == 0.0
    assert eq10_lower_bound_threshold(1e-6) == pytest.approx(0.25, abs=1e-6)
    assert all(eq10_lower_bound_threshold(q) < 0.25 for q in np.linspace(0.01, 1, 50))
    for c in (2, 3, 10, 100):
        for q in (0.1, 0.3, 0.7, 0.9):
            t = eq10_lower_bound_threshold(q)
            for k in np.linspace(1 / c, 1, 97):
                if abs(k - t) < 1e-6:
                    continue
                fails = truncated_lq_sum_minimum(c, q, k)[0] < truncated_lq_sum_bounds(c, q, k)[0] - 1e-12
                assert fails == (k < t), (c, q, k, t)
