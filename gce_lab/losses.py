"""The losses of Zhang & Sabuncu (2018) and the forward-corrected baseline, on logits.

All functions take logits ``z`` of shape ``(N, C)`` and integer class indices ``target`` of
shape ``(N,)``, like ``torch.nn.CrossEntropyLoss``, and a ``reduction`` in
``"mean" | "sum" | "none"``. Writing ``f = softmax(z)`` and ``f_y`` for the softmax output
of the labelled class:

* CCE (Eq. 2): ``-log f_y``.
* MAE (Eq. 4): ``||e_y - f||_1 = 2 - 2 f_y``.
* L_q (Eq. 6): ``(1 - f_y^q) / q`` for ``q`` in ``[0, 1]``; ``q = 1`` is MAE / 2 and the
  limit ``q -> 0`` is CCE, which is what ``q = 0`` computes.
* truncated L_q (Eq. 9, optimised through Eq. 11-12 and Algorithm 1): per-sample weights
  ``w`` and the objective ``sum_i w_i L_q(f(x_i), y_i) - L_q(k) sum_i w_i``.
* forward correction (Patrini et al. 2017; Eq. 1 of the paper): CCE on ``T^T f`` for a
  row-stochastic ``T[i, j] = p(noisy = j | true = i)``.

Numerics: logits are upcast to float32 (bf16/fp16 inputs, autocast) before ``log_softmax``;
``(1 - f_y^q) / q`` is computed from ``log f_y`` by :func:`gce_lab.lq_arithmetic.lq_from_log_prob`
(float64 where the device has it, an exact float32 form on Apple MPS), which is accurate for
tiny ``q`` and has a finite gradient when ``f_y`` underflows; the forward
correction is a ``logsumexp`` of ``log f + log T``. Losses and gradients stay finite for
finite logits of any magnitude representable in the input dtype.

The ``nn.Module`` versions all have ``forward(logits, target, index=None)`` so a trainer can
call every loss the same way; only :class:`TruncatedLqLoss` uses ``index`` (the dataset ids
of the batch's samples).

Argument checks: every call checks types and shapes (free) and, by default, that targets lie
in ``[0, C)``, sample ids in ``[0, num_samples)`` and weights in ``[0, 1]``. Those value checks
read the tensors on the host: one synchronisation each on a GPU. A trainer that has checked
its whole label vector once passes ``check_inputs=False`` (to the functions, the modules or
:func:`gce_lab.methods.make_loss`) to skip them inside its training loop; the values computed are the same.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gce_lab.gce import ForwardCorrectedGCELoss, GCELoss, TruncatedGCELoss, gce_loss
from gce_lab.lq_arithmetic import lq_from_log_prob
from gce_lab.validation import (
    check_bool,
    check_choice,
    check_in_range,
    check_indices,
    check_int,
    check_transition_matrix,
    check_unit_interval,
)

__all__ = [
    "REDUCTIONS",
    "cce_loss",
    "mae_loss",
    "lq_loss",
    "lq_of_probability",
    "forward_corrected_loss",
    "truncated_lq_loss",
    "CCELoss",
    "MAELoss",
    "LqLoss",
    "ForwardCorrectedLoss",
    "TruncatedLqLoss",
    # the drop-in losses with torch.nn.CrossEntropyLoss's conventions (gce_lab.gce)
    "gce_loss",
    "GCELoss",
    "TruncatedGCELoss",
    "ForwardCorrectedGCELoss",
]

REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- argument checks
def _check_reduction(reduction: str) -> str:
    return check_choice("reduction", reduction, REDUCTIONS)


def _check_k(k: float, q: float) -> float:
    if q == 0.0:
        # L_q(k) at q = 0 is -log k, infinite at k = 0.
        return check_in_range("k (with q = 0)", k, 0.0, 1.0, low_open=True)
    return check_in_range("k", k, 0.0, 1.0)


def _log_probs(logits: Tensor, target: Tensor, check_inputs: bool = True) -> tuple[Tensor, Tensor]:
    """Validate ``(logits, target)`` and return float32+ ``log_softmax(logits)`` and int64 targets
    (the range of ``target`` only when ``check_inputs``)."""
    if not isinstance(logits, Tensor) or not logits.is_floating_point() or logits.ndim != 2:
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a floating-point tensor of shape (N, C), got {shape}")
    if not isinstance(target, Tensor):
        raise ValueError(f"target must be a tensor of class indices, got {type(target).__name__}")
    check_indices("target", target, logits.shape[1], check_inputs)
    if target.shape[0] != logits.shape[0]:
        raise ValueError(
            f"target must have length N = {logits.shape[0]} (the batch size of logits), got {target.shape[0]}"
        )
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    return F.log_softmax(logits, dim=1), target.long()


def _log_prob_of_target(logits: Tensor, target: Tensor, check_inputs: bool = True) -> Tensor:
    """``log f_y`` per sample, shape ``(N,)``."""
    log_probs, target = _log_probs(logits, target, check_inputs)
    return log_probs.gather(1, target.unsqueeze(1)).squeeze(1)


def _reduce(per_sample: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    return per_sample


# --------------------------------------------------------------------------- functional losses
def cce_loss(logits: Tensor, target: Tensor, reduction: str = "mean", *, check_inputs: bool = True) -> Tensor:
    """Categorical cross entropy ``-log f_y`` (Eq. 2), like ``F.cross_entropy``.

    ``check_inputs=False`` skips the range check of ``target`` (see the module docstring).
    """
    reduction = _check_reduction(reduction)
    log_probs, target = _log_probs(logits, target, check_bool("check_inputs", check_inputs))
    return F.nll_loss(log_probs, target, reduction=reduction)


def mae_loss(logits: Tensor, target: Tensor, reduction: str = "mean", *, check_inputs: bool = True) -> Tensor:
    """MAE on softmax outputs, Eq. 4: ``||e_y - f||_1 = 2 - 2 f_y`` (computed as ``-2 expm1(log f_y)``)."""
    reduction = _check_reduction(reduction)
    log_prob = _log_prob_of_target(logits, target, check_bool("check_inputs", check_inputs))
    return _reduce(2.0 * lq_from_log_prob(log_prob, 1.0), reduction)


def lq_loss(logits: Tensor, target: Tensor, q: float, reduction: str = "mean", *, check_inputs: bool = True) -> Tensor:
    """The L_q loss of Eq. 6, ``(1 - f_y^q) / q`` with ``q`` in ``[0, 1]``.

    ``q = 1`` gives MAE / 2 (Eq. 4); ``q = 0`` gives CCE, the limit ``q -> 0``. Its gradient
    with respect to the logits is ``f_y^q`` times that of CCE (Section 3.2).
    """
    q = check_in_range("q", q, 0.0, 1.0)
    reduction = _check_reduction(reduction)
    check_inputs = check_bool("check_inputs", check_inputs)
    if q == 0.0:
        return cce_loss(logits, target, reduction, check_inputs=check_inputs)
    return _reduce(lq_from_log_prob(_log_prob_of_target(logits, target, check_inputs), q), reduction)


def lq_of_probability(p: float | Tensor, q: float) -> float | Tensor:
    """``L_q(k) = (1 - k^q) / q`` of a probability (Eq. 9); ``-log k`` at ``q = 0``.

    Takes a float (returns a float) or a tensor of probabilities (returns a tensor); values
    must be in ``[0, 1]``. ``L_0(0) = inf``.
    """
    q = check_in_range("q", q, 0.0, 1.0)
    if isinstance(p, Tensor):
        check_unit_interval("p", p)
        p = p if p.is_floating_point() else p.double()
        return lq_from_log_prob(torch.log(p), q)
    p = check_in_range("p", p, 0.0, 1.0)
    if p == 0.0:
        return math.inf if q == 0.0 else 1.0 / q
    log_p = math.log(p)
    return -log_p if q == 0.0 else -math.expm1(q * log_p) / q


def _forward_corrected(log_probs: Tensor, target: Tensor, T: Tensor) -> Tensor:
    """Per-sample ``-log (T^T f)_y`` from ``log f`` (float32+) and a ``(C, C)`` tensor ``T``."""
    num_classes = log_probs.shape[1]
    if T.shape != (num_classes, num_classes):
        raise ValueError(
            f"T must have shape ({num_classes}, {num_classes}) to match the logits' "
            f"{num_classes} classes, got {tuple(T.shape)}"
        )
    T = T.to(log_probs)
    T = T / T.sum(dim=1, keepdim=True)  # rows sum to 1 within ROW_SUM_ATOL when checked: make it exact
    log_t = torch.log(T)  # zero entries -> -inf, which logsumexp handles
    # log (T^T f)_y = log sum_i T[i, y] f_i = logsumexp_i (log f_i + log T[i, y])
    return -torch.logsumexp(log_probs + log_t.t().index_select(0, target), dim=1)


def forward_corrected_loss(
    logits: Tensor, target: Tensor, T: Any, reduction: str = "mean", *, check_inputs: bool = True
) -> Tensor:
    """Forward-corrected CCE (Patrini et al. 2017; the paper's Eq. 1): ``-log (T^T f)_y``.

    ``T[i, j] = p(noisy = j | true = i)`` must be row-stochastic of shape ``(C, C)``; ``target``
    holds the noisy labels. Computed as ``-logsumexp_i(log f_i + log T[i, y])``, finite for
    huge logits; zero entries of ``T`` are allowed (``T = I`` gives CCE). ``check_inputs=False``
    skips the range check of ``target`` and the values of a tensor ``T`` (its shape is still checked).
    """
    reduction = _check_reduction(reduction)
    check_inputs = check_bool("check_inputs", check_inputs)
    log_probs, target = _log_probs(logits, target, check_inputs)
    if check_inputs or not isinstance(T, Tensor):
        T = check_transition_matrix("T", T, num_classes=log_probs.shape[1])
    T = T if isinstance(T, Tensor) else torch.from_numpy(np.asarray(T))
    return _reduce(_forward_corrected(log_probs, target, T), reduction)


def _truncated_lq_per_sample(
    logits: Tensor, target: Tensor, weights: Tensor, q: float, lq_k: float, check_inputs: bool = True
) -> Tensor:
    lq = lq_from_log_prob(_log_prob_of_target(logits, target, check_inputs), q)
    w = weights.to(device=lq.device, dtype=lq.dtype)
    return w * lq - w * lq_k


def truncated_lq_loss(
    logits: Tensor,
    target: Tensor,
    weights: Tensor,
    q: float,
    k: float,
    reduction: str = "mean",
    *,
    check_inputs: bool = True,
) -> Tensor:
    """Per-sample truncated-L_q objective of Eq. 12: ``w_i L_q(f(x_i), y_i) - w_i L_q(k)``.

    ``weights`` are the batch's ``w_i`` in ``[0, 1]`` (shape ``(N,)``). With ``w_i`` set by
    pruning (``w_i = 1`` iff ``f_{y_i} > k``) this equals the truncated loss of Eq. 9 minus the
    constant ``L_q(k)`` (Eq. 11). ``"mean"`` divides the batch sum by ``N`` (not by ``sum w``),
    ``"sum"`` returns ``sum_i w_i L_q - L_q(k) sum_i w_i``. ``check_inputs=False`` skips the range
    checks of ``target`` and ``weights``.
    """
    q = check_in_range("q", q, 0.0, 1.0)
    k = _check_k(k, q)
    reduction = _check_reduction(reduction)
    check_inputs = check_bool("check_inputs", check_inputs)
    if not isinstance(weights, Tensor) or not weights.is_floating_point() or weights.ndim != 1:
        raise ValueError("weights must be a 1-D floating-point tensor of w_i in [0, 1]")
    if weights.shape[0] != target.shape[0]:
        raise ValueError(f"weights must have length N = {target.shape[0]}, got {weights.shape[0]}")
    if check_inputs:
        check_unit_interval("weights", weights)
    per_sample = _truncated_lq_per_sample(logits, target, weights, q, float(lq_of_probability(k, q)), check_inputs)
    return _reduce(per_sample, reduction)


# --------------------------------------------------------------------------- modules
class _Loss(nn.Module):
    """Base class: validated ``reduction`` and the uniform ``forward(logits, target, index=None)``.

    ``check_inputs=False`` skips the per-call value checks of targets and sample ids (one host
    synchronisation each); for trainers that checked their labels once.
    """

    def __init__(self, reduction: str = "mean", check_inputs: bool = True) -> None:
        super().__init__()
        self.reduction = _check_reduction(reduction)
        self.check_inputs = check_bool("check_inputs", check_inputs)

    def _repr_tail(self) -> str:
        return f"reduction={self.reduction!r}" + ("" if self.check_inputs else ", check_inputs=False")

    def extra_repr(self) -> str:
        return self._repr_tail()


class CCELoss(_Loss):
    """Categorical cross entropy (Eq. 2); ``index`` is accepted and ignored."""

    def forward(self, logits: Tensor, target: Tensor, index: Tensor | None = None) -> Tensor:
        return cce_loss(logits, target, self.reduction, check_inputs=self.check_inputs)


class MAELoss(_Loss):
    """MAE on softmax outputs, ``2 - 2 f_y`` (Eq. 4); ``index`` is accepted and ignored."""

    def forward(self, logits: Tensor, target: Tensor, index: Tensor | None = None) -> Tensor:
        return mae_loss(logits, target, self.reduction, check_inputs=self.check_inputs)


class LqLoss(_Loss):
    """The L_q loss ``(1 - f_y^q) / q`` of Eq. 6, ``q`` in ``[0, 1]`` (0: CCE, 1: MAE / 2)."""

    def __init__(self, q: float = 0.7, reduction: str = "mean", check_inputs: bool = True) -> None:
        super().__init__(reduction, check_inputs)
        self.q = check_in_range("q", q, 0.0, 1.0)

    def forward(self, logits: Tensor, target: Tensor, index: Tensor | None = None) -> Tensor:
        return lq_loss(logits, target, self.q, self.reduction, check_inputs=self.check_inputs)

    def extra_repr(self) -> str:
        return f"q={self.q:g}, {self._repr_tail()}"


class ForwardCorrectedLoss(_Loss):
    """Forward-corrected CCE ``-log (T^T f)_y`` (Patrini et al. 2017; Eq. 1 of the paper).

    ``T`` (``(C, C)``, row-stochastic, ``T[i, j] = p(noisy = j | true = i)``) is validated once
    and kept as the float32 buffer ``T`` (saved in ``state_dict``, moved by ``.to()``).
    """

    T: Tensor

    def __init__(self, T: Any, reduction: str = "mean", check_inputs: bool = True) -> None:
        super().__init__(reduction, check_inputs)
        T = check_transition_matrix("T", T)
        T = T.detach() if isinstance(T, Tensor) else torch.from_numpy(np.asarray(T))
        self.register_buffer("T", T.to(torch.float32).clone())

    @property
    def num_classes(self) -> int:
        return self.T.shape[0]

    def forward(self, logits: Tensor, target: Tensor, index: Tensor | None = None) -> Tensor:
        log_probs, target = _log_probs(logits, target, self.check_inputs)
        return _reduce(_forward_corrected(log_probs, target, self.T), self.reduction)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, {self._repr_tail()}"


class TruncatedLqLoss(_Loss):
    """Truncated L_q (Eq. 9) trained as Eq. 12 with alternating pruning (Algorithm 1).

    Holds one weight ``w_i`` per training sample in the buffer ``weights`` (float32,
    ``(num_samples,)``, all ones at start, saved in ``state_dict``). ``forward(logits, target,
    index)`` returns ``w_i L_q(f(x_i), y_i) - L_q(k) w_i`` for the batch's sample ids ``index``,
    reduced by ``"sum"``, ``"none"`` or ``"mean"`` (batch sum divided by the batch size, so a
    pruned sample contributes 0 and a constant zero gradient). :meth:`prune` is the pruning
    step of Algorithm 1: ``w_i = 1`` if ``f_{y_i}(x_i) > k`` else 0.
    """

    weights: Tensor

    def __init__(
        self,
        q: float = 0.7,
        k: float = 0.5,
        *,
        num_samples: int,
        reduction: str = "mean",
        check_inputs: bool = True,
    ) -> None:
        super().__init__(reduction, check_inputs)
        self.q = check_in_range("q", q, 0.0, 1.0)
        self.k = _check_k(k, self.q)
        self.num_samples = check_int("num_samples", num_samples, 1)
        self.lq_k = float(lq_of_probability(self.k, self.q))
        self.register_buffer("weights", torch.ones(num_samples, dtype=torch.float32))

    def _checked_index(self, index: Tensor | None, target: Tensor) -> Tensor:
        if index is None:
            raise ValueError("index (the batch's sample ids in [0, num_samples)) is required by TruncatedLqLoss")
        if not isinstance(index, Tensor):
            raise ValueError(
                f"index must be a tensor of sample ids in [0, {self.num_samples}), got {type(index).__name__}"
            )
        check_indices("index", index, self.num_samples, self.check_inputs)
        if isinstance(target, Tensor) and index.shape[0] != target.shape[0]:
            raise ValueError(
                f"index must have one sample id per target (length {target.shape[0]}), got length {index.shape[0]}"
            )
        return index.to(self.weights.device)

    def forward(self, logits: Tensor, target: Tensor, index: Tensor | None = None) -> Tensor:
        idx = self._checked_index(index, target)
        per_sample = _truncated_lq_per_sample(logits, target, self.weights[idx], self.q, self.lq_k, self.check_inputs)
        return _reduce(per_sample, self.reduction)

    @torch.no_grad()
    def prune(self, logits: Tensor, target: Tensor, index: Tensor) -> int:
        """Pruning step of Algorithm 1 for the given samples; returns how many of them now have ``w_i = 0``.

        Sets ``weights[index] = 1`` where the softmax output of the label, ``f_{y_i}(x_i)``,
        exceeds ``k`` and 0 otherwise (Eq. 11; the minimiser over ``w`` of Eq. 12).
        """
        idx = self._checked_index(index, target)
        if not bool(torch.isfinite(logits).all()):  # NaN > k is False: every sample would be pruned
            raise ValueError("logits must be finite to prune (got NaN or infinite values): the model diverged")
        keep = _log_prob_of_target(logits.detach(), target, self.check_inputs).exp() > self.k
        self.weights[idx] = keep.to(device=self.weights.device, dtype=self.weights.dtype)
        return int((self.weights[idx] == 0).sum())

    def pruned_mask(self) -> Tensor:
        """Boolean mask ``(num_samples,)``, True where the sample is pruned (``w_i = 0``)."""
        return self.weights == 0

    @property
    def n_pruned(self) -> int:
        """Number of training samples currently pruned (``w_i = 0``), named as in the trainer's history."""
        return int(self.pruned_mask().sum())

    def extra_repr(self) -> str:
        return f"q={self.q:g}, k={self.k:g}, num_samples={self.num_samples}, {self._repr_tail()}"
