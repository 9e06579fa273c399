"""Tests of the shared argument checkers in gce_lab.validation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from gce_lab.validation import (
    check_choice,
    check_in_range,
    check_int,
    check_labels,
    check_probability_rows,
    check_transition_matrix,
    number_fields,
)


def test_check_in_range_accepts_and_returns_float():
    assert check_in_range("q", 0, 0.0, 1.0) == 0.0
    assert check_in_range("q", 1, 0.0, 1.0) == 1.0
    assert isinstance(check_in_range("q", np.float32(0.5), 0.0, 1.0), float)
    assert check_in_range("q", torch.tensor(0.25), 0.0, 1.0) == 0.25
    assert check_in_range("lr", 1e9, 0.0, math.inf, low_open=True) == 1e9


def test_check_in_range_infinite_bounds_are_open():
    with pytest.raises(ValueError, match=r"^lr must be in \(0, inf\), got inf$"):
        check_in_range("lr", math.inf, 0.0, math.inf, low_open=True)
    with pytest.raises(ValueError, match=r"^x must be in \(-inf, 0\], got -inf$"):
        check_in_range("x", -math.inf, -math.inf, 0.0)


@pytest.mark.parametrize(
    "value,kwargs,message",
    [
        (1.5, {}, "q must be in [0, 1], got 1.5"),
        (-0.5, {}, "q must be in [0, 1], got -0.5"),
        (0.0, {"low_open": True}, "q must be in (0, 1], got 0"),
        (1.0, {"high_open": True}, "q must be in [0, 1), got 1"),
        (float("nan"), {}, "q must be in [0, 1], got nan"),
    ],
)
def test_check_in_range_messages(value, kwargs, message):
    with pytest.raises(ValueError) as info:
        check_in_range("q", value, 0.0, 1.0, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("value", ["0.5", None, True, [0.5], torch.tensor([0.5, 0.6])])
def test_check_in_range_rejects_non_numbers(value):
    with pytest.raises(ValueError, match=r"q must be a real number in \[0, 1\]"):
        check_in_range("q", value, 0.0, 1.0)


def test_check_choice():
    assert check_choice("reduction", "sum", ("mean", "sum")) == "sum"
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum'; got 'avg'"):
        check_choice("reduction", "avg", ("mean", "sum"))
    with pytest.raises(ValueError, match="kind must be one of"):
        check_choice("kind", "x", iter(["a", "b"]))  # any iterable of choices


@pytest.mark.parametrize("make", [np.array, torch.tensor])
def test_check_labels_accepts_valid_labels(make):
    labels = make([0, 3, 9, 2])
    assert check_labels("labels", labels, 10) is labels


@pytest.mark.parametrize("empty", [np.array([], dtype=np.int64), torch.tensor([], dtype=torch.long)])
def test_check_labels_accepts_empty_labels(empty):
    assert check_labels("labels", empty, 3) is empty


@pytest.mark.parametrize("make", [np.array, torch.tensor])
@pytest.mark.parametrize("values", [[0, 10], [-1, 2]])
def test_check_labels_rejects_out_of_range(make, values):
    with pytest.raises(ValueError, match=r"labels must contain integers in \[0, 10\), got values in"):
        check_labels("labels", make(values), 10)


def test_check_labels_rejects_bad_types_shapes_and_class_counts():
    with pytest.raises(ValueError, match="labels must hold integer class indices"):
        check_labels("labels", torch.tensor([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="labels must hold integer class indices"):
        check_labels("labels", np.array([True, False]), 2)
    with pytest.raises(ValueError, match="labels must hold integer class indices"):
        check_labels("labels", torch.tensor([True, False]), 2)
    with pytest.raises(ValueError, match="labels must be 1-D"):
        check_labels("labels", torch.zeros(2, 2, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="labels must be a numpy array or torch tensor"):
        check_labels("labels", [0, 1], 2)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="num_classes must be an integer >= 1"):
            check_labels("labels", np.array([0]), bad)


def uniform_T(c: int, eta: float) -> np.ndarray:
    return np.full((c, c), eta / (c - 1)) + (1 - eta - eta / (c - 1)) * np.eye(c)


def test_check_transition_matrix_accepts_and_returns_type():
    T = uniform_T(4, 0.3)
    assert check_transition_matrix("T", T) is T
    T_t = torch.tensor(T, dtype=torch.float32)
    assert check_transition_matrix("T", T_t, num_classes=4) is T_t
    from_list = check_transition_matrix("T", [[1.0, 0.0], [0.2, 0.8]])
    assert isinstance(from_list, np.ndarray) and from_list.dtype == np.float64
    # rows may be off by up to 1e-4 (e.g. an estimated T stored in float32)
    check_transition_matrix("T", T + np.array([[5e-5, 0, 0, 0]] * 4))


@pytest.mark.parametrize(
    "T,kwargs,match",
    [
        (uniform_T(4, 0.3) * 1.01, {}, r"T must be row-stochastic .* row \d sums to 1.01"),
        (uniform_T(4, 0.3) + np.array([[2e-4, 0, 0, 0]] * 4), {}, "T must be row-stochastic"),
        (np.array([[1.5, -0.5], [0.0, 1.0]]), {}, r"T must have entries in \[0, 1\], got minimum -0.5"),
        (np.array([[np.nan, 1.0], [0.0, 1.0]]), {}, "T must have finite entries"),
        (np.ones((2, 3)) / 3, {}, r"T must be a square \(C, C\) matrix"),
        (np.ones(3) / 3, {}, r"T must be a square \(C, C\) matrix"),
        (np.zeros((0, 0)), {}, r"T must be a square \(C, C\) matrix with C >= 1"),
        (uniform_T(4, 0.3), {"num_classes": 10}, r"T must have shape \(10, 10\) to match 10 classes, got \(4, 4\)"),
        ([["a", "b"], ["c", "d"]], {}, "T must be a square"),
    ],
)
def test_check_transition_matrix_rejects(T, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_transition_matrix("T", T, **kwargs)
    if isinstance(T, np.ndarray) and T.dtype.kind == "f":
        with pytest.raises(ValueError, match=match):
            check_transition_matrix("T", torch.from_numpy(T), **kwargs)


def test_check_int_accepts_integers_in_range():
    assert check_int("seed", np.int64(3), 0) == 3 and type(check_int("seed", 3, 0)) is int
    assert check_int("n", 5, 1, 5) == 5


@pytest.mark.parametrize(
    "value, high, message",
    [
        (0, None, r"n must be an integer >= 1, got 0"),
        (6, 5, r"n must be an integer in \[1, 5\], got 6"),
        (True, None, r"n must be an integer >= 1, got True"),
        (2.0, None, r"n must be an integer >= 1, got 2.0"),
    ],
)
def test_check_int_rejects(value, high, message):
    with pytest.raises(ValueError, match=message):
        check_int("n", value, 1, high)


def test_check_probability_rows_returns_float64_rows():
    rows = check_probability_rows("p", torch.tensor([[0.25, 0.75]]), ndim=2)
    assert rows.dtype == np.float64 and rows.tolist() == [[0.25, 0.75]]


@pytest.mark.parametrize(
    "probs, kwargs, message",
    [
        ([[0.5, 0.6]], {}, r"p must sum to 1 along the last axis \(atol 0.0001\)"),
        ([[0.5, 0.5 + 1e-5]], {"atol": 1e-6}, r"p must sum to 1"),
        ([0.5, 0.5], {"ndim": 2}, r"p must have shape \(N, C\)"),
        ([[1.0]], {}, r"C >= 2"),
        ([[1.2, -0.2]], {}, r"p entries must be in \[0, 1\]"),
        ([[np.nan, 1.0]], {}, r"p must be finite"),
    ],
)
def test_check_probability_rows_rejects(probs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_probability_rows("p", np.array(probs), **kwargs)


def test_number_fields_are_the_int_and_float_fields_of_a_dataclass():
    @dataclasses.dataclass
    class Row:
        name: str
        epochs: int
        lr: float
        prune_start: int | None
        milestones: tuple[int, ...]
        augment: bool
        either: int | float

    assert number_fields(Row) == {"epochs": int, "lr": float, "prune_start": int}
