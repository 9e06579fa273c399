"""Generalized cross entropy (the L_q loss, Eq. 6) as a drop-in for ``torch.nn.CrossEntropyLoss``.

:class:`GCELoss` / :func:`gce_loss` take what ``CrossEntropyLoss`` / ``F.cross_entropy`` take
and reduce the same way; only the per-element loss differs. Writing ``f = softmax(input)``
along the class dimension (dimension 1, or 0 for an unbatched ``(C,)`` input):

* **input**: logits of shape ``(C)``, ``(N, C)`` or ``(N, C, d1, ..., dK)``; float16/bfloat16
  are upcast to float32 (as autocast does for ``cross_entropy``), so the loss is float32 or
  float64.
* **class-index target** (integer, the shape of ``input`` without its class dimension):
  ``l = w_y (1 - f_y^q) / q`` (Eq. 6), with ``w = weight`` (ones by default) and ``l = 0`` where
  ``target == ignore_index``. ``"mean"`` is torch's weighted mean ``sum l / sum w_y`` over the
  elements not ignored (NaN when every element is ignored, as torch), ``"sum"`` the sum,
  ``"none"`` the elements.
* **probability target** (floating, the shape of ``input``): the expected L_q under the target
  distribution, ``l = sum_c w_c t_c (1 - f_c^q) / q``, which at ``q -> 0`` is torch's soft-target
  cross entropy ``-sum_c w_c t_c log f_c``. ``"mean"`` divides by the number of elements
  (torch's rule for probabilities); ``ignore_index`` does not apply. This is not Keras' form
  ``(1 - (sum_c t_c f_c)^q) / q``, which equals it for one-hot targets only and is not
  cross entropy at ``q -> 0`` for soft ones.
* ``q`` in ``[0, 1]``: ``q = 0`` is exactly ``F.cross_entropy`` (same ``weight``,
  ``ignore_index``, reduction), ``q = 1`` is MAE / 2 (Eq. 4).

Argument checks cost nothing on the device: types, shapes and dtypes are checked on every call
(they are known on the host). Values are not read: a class index out of range is caught by
torch's own ``nll_loss`` kernel, which raises ``IndexError`` on the CPU and fires a
device-side assert on CUDA, without a host synchronisation. ``validate=True`` adds host-side
checks with messages naming the parameter (indices in ``[0, C)`` or ``ignore_index``,
probability rows in ``[0, 1]`` summing to 1, ``weight`` finite and ``>= 0``), at one
synchronisation per call: for debugging, not for ``torch.compile(fullgraph=True)``.

:class:`TruncatedGCELoss` (Eq. 9-12) and :class:`ForwardCorrectedGCELoss` (Patrini et al.
2017, Eq. 1 of the paper) follow the same conventions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gce_lab.lq_arithmetic import lq_from_log_prob
from gce_lab.validation import (
    ROW_SUM_ATOL,
    check_bool,
    check_choice,
    check_in_range,
    check_int,
    check_transition_matrix,
)

__all__ = ["gce_loss", "GCELoss", "TruncatedGCELoss", "ForwardCorrectedGCELoss"]

REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- free argument checks
def _class_dim(input: Tensor) -> int:
    return 0 if input.ndim == 1 else 1


def _check_input(input: Any) -> Tensor:
    if not isinstance(input, Tensor) or not input.is_floating_point() or input.ndim < 1:
        got = f"shape {tuple(input.shape)}, dtype {input.dtype}" if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(
            f"input must be a floating-point tensor of logits of shape (C), (N, C) or (N, C, d1, ...), got {got}"
        )
    return input


def _target_is_probability(input: Tensor, target: Any) -> bool:
    """True for a probability target, False for class indices; checks the shape and dtype."""
    if not isinstance(target, Tensor):
        raise ValueError(
            f"target must be a tensor of class indices or class probabilities, got {type(target).__name__}"
        )
    if target.is_floating_point():
        if target.shape != input.shape:
            raise ValueError(
                f"target of class probabilities (floating point) must have input's shape {tuple(input.shape)}, "
                f"got {tuple(target.shape)}; class indices must be an integer tensor"
            )
        return True
    if target.dtype == torch.bool or target.is_complex():
        raise ValueError(f"target must hold integer class indices or floating-point probabilities, got {target.dtype}")
    expected = () if input.ndim == 1 else input.shape[:1] + input.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"target of class indices must have shape {tuple(expected)} (input's shape without its class "
            f"dimension), got {tuple(target.shape)}"
        )
    return False


def _check_weight(weight: Any) -> Tensor | None:
    if weight is not None and (not isinstance(weight, Tensor) or not weight.is_floating_point() or weight.ndim != 1):
        raise ValueError(f"weight must be None or a 1-D floating-point tensor of C class weights, got {weight!r}")
    return weight


def _check_weight_size(weight: Tensor | None, num_classes: int) -> None:
    if weight is not None and weight.shape[0] != num_classes:
        raise ValueError(f"weight must have one entry per class (C = {num_classes}), got {weight.shape[0]}")


def _check_ignore_index(ignore_index: Any) -> int:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise ValueError(f"ignore_index must be an integer (torch's default is -100), got {ignore_index!r}")
    return int(ignore_index)


# --------------------------------------------------------------------------- opt-in value checks
def _validate_values(
    target: Tensor, probability: bool, num_classes: int, ignore_index: int, weight: Tensor | None, class_dim: int
) -> None:
    """The host-side checks of ``validate=True`` (one synchronisation)."""
    if weight is not None and not bool(torch.isfinite(weight).all() and (weight >= 0).all()):
        raise ValueError("weight must be finite and >= 0")
    if probability:
        t = target.detach()
        if not bool(torch.isfinite(t).all() and (t >= 0).all() and (t <= 1).all()):
            raise ValueError("target probabilities must be finite and in [0, 1]")
        worst = float((t.sum(class_dim) - 1).abs().max()) if t.numel() else 0.0
        if worst > ROW_SUM_ATOL:
            raise ValueError(
                f"target probabilities must sum to 1 over the class dimension (atol {ROW_SUM_ATOL:g}), "
                f"got a sum {worst:.3g} off"
            )
        return
    kept = target[target != ignore_index]
    if kept.numel() and not bool(((kept >= 0) & (kept < num_classes)).all()):
        lo, hi = int(kept.min()), int(kept.max())
        raise ValueError(
            f"target must hold class indices in [0, {num_classes}) or ignore_index={ignore_index}, "
            f"got values in [{lo}, {hi}]"
        )


# --------------------------------------------------------------------------- the shared computation
def _log_softmax(input: Tensor) -> Tensor:
    if input.dtype in (torch.float16, torch.bfloat16):
        input = input.float()
    return F.log_softmax(input, dim=_class_dim(input))


def _reduce(per_element: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return per_element.mean()
    if reduction == "sum":
        return per_element.sum()
    return per_element


def _along_class_dim(weight: Tensor, like: Tensor) -> Tensor:
    shape = [1] * like.ndim
    shape[_class_dim(like)] = -1
    return weight.to(like).view(shape)


def _gce_from_log_probs(
    log_probs: Tensor,
    target: Tensor,
    probability: bool,
    q: float,
    weight: Tensor | None,
    ignore_index: int,
    reduction: str,
) -> Tensor:
    """L_q of Eq. 6 from ``log f`` with torch's target, weight and reduction conventions."""
    if probability:
        per_class = lq_from_log_prob(log_probs, q)  # L_q(f_c) of every class c
        if weight is not None:
            per_class = per_class * _along_class_dim(weight, per_class)
        return _reduce((target.to(per_class) * per_class).sum(_class_dim(log_probs)), reduction)
    weight = None if weight is None else weight.to(log_probs.dtype)
    target = target.long()  # nll_loss's index type (a no-op for int64)
    if q == 0.0:
        return F.nll_loss(log_probs, target, weight=weight, ignore_index=ignore_index, reduction=reduction)
    # -log f_y via torch's own kernel: its bounds check of target (IndexError on the CPU, a
    # device-side assert on CUDA) costs no host synchronisation; 0 where target is ignored.
    log_p_y = -F.nll_loss(log_probs, target, ignore_index=ignore_index, reduction="none")
    kept = target != ignore_index
    w = kept.to(log_probs.dtype)
    if weight is not None:
        w = w * weight[torch.where(kept, target, torch.zeros_like(target))]
    return _weighted_reduce(lq_from_log_prob(log_p_y, q) * w, w, reduction)


def _weighted_reduce(weighted: Tensor, w: Tensor, reduction: str) -> Tensor:
    """torch's reduction of class-index losses: ``"mean"`` divides by the sum of the weights used."""
    if reduction == "mean":
        return weighted.sum() / w.sum()
    return _reduce(weighted, reduction)


def _prepare(
    input: Any, target: Any, q: Any, weight: Any, ignore_index: Any, reduction: Any, validate: Any
) -> tuple[Tensor, bool, float]:
    """Check every argument (values only when ``validate``); return ``log f``, the target kind and q."""
    q = check_in_range("q", q, 0.0, 1.0)
    check_choice("reduction", reduction, REDUCTIONS)
    _check_ignore_index(ignore_index)
    probability = _target_is_probability(_check_input(input), target)
    num_classes = input.shape[_class_dim(input)]
    _check_weight_size(_check_weight(weight), num_classes)
    if check_bool("validate", validate):
        _validate_values(target, probability, num_classes, ignore_index, weight, _class_dim(input))
    return _log_softmax(input), probability, q


# --------------------------------------------------------------------------- GCE
def gce_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    q: float = 0.7,
    ignore_index: int = -100,
    reduction: str = "mean",
    validate: bool = False,
) -> Tensor:
    """The L_q / GCE loss of Eq. 6 with the arguments of ``F.cross_entropy`` (see the module docstring).

    ``q = 0.7`` is the paper's value (Keras' ``CategoricalGeneralizedCrossEntropy`` uses 0.5).
    ``label_smoothing`` is not offered: smoothing a target for L_q is not defined by the paper.
    """
    log_probs, probability, q = _prepare(input, target, q, weight, ignore_index, reduction, validate)
    return _gce_from_log_probs(log_probs, target, probability, q, weight, ignore_index, reduction)


class _TorchConventionLoss(nn.Module):
    """Holds ``q``, the ``weight`` buffer (as ``nn.CrossEntropyLoss``), ``ignore_index``, ``reduction``."""

    weight: Tensor | None

    def __init__(self, weight: Tensor | None, q: float, ignore_index: int, reduction: str, validate: bool) -> None:
        super().__init__()
        self.q = check_in_range("q", q, 0.0, 1.0)
        self.register_buffer("weight", _check_weight(weight))
        self.ignore_index = _check_ignore_index(ignore_index)
        self.reduction = check_choice("reduction", reduction, REDUCTIONS)
        self.validate = check_bool("validate", validate)

    def extra_repr(self) -> str:
        tail = ", validate=True" if self.validate else ""
        return f"q={self.q:g}, ignore_index={self.ignore_index}, reduction={self.reduction!r}{tail}"


class GCELoss(_TorchConventionLoss):
    """The L_q / GCE loss of Eq. 6 as a drop-in for ``nn.CrossEntropyLoss`` (see the module docstring).

    ``GCELoss(weight=None, *, q=0.7, ignore_index=-100, reduction="mean", validate=False)``;
    ``forward(input, target)``. ``weight`` is a buffer (moved by ``.to()``, in ``state_dict``).
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        *,
        q: float = 0.7,
        ignore_index: int = -100,
        reduction: str = "mean",
        validate: bool = False,
    ) -> None:
        super().__init__(weight, q, ignore_index, reduction, validate)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return gce_loss(
            input,
            target,
            self.weight,
            q=self.q,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            validate=self.validate,
        )


# --------------------------------------------------------------------------- truncated GCE
class TruncatedGCELoss(_TorchConventionLoss):
    """Truncated L_q (Eq. 9) with the per-sample weights of Eq. 12, pruned by Algorithm 1.

    ``TruncatedGCELoss(num_samples, *, q=0.7, k=0.5, weight=None, ignore_index=-100,
    reduction="mean", validate=False)``, for logits ``(N, C)`` and class-index targets.
    ``num_samples`` is the size of the **training set**: the buffer ``sample_weights`` holds
    one ``w_i`` per training sample (ones at start, in ``state_dict``) and is only ever read
    through the training-set ids a caller passes as ``index``:

    * ``forward(input, target, index)``, training: Eq. 12's per-sample objective
      ``w_i (L_q(f(x_i), y_i) - L_q(k))``. It is ``<= 0`` for every sample kept by the last
      pruning that still has ``f_y > k``, so the batch loss is negative by design
      (AlanChou/Truncated-Loss#4): Eq. 12 is Eq. 9 minus the constant ``L_q(k)`` per sample.
    * ``forward(input, target)``, any set (validation, test): Eq. 9's value, ``L_q(k)`` where
      ``f_y <= k`` and ``L_q(f(x), y)`` otherwise, which needs no per-sample state. A test set
      is never looked up in the training weights (AlanChou/Truncated-Loss#6).

    ``weight``, ``ignore_index`` and the reductions are torch's: ``"mean"`` divides by the sum
    of the class weights of the samples not ignored (``N`` without weights). :meth:`prune` is
    the pruning step of Algorithm 1.
    """

    sample_weights: Tensor

    def __init__(
        self,
        num_samples: int,
        *,
        q: float = 0.7,
        k: float = 0.5,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        validate: bool = False,
    ) -> None:
        super().__init__(weight, q, ignore_index, reduction, validate)
        self.num_samples = check_int("num_samples (the training-set size)", num_samples, 1)
        if self.q == 0.0:  # L_q(k) at q = 0 is -log k, infinite at k = 0
            self.k = check_in_range("k (with q = 0)", k, 0.0, 1.0, low_open=True)
        else:
            self.k = check_in_range("k", k, 0.0, 1.0)
        self.lq_k = float(lq_from_log_prob(torch.tensor(self.k, dtype=torch.float64).log(), self.q))
        self.register_buffer("sample_weights", torch.ones(self.num_samples, dtype=torch.float32))

    def _log_p_y(self, input: Tensor, target: Tensor, index: Tensor | None) -> Tensor:
        """Checked ``log f_y`` per sample (0 where ignored)."""
        if _check_input(input).ndim != 2 or _target_is_probability(input, target):
            raise ValueError(
                "TruncatedGCELoss takes logits of shape (N, C) and integer class indices of shape (N,), "
                f"got input {tuple(input.shape)} and target {tuple(target.shape)} ({target.dtype})"
            )
        _check_weight_size(self.weight, input.shape[1])
        if index is not None and (
            not isinstance(index, Tensor) or index.is_floating_point() or index.shape != target.shape
        ):
            raise ValueError(
                f"index must be an integer tensor of training-set ids in [0, {self.num_samples}), one per "
                f"target (shape {tuple(target.shape)}), got {index!r}"
            )
        if self.validate:
            _validate_values(target, False, input.shape[1], self.ignore_index, self.weight, 1)
            if index is not None and index.numel() and not bool(((index >= 0) & (index < self.num_samples)).all()):
                raise ValueError(f"index must hold training-set ids in [0, {self.num_samples})")
        log_probs = _log_softmax(input)
        return -F.nll_loss(log_probs, target.long(), ignore_index=self.ignore_index, reduction="none")

    def forward(self, input: Tensor, target: Tensor, index: Tensor | None = None) -> Tensor:
        log_p_y = self._log_p_y(input, target, index)
        lq = lq_from_log_prob(log_p_y, self.q)
        if index is None:  # Eq. 9
            per_sample = torch.where(log_p_y.exp() > self.k, lq, torch.full_like(lq, self.lq_k))
        else:  # Eq. 12; indexing raises (CPU) or asserts (CUDA) on an id outside the training set
            per_sample = self.sample_weights[index].to(lq) * (lq - self.lq_k)
        kept = target != self.ignore_index
        w = kept.to(lq.dtype)
        if self.weight is not None:
            w = w * self.weight.to(lq.dtype)[torch.where(kept, target, torch.zeros_like(target))]
        return _weighted_reduce(per_sample * w, w, self.reduction)

    @torch.no_grad()
    def prune(self, input: Tensor, target: Tensor, index: Tensor) -> None:
        """Algorithm 1's pruning step for training samples ``index``: ``w_i = 1`` iff ``f_{y_i}(x_i) > k``.

        This is the minimiser over ``w`` of Eq. 12 at the current model. NaN logits would prune
        every sample silently, so they raise (one host synchronisation per call).
        """
        if index is None:
            raise ValueError(f"index (the training-set ids in [0, {self.num_samples}) of the samples) is required")
        log_p_y = self._log_p_y(input.detach(), target, index)
        if not bool(torch.isfinite(log_p_y).all()):
            raise ValueError("input must be finite to prune (got NaN or infinite logits): the model diverged")
        self.sample_weights[index] = (log_p_y.exp() > self.k).to(self.sample_weights.dtype)

    @property
    def num_pruned(self) -> int:
        """How many training samples have ``w_i = 0`` (one host synchronisation)."""
        return int((self.sample_weights == 0).sum())

    def extra_repr(self) -> str:
        return f"num_samples={self.num_samples}, k={self.k:g}, {super().extra_repr()}"


# --------------------------------------------------------------------------- forward correction
class ForwardCorrectedGCELoss(_TorchConventionLoss):
    """L_q on the forward-corrected prediction ``T^T f`` (Patrini et al. 2017; Eq. 1 of the paper).

    ``ForwardCorrectedGCELoss(T, weight=None, *, q=0.7, ignore_index=-100, reduction="mean",
    validate=False)``: ``q = 0`` is Patrini et al.'s forward-corrected cross entropy
    ``-log (T^T f)_y`` (the paper's Forward T / T-hat baseline), ``q > 0`` is L_q of the
    corrected prediction. ``T[i, j] = p(noisy = j | true = i)`` is checked once (row-stochastic,
    ``(C, C)``) and kept as the float32 buffer ``T``; ``target`` holds noisy labels (class
    indices or probabilities). Computed as ``logsumexp_i(log f_i + log T[i, c])``.
    """

    T: Tensor

    def __init__(
        self,
        T: Any,
        weight: Tensor | None = None,
        *,
        q: float = 0.7,
        ignore_index: int = -100,
        reduction: str = "mean",
        validate: bool = False,
    ) -> None:
        super().__init__(weight, q, ignore_index, reduction, validate)
        T = check_transition_matrix("T", T)
        T = T.detach() if isinstance(T, Tensor) else torch.from_numpy(np.asarray(T))
        T = T.to(torch.float32)
        self.register_buffer("T", T / T.sum(dim=1, keepdim=True))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        log_probs, probability, _ = _prepare(
            input, target, self.q, self.weight, self.ignore_index, self.reduction, self.validate
        )
        class_dim = _class_dim(log_probs)
        if log_probs.shape[class_dim] != self.T.shape[0]:
            raise ValueError(
                f"input must have C = {self.T.shape[0]} classes (T's size), got {log_probs.shape[class_dim]}"
            )
        log_t = torch.log(self.T.to(log_probs))  # zero entries -> -inf, which logsumexp handles
        last = log_probs.movedim(class_dim, -1).unsqueeze(-1)  # (..., C_true, 1)
        corrected = torch.logsumexp(last + log_t, dim=-2).movedim(-1, class_dim)  # log (T^T f)
        return _gce_from_log_probs(
            corrected, target, probability, self.q, self.weight, self.ignore_index, self.reduction
        )
