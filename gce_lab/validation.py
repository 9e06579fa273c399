"""Small argument checkers shared by the package.

Every checker raises ``ValueError`` whose message names the parameter and its allowed
range, e.g. ``"q must be in [0, 1], got 1.5"``, and returns the (normalised) value so it can
be used inline: ``q = check_in_range("q", q, 0.0, 1.0)``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import typing
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch

__all__ = [
    "check_int",
    "check_in_range",
    "check_choice",
    "check_labels",
    "check_probability_rows",
    "check_transition_matrix",
    "ROW_SUM_ATOL",
    "check_bool",
    "check_indices",
    "check_unit_interval",
    "number_fields",
]

#: Tolerance on the row sums of a transition matrix (rows must sum to 1 within this).
ROW_SUM_ATOL = 1e-4

_ArrayT = TypeVar("_ArrayT", np.ndarray, torch.Tensor)


def check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    """Check that ``value`` is an integer (not a bool) in ``[low, high]`` (``high=None``: no upper bound)."""
    allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < low
        or (high is not None and value > high)
    ):
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
    return int(value)


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    return f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def _as_real(name: str, value: Any, allowed: str) -> float:
    """Convert ``value`` to a Python float, rejecting booleans, non-numbers and NaN."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number in {allowed}, got {value!r}")
    result = float(value)
    if math.isnan(result):
        raise ValueError(f"{name} must be in {allowed}, got nan")
    return result


def check_in_range(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check that ``value`` is a real number in the interval from ``low`` to ``high``.

    The interval is closed unless ``low_open`` / ``high_open`` is set. ``low`` or ``high`` may
    be ``-math.inf`` / ``math.inf``, which are always excluded (``check_in_range("lr", lr, 0,
    math.inf)`` means ``[0, inf)``). Returns ``value`` as a Python float.
    """
    low_open = low_open or low == -math.inf
    high_open = high_open or high == math.inf
    allowed = _interval(low, high, low_open, high_open)
    x = _as_real(name, value, allowed)
    too_low = x <= low if low_open else x < low
    too_high = x >= high if high_open else x > high
    if too_low or too_high:
        raise ValueError(f"{name} must be in {allowed}, got {x:g}")
    return x


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Check that ``value`` is one of ``choices`` and return it."""
    options: Sequence[Any] = tuple(choices)
    if value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value


def check_labels(name: str, labels: _ArrayT, num_classes: int) -> _ArrayT:
    """Check that ``labels`` is a 1-D integer array/tensor with values in ``[0, num_classes)``.

    Accepts a ``numpy.ndarray`` or a ``torch.Tensor`` (on any device; the range check costs one
    host synchronisation). Returns ``labels`` unchanged.
    """
    num_classes = check_int("num_classes", num_classes, 1)
    allowed = f"[0, {num_classes})"
    if isinstance(labels, torch.Tensor):
        if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
            raise ValueError(f"{name} must hold integer class indices in {allowed}, got dtype {labels.dtype}")
        if labels.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {tuple(labels.shape)}")
        if labels.numel() == 0:
            return labels
        lo, hi = (int(v) for v in torch.stack(torch.aminmax(labels)).tolist())
    elif isinstance(labels, np.ndarray):
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{name} must hold integer class indices in {allowed}, got dtype {labels.dtype}")
        if labels.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {labels.shape}")
        if labels.size == 0:
            return labels
        lo, hi = int(labels.min()), int(labels.max())
    else:
        raise ValueError(
            f"{name} must be a numpy array or torch tensor of integers in {allowed}, got {type(labels).__name__}"
        )
    if lo < 0 or hi >= num_classes:
        raise ValueError(f"{name} must contain integers in {allowed}, got values in [{lo}, {hi}]")
    return labels


def check_transition_matrix(name: str, T: Any, num_classes: int | None = None) -> np.ndarray | torch.Tensor:
    """Check a noise transition matrix ``T[i, j] = p(noisy = j | true = i)``.

    ``T`` must be a square ``(C, C)`` matrix of finite, non-negative entries whose rows sum to 1
    within ``ROW_SUM_ATOL`` (row-stochastic), with ``C == num_classes`` when that is given.
    A tensor is returned as is; anything else (array, nested lists) as a float64 ``numpy.ndarray``.
    """
    if isinstance(T, torch.Tensor):
        matrix = T
        values = T.detach().cpu().to(torch.float64).numpy()  # copied to the host first: MPS has no float64
    else:
        try:
            matrix = np.asarray(T, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be a square (C, C) matrix of probabilities, got {T!r}") from err
        values = matrix
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] == 0:
        raise ValueError(f"{name} must be a square (C, C) matrix with C >= 1, got shape {tuple(values.shape)}")
    size = values.shape[0]
    if num_classes is not None and size != check_int("num_classes", num_classes, 1):
        raise ValueError(
            f"{name} must have shape ({num_classes}, {num_classes}) to match {num_classes} classes, "
            f"got ({size}, {size})"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must have finite entries in [0, 1]; it contains nan or inf")
    if values.min() < 0:
        raise ValueError(f"{name} must have entries in [0, 1], got minimum {values.min():g}")
    row_sums = values.sum(axis=1)
    worst = int(np.argmax(np.abs(row_sums - 1.0)))
    if abs(row_sums[worst] - 1.0) > ROW_SUM_ATOL:
        raise ValueError(
            f"{name} must be row-stochastic (every row sums to 1 within {ROW_SUM_ATOL:g}); "
            f"row {worst} sums to {row_sums[worst]:.6g}"
        )
    return matrix


def check_probability_rows(name: str, probs: Any, *, ndim: int | None = None, atol: float = ROW_SUM_ATOL) -> np.ndarray:
    """Check that ``probs`` holds probability vectors along its last axis (finite, in [0, 1],
    summing to 1 within ``atol``, at least 2 classes; exactly ``ndim`` axes and at least one
    row where ``ndim`` is given) and return it as a float64 numpy array."""
    if isinstance(probs, torch.Tensor):
        probs = probs.detach().cpu().double().numpy()
    try:
        p = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of probability vectors, got {type(probs).__name__}") from err
    wanted = "(..., C)" if ndim is None else "(" + ", ".join(["N"] * (ndim - 1) + ["C"]) + ")"
    if p.ndim < 1 or (ndim is not None and (p.ndim != ndim or p.shape[0] < 1)) or p.shape[-1] < 2:
        raise ValueError(f"{name} must have shape {wanted} with at least one row and C >= 2, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} must be finite, got NaN or infinite entries")
    if p.size and (p.min() < 0.0 or p.max() > 1.0):
        raise ValueError(f"{name} entries must be in [0, 1], got values in [{p.min():.4g}, {p.max():.4g}]")
    worst = float(np.abs(p.sum(axis=-1) - 1.0).max()) if p.size else 0.0
    if worst > atol:
        raise ValueError(f"{name} must sum to 1 along the last axis (atol {atol:g}), got a row off by {worst:.3g}")
    return p


def check_bool(name: str, value: Any) -> bool:
    """Check that ``value`` is True or False (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def check_indices(name: str, values: Any, size: int, check_values: bool) -> None:
    """Check an integer index tensor; its range ``[0, size)`` only when ``check_values`` (a host sync)."""
    if check_values:
        check_labels(name, values, size)
    elif (
        not isinstance(values, torch.Tensor)
        or values.dtype == torch.bool
        or values.is_floating_point()
        or values.is_complex()
        or values.ndim != 1
    ):
        shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise ValueError(f"{name} must be a 1-D integer tensor of values in [0, {size}), got {shape}")


def check_unit_interval(name: str, values: torch.Tensor) -> None:
    """Check that every entry of ``values`` is in [0, 1] (one host synchronisation)."""
    if values.numel() == 0:
        return
    lo, hi = (float(v) for v in torch.stack(torch.aminmax(values.detach())).tolist())
    if not (0.0 <= lo and hi <= 1.0):  # also catches nan
        raise ValueError(f"{name} must have values in [0, 1], got values in [{lo:g}, {hi:g}]")


def number_fields(cls: type) -> dict[str, type]:
    """The fields of dataclass ``cls`` annotated as a number (``int`` or ``float``, or either or
    None), each with its type, e.g. ``{"epochs": int, "lr": float}``: what a config or a results
    row must hold as numbers."""
    hints = typing.get_type_hints(cls)
    found = {}
    for field in dataclasses.fields(cls):
        kinds = set(typing.get_args(hints[field.name]) or (hints[field.name],)) - {type(None)}
        if len(kinds) == 1 and kinds <= {int, float}:
            found[field.name] = kinds.pop()
    return found
