"""Closed forms behind the noise-tolerance analysis of Zhang & Sabuncu (2018), Section 3.

Notation: ``c`` classes, a softmax output ``f`` (a probability vector of length ``c``), the
L_q loss of Eq. 6, ``L_q(f, e_j) = (1 - f_j^q) / q`` with ``q`` in ``[0, 1]`` (``q = 0`` is the
limit ``-log f_j``, i.e. CCE) and its truncated version of Eq. 9,
``L_trunc(f, e_j) = L_q(k)`` if ``f_j <= k`` else ``L_q(f_j)``.

* :func:`lq_sum` and :func:`lq_sum_bounds`: the sum of L_q over all labels and its range, Eq. 7.
* :func:`noise_tolerance_constant`: the constant ``A`` of Eq. 8 (uniform noise).
* :func:`noisy_risk_minimizer`: the exact minimiser of the noisy L_q risk at one input, which
  gives the *actual* worst-case excess clean risk that ``A`` bounds.
* :func:`truncated_lq_sum`, :func:`truncated_lq_sum_bounds` (Eq. 10),
  :func:`truncated_lq_sum_minimum` (the exact minimum of the sum) and
  :func:`truncation_tightens` (the condition ``k^q > 2 - c (1/c)^q``).

Everything is plain float64 numpy; the per-label loss values come from
:func:`gce_lab.losses.lq_of_probability`, so the formulas here and the training losses cannot
drift apart.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

from gce_lab.losses import lq_of_probability
from gce_lab.validation import check_in_range, check_int, check_probability_rows

__all__ = [
    "lq_sum",
    "lq_sum_bounds",
    "noise_tolerance_constant",
    "noisy_risk_minimizer",
    "truncated_lq_sum",
    "truncated_lq_sum_bounds",
    "truncated_lq_sum_minimum",
    "eq10_lower_bound_threshold",
    "truncation_tightens",
]

#: Rows of ``probs`` must sum to 1 within this tolerance.
_ROW_SUM_ATOL = 1e-6
#: Absorbs the float rounding of ``1 - 1/c`` (e.g. ``1 - 1/10 = 0.9``) in range checks.
_TOL = 1e-12


# --------------------------------------------------------------------------- argument checks
def _check_q(q: Any) -> float:
    return check_in_range("q", q, 0.0, 1.0)


def _check_eta(eta: Any, c: int) -> float:
    high = 1.0 - 1.0 / c
    eta = check_in_range("eta", eta, 0.0, math.inf)
    if eta > high + _TOL:
        raise ValueError(f"eta must be in [0, 1 - 1/c] = [0, {high:.6g}] for c = {c} (uniform noise), got {eta:g}")
    return min(eta, high)


def _check_k(k: Any, c: int) -> float:
    low = 1.0 / c
    k = check_in_range("k", k, 0.0, 1.0)
    if k < low - _TOL:
        raise ValueError(f"k must be in [1/c, 1] = [{low:.6g}, 1] for c = {c} (Eq. 10 assumes k >= 1/c), got {k:g}")
    return max(k, low)


def _lq(p: np.ndarray, q: float) -> np.ndarray:
    """Elementwise ``L_q(p)`` as a float64 array, via :func:`gce_lab.losses.lq_of_probability`."""
    return lq_of_probability(torch.from_numpy(np.ascontiguousarray(p, dtype=np.float64)), q).numpy()


# --------------------------------------------------------------------------- Eq. 7
def lq_sum(probs: Any, q: float) -> np.ndarray:
    """``sum_j L_q(f, e_j) = sum_j (1 - f_j^q) / q`` for each probability vector (the middle of Eq. 7).

    Args:
        probs: array (..., c) of probability vectors (numpy, nested lists or a torch tensor).
        q: in ``[0, 1]``; ``q = 0`` gives ``sum_j -log f_j`` (``inf`` if some ``f_j = 0``).

    Returns:
        float64 array of shape ``probs.shape[:-1]`` (a 0-d array for a single vector).
    """
    q = _check_q(q)
    return _lq(check_probability_rows("probs", probs, atol=_ROW_SUM_ATOL), q).sum(axis=-1)


def lq_sum_bounds(c: int, q: float) -> tuple[float, float]:
    """Eq. 7: ``(c - c (1/c)^q) / q <= sum_j L_q(f, e_j) <= (c - 1) / q`` for every softmax f.

    ``sum_j f_j^q`` is concave in f, so on the probability simplex it is largest at the uniform
    vector (``c (1/c)^q``, giving the lower bound of the loss sum) and smallest at a vertex
    (one-hot, ``1``, giving the upper bound). Both bounds are attained. At ``q = 0`` (CCE) the
    limits are ``(c log c, inf)``: the CCE sum is unbounded. At ``q = 1`` both equal ``c - 1``
    (MAE is symmetric, Eq. 3).

    Returns:
        ``(lower, upper)`` as floats.
    """
    c = check_int("c (the number of classes)", c, 2)
    q = _check_q(q)
    if q == 0.0:
        return c * math.log(c), math.inf
    # c - c (1/c)^q = -c expm1(-q log c): accurate for tiny q.
    return -c * math.expm1(-q * math.log(c)) / q, (c - 1) / q


# --------------------------------------------------------------------------- Eq. 8
def noise_tolerance_constant(eta: float, q: float, c: int) -> float:
    """The constant A of Eq. 8: ``-A <= R(f*) - R(f_hat) <= 0`` under uniform noise of rate eta.

    ``A = eta / q * (c (1/c)^q - 1) / (c (1 - eta) - 1)``, where f* minimises the clean L_q risk
    and f_hat the noisy one. Derivation (the paper omits it): with uniform noise,
    ``R^eta(f) = (1 - eta c/(c-1)) R(f) + eta/(c-1) E[sum_j L_q(f(x), j)]``; comparing
    ``R^eta(f_hat) <= R^eta(f*)`` and bounding the difference of the sums by the width of Eq. 7,
    ``(c (1/c)^q - 1) / q``, gives ``R(f_hat) - R(f*) <= A``.

    Args:
        eta: uniform noise rate in ``[0, 1 - 1/c]``. At ``eta = 1 - 1/c`` the noisy labels carry
            no information, the coefficient of ``R(f)`` vanishes and ``A = inf`` (no guarantee).
        q: in ``[0, 1]``. ``A`` decreases in q, is 0 at ``q = 1`` (MAE) and ``inf`` in the limit
            ``q -> 0`` (CCE) for ``eta > 0``.
        c: number of classes, ``>= 2``.

    Returns:
        ``A >= 0`` as a float (0 when ``eta = 0``).
    """
    c = check_int("c (the number of classes)", c, 2)
    eta = _check_eta(eta, c)
    q = _check_q(q)
    if eta == 0.0:
        return 0.0
    denominator = c * (1.0 - eta) - 1.0
    if denominator <= _TOL * c:
        return math.inf
    if q == 0.0:
        return math.inf
    # c (1/c)^q - 1 = expm1((1 - q) log c)
    return eta / q * math.expm1((1.0 - q) * math.log(c)) / denominator


def noisy_risk_minimizer(eta: float, q: float, c: int, label: int = 0) -> np.ndarray:
    """The softmax output minimising the *noisy* L_q risk at an input whose clean label is ``label``.

    Under uniform noise the noisy risk at x is ``(1 - eta) L_q(f_y) + eta/(c-1) sum_{j != y} L_q(f_j)``.
    For ``0 <= q < 1`` it is strictly convex and symmetric in the wrong classes, so its minimiser
    puts ``p`` on ``y`` and ``(1 - p)/(c - 1)`` on each other class, with the stationarity condition
    ``(1 - eta) p^(q-1) = eta/(c-1) ((1-p)/(c-1))^(q-1)``, i.e.
    ``p / ((1-p)/(c-1)) = ((c-1)(1-eta)/eta)^(1/(1-q))``. At ``q = 0`` this is ``p = 1 - eta``
    (CCE fits the noisy posterior); at ``q = 1`` (MAE) it is the one-hot ``e_y`` for
    ``eta < 1 - 1/c``. Since the clean risk of the one-hot vector is 0, ``L_q(p)`` is the exact
    worst-case excess clean risk ``R(f_hat) - R(f*)`` that Eq. 8 bounds by A.

    Args:
        eta: uniform noise rate in ``[0, 1 - 1/c]``; ``eta = 1 - 1/c`` gives the uniform vector.
        q: in ``[0, 1]``.
        c: number of classes, ``>= 2``.
        label: the clean label y, in ``[0, c)``.

    Returns:
        float64 probability vector of length c.
    """
    c = check_int("c (the number of classes)", c, 2)
    eta = _check_eta(eta, c)
    q = _check_q(q)
    if isinstance(label, bool) or not isinstance(label, numbers.Integral) or not 0 <= label < c:
        raise ValueError(f"label must be an integer in [0, {c}), got {label!r}")
    if eta == 0.0:
        p = 1.0
    else:
        log_ratio = math.log((c - 1) * (1.0 - eta) / eta)  # > 0 iff eta < 1 - 1/c
        if abs(log_ratio) <= _TOL:
            p = 1.0 / c
        elif q == 1.0:
            p = 1.0 if log_ratio > 0 else 0.0
        else:
            # p = r / (r + c - 1) with log r = log_ratio / (1 - q), written to avoid overflow.
            p = 1.0 / (1.0 + (c - 1) * math.exp(-log_ratio / (1.0 - q)))
    f = np.full(c, (1.0 - p) / (c - 1))
    f[label] = p
    return f


# --------------------------------------------------------------------------- Eq. 9-10
def truncated_lq_sum(probs: Any, q: float, k: float) -> np.ndarray:
    """``sum_j L_trunc(f, e_j)`` for each probability vector (the middle of Eq. 10).

    ``L_trunc(f, e_j) = L_q(k)`` if ``f_j <= k`` else ``L_q(f_j)`` (Eq. 9), which equals
    ``min(L_q(f_j), L_q(k))`` because L_q decreases in ``f_j``.

    Args:
        probs: array (..., c) of probability vectors.
        q: in ``[0, 1]``.
        k: truncation threshold in ``(0, 1]`` (any value; Eq. 10's bounds need ``k >= 1/c``).

    Returns:
        float64 array of shape ``probs.shape[:-1]``.
    """
    q = _check_q(q)
    k = check_in_range("k", k, 0.0, 1.0, low_open=True)
    p = check_probability_rows("probs", probs, atol=_ROW_SUM_ATOL)
    return np.minimum(_lq(p, q), lq_of_probability(k, q)).sum(axis=-1)


def truncated_lq_sum_bounds(c: int, q: float, k: float) -> tuple[float, float]:
    """Eq. 10 as printed: ``((c - 1) L_q(k), c L_q(k))``, assuming ``k >= 1/c``.

    The upper bound holds for every f (each term is at most ``L_q(k)``) and is attained when all
    ``f_j <= k``, e.g. by the uniform vector, which needs ``k >= 1/c``. The lower bound is attained
    by a one-hot vector and holds exactly when ``k >= (2^(1-q) - 1)^(1/q)``
    (:func:`eq10_lower_bound_threshold`, below 1/4); for smaller k it fails (see
    :func:`truncated_lq_sum_minimum`).

    Returns:
        ``(lower, upper)`` as floats.
    """
    c = check_int("c (the number of classes)", c, 2)
    q = _check_q(q)
    k = _check_k(k, c)
    lq_k = lq_of_probability(k, q)
    return (c - 1) * lq_k, c * lq_k


def truncated_lq_sum_minimum(c: int, q: float, k: float) -> tuple[float, int]:
    """The exact minimum over the simplex of ``sum_j L_trunc(f, e_j)`` and the m that attains it.

    If m classes have ``f_j > k``, the other ``c - m`` terms are ``L_q(k)`` each; L_q is convex and
    decreasing, so the m large entries are best equal to ``1/m`` (feasible while ``1/m >= k``).
    Hence the minimum is ``min_m (c - m) L_q(k) + m L_q(1/m)`` over ``1 <= m <= min(c, 1/k)``,
    attained by the vector with ``1/m`` on m classes and 0 elsewhere. ``m = 1`` gives the lower
    bound of Eq. 10; when a larger m wins, Eq. 10's lower bound is violated.

    Returns:
        ``(minimum, m)``; ties go to the smallest m.
    """
    c = check_int("c (the number of classes)", c, 2)
    q = _check_q(q)
    k = _check_k(k, c)
    lq_k = lq_of_probability(k, q)
    largest_m = min(c, int(math.floor(1.0 / k + 1e-9)))
    best_value, best_m = math.inf, 1
    for m in range(1, largest_m + 1):
        value = (c - m) * lq_k + m * lq_of_probability(1.0 / m, q)
        if value < best_value - 1e-12:
            best_value, best_m = value, m
    return best_value, best_m


def eq10_lower_bound_threshold(q: float) -> float:
    """The least threshold k for which Eq. 10's lower bound holds for every f: ``(2^(1-q) - 1)^(1/q)``.

    Of the vectors of :func:`truncated_lq_sum_minimum`, the first to undercut ``(c - 1) L_q(k)``
    as k falls is m = 2 (two classes at 1/2): ``(c - 2) L_q(k) + 2 L_q(1/2) < (c - 1) L_q(k)`` iff
    ``2 L_q(1/2) < L_q(k)`` iff ``k^q < 2^(1-q) - 1``. The threshold does not depend on c (c >= 2),
    falls from 1/4 (the limit q -> 0) to 0 (q = 1, MAE) and so is below 1/4 for every q in (0, 1]:
    the paper's "k >= 1/c" is neither needed nor, for c > 4, enough.
    """
    q = _check_q(q)
    if q == 0.0:
        return 0.25  # lim (2^(1-q) - 1)^(1/q) = exp(-2 ln 2)
    return float((2.0 ** (1.0 - q) - 1.0) ** (1.0 / q))


def truncation_tightens(c: int, q: float, k: float) -> bool:
    """Whether Eq. 10's band is narrower than Eq. 7's: ``k^q > 2 - c (1/c)^q``.

    The width of Eq. 10 is ``L_q(k) = (1 - k^q)/q`` and that of Eq. 7 is ``(c (1/c)^q - 1)/q``;
    the first is smaller iff ``k^q > 2 - c (1/c)^q``. At ``q = 0`` (unbounded CCE sum) this is
    always true; at ``q = 1`` (MAE, width 0) never.
    """
    c = check_int("c (the number of classes)", c, 2)
    q = _check_q(q)
    k = _check_k(k, c)
    return bool(k**q > 2.0 - c * (1.0 / c) ** q)
