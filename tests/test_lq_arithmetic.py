"""The float32 path of Eq. 6 (for devices without float64, e.g. Apple MPS), run on the CPU.

The float64 path is what the CPU and CUDA compute (and what the committed results used); the
float32 path must agree with it to float32 rounding over every q in [0, 1] and every finite
log-probability, with finite values and gradients.
"""

from __future__ import annotations

import pytest
import torch

from gce_lab.lq_arithmetic import float64_available, lq_from_log_prob

QS = [0.0, 1e-40, 1e-20, 1e-8, 1e-4, 1e-3, 0.1, 0.5, 0.7, 1.0]
LOG_PS = torch.tensor([0.0, -1e-30, -1e-7, -1e-3, -0.1, -0.69, -1.0, -5.0, -30.0, -103.0, -1e4, -1e30, -3e38])


def test_the_device_decides_the_path():
    assert float64_available(torch.device("cpu"))
    assert not float64_available(torch.device("mps"))


@pytest.mark.parametrize("q", QS)
def test_float32_path_agrees_with_float64_path(q):
    exact = lq_from_log_prob(LOG_PS.double(), q, float64=True)
    got = lq_from_log_prob(LOG_PS, q, float64=False)
    assert got.dtype == torch.float32 and torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), exact, rtol=1.3e-6, atol=0.0)  # float32 rounding


@pytest.mark.parametrize("q", QS)
def test_float32_path_gradient_is_finite_and_agrees(q):
    log_p32 = LOG_PS.clone().requires_grad_()
    log_p64 = LOG_PS.double().clone().requires_grad_()
    lq_from_log_prob(log_p32, q, float64=False).sum().backward()
    lq_from_log_prob(log_p64, q, float64=True).sum().backward()
    assert torch.isfinite(log_p32.grad).all()
    # d/dlog p of (1 - p^q) / q is -p^q: in [-1, 0]
    torch.testing.assert_close(log_p32.grad.double(), log_p64.grad, rtol=1e-6, atol=1e-7)


def test_default_path_on_the_cpu_is_float64_and_unchanged():
    log_p = torch.tensor([-0.1, -2.0, -40.0])
    for q in (1e-40, 0.7):
        forced = lq_from_log_prob(log_p, q, float64=True)
        assert torch.equal(lq_from_log_prob(log_p, q), forced)
    # the float64 arithmetic: -expm1(q log p) / q, here at q = 0.7, log p = -2
    assert lq_from_log_prob(torch.tensor([-2.0], dtype=torch.float64), 0.7).item() == pytest.approx(
        -torch.expm1(torch.tensor(-1.4, dtype=torch.float64)).item() / 0.7, rel=1e-15
    )
