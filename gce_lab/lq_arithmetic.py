"""The per-element arithmetic of Eq. 6, ``L_q = (1 - f_y^q) / q``, from ``log f_y``.

One job: compute ``(1 - p^q) / q`` from ``log p`` exactly and finitely for every ``q`` in
``[0, 1]`` and every finite ``log p``, on any device. It is shared by MAE, L_q, truncated L_q
(:mod:`gce_lab.losses`) and the drop-in losses of :mod:`gce_lab.gce`.

Two formulations, chosen by the device (never by the values, so nothing synchronises):

* **float64** where the device has it (CPU, CUDA): ``-expm1(q log p) / q``, with the series
  ``-log p (1 + x/2 + x^2/6)`` of the same expression where ``x = q log p`` is tiny. float64
  is needed there because ``q`` may be far below float32's normal range (``q = 1e-40``).
* **float32** where the device has no float64 (Apple MPS): ``-log p * expm1(x) / x`` with
  the series ``1 + x/2 + x^2/6`` of ``expm1(x) / x`` for tiny ``x``. It never divides by
  ``q``, so a ``q`` that underflows float32 gives ``x = 0`` and the limit ``-log p`` (CCE),
  and ``expm1(x) / x`` lies in ``(0, 1]`` for ``x <= 0``: finite for any finite ``log p``.
  For a ``q`` below float32's normal range its gradient ``-p^q`` is given directly (autograd
  through ``expm1(x) / x`` would meet ``1/q``-sized intermediates there).
  It agrees with the float64 path to float32 rounding (``tests/test_lq_arithmetic.py``).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["float64_available", "lq_from_log_prob"]

#: Below this |q log p|, ``expm1(x)`` is replaced by its series (error below 1e-13 relative in
#: float64, far below float32 rounding in the float32 path).
SERIES_BELOW = 1e-3

#: The smallest normal float32; a q below it is subnormal in float32 and 1/q overflows.
_FLOAT32_TINY = torch.finfo(torch.float32).tiny

#: Device types whose kernels have no float64.
_NO_FLOAT64 = frozenset({"mps"})


def float64_available(device: torch.device) -> bool:
    """Whether tensors of ``device`` can be float64 (False on Apple MPS)."""
    return device.type not in _NO_FLOAT64


def lq_from_log_prob(log_prob: Tensor, q: float, *, float64: bool | None = None) -> Tensor:
    """Eq. 6 elementwise from ``log p``: ``(1 - p^q) / q``; ``-log p`` (CCE) at ``q = 0``.

    ``float64=None`` computes in float64 where ``log_prob``'s device has it and in float32
    otherwise (see the module docstring); ``True`` / ``False`` forces one path (the tests run
    the float32 path on the CPU). Both branches of each ``torch.where`` see only values they
    are finite for, so no NaN reaches a gradient. Returned in ``log_prob``'s dtype.
    """
    if q == 0.0:
        return -log_prob
    if float64 is None:
        float64 = float64_available(log_prob.device)
    if float64:
        return _lq_float64(log_prob, q).to(log_prob.dtype)
    return _lq_float32(log_prob, q).to(log_prob.dtype)


def _lq_float64(log_prob: Tensor, q: float) -> Tensor:
    log_p = log_prob.double()
    small = (q * log_p).abs() < SERIES_BELOW
    log_small = torch.where(small, log_p, torch.zeros_like(log_p))
    x_small = q * log_small
    x_large = torch.where(small, torch.full_like(log_p, -1.0), q * log_p)
    series = -log_small * (1.0 + x_small / 2.0 + x_small * x_small / 6.0)
    return torch.where(small, series, -torch.expm1(x_large) / q)


def _lq_float32(log_prob: Tensor, q: float) -> Tensor:
    log_p = log_prob.float()
    x = q * log_p
    small = x.abs() < SERIES_BELOW
    x_small = torch.where(small, x, torch.zeros_like(x))
    x_large = torch.where(small, torch.full_like(x, -1.0), x)
    expm1_over_x = torch.where(small, 1.0 + x_small / 2.0 + x_small * x_small / 6.0, torch.expm1(x_large) / x_large)
    lq = -log_p * expm1_over_x
    if q >= _FLOAT32_TINY:
        return lq
    # q below float32's normal range: autograd through expm1(x) / x would form 1/q-sized terms
    # (inf - inf where |log p| is huge). The derivative is -p^q = -exp(x), given directly; the
    # second derivative, -q exp(x), is below float32's normal range and rightly 0 here.
    return lq.detach() - torch.exp(x).detach() * (log_p - log_p.detach())
