"""Tests of gce_lab.losses against float64 reference formulas written out here from the paper.

The references below use numpy only and never call gce_lab helpers, so a wrong formula in the
package (wrong q, wrong sign, wrong reduction, T instead of T^T, ...) makes these tests fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gce_lab.losses import (
    CCELoss,
    ForwardCorrectedLoss,
    LqLoss,
    MAELoss,
    TruncatedLqLoss,
    cce_loss,
    forward_corrected_loss,
    lq_loss,
    lq_of_probability,
    mae_loss,
    truncated_lq_loss,
)
from gce_lab.methods import PAPER_METHODS, make_loss

N, C = 16, 5
REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- float64 references
def ref_softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ref_log_softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def onehot(y: np.ndarray, c: int) -> np.ndarray:
    return np.eye(c)[y]


def ref_loss(method: str, z: np.ndarray, y: np.ndarray, q: float = 0.7, T: np.ndarray | None = None) -> np.ndarray:
    """Per-sample losses, float64, straight from the equations."""
    p = ref_softmax(z)
    rows = np.arange(len(y))
    p_y = p[rows, y]
    if method == "cce":  # Eq. 2
        return -ref_log_softmax(z)[rows, y]
    if method == "mae":  # Eq. 4, ||e_y - f||_1
        return np.abs(onehot(y, z.shape[1]) - p).sum(axis=1)
    if method == "lq":  # Eq. 6
        return (1.0 - p_y**q) / q
    if method == "forward":  # Eq. 1: -log sum_i T[i, y] f_i
        return -np.log((p @ T)[rows, y])
    raise AssertionError(method)


def ref_grad(method: str, z: np.ndarray, y: np.ndarray, q: float = 0.7, T: np.ndarray | None = None) -> np.ndarray:
    """Per-sample d loss / d z (closed forms), float64."""
    p = ref_softmax(z)
    rows = np.arange(len(y))
    e = onehot(y, z.shape[1])
    p_y = p[rows, y][:, None]
    if method == "cce":
        return p - e
    if method == "mae":
        return -2.0 * p_y * (e - p)
    if method == "lq":
        return -(p_y**q) * (e - p)
    if method == "forward":
        s = (p @ T)[rows, y][:, None]
        return p - T[:, y].T * p / s
    raise AssertionError(method)


def reduce_ref(values: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return values.mean(axis=0)
    if reduction == "sum":
        return values.sum(axis=0)
    return values


def random_T(c: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    T = rng.random((c, c)) + 2.0 * np.eye(c)
    return T / T.sum(axis=1, keepdims=True)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    logits = 3.0 * torch.randn(N, C, generator=g)
    target = torch.randint(0, C, (N,), generator=g)
    return logits, target


def call(method: str, logits: torch.Tensor, target: torch.Tensor, reduction: str, q: float, T: np.ndarray):
    if method == "cce":
        return cce_loss(logits, target, reduction)
    if method == "mae":
        return mae_loss(logits, target, reduction)
    if method == "lq":
        return lq_loss(logits, target, q, reduction)
    return forward_corrected_loss(logits, target, T, reduction)


# --------------------------------------------------------------------------- values and gradients
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "method,q", [("cce", 0.0), ("mae", 1.0), ("lq", 0.3), ("lq", 0.7), ("lq", 1.0), ("forward", 0.0)]
)
def test_loss_and_gradient_match_float64_reference(batch, method, q, reduction):
    logits, target = batch
    T = random_T(C, seed=1)
    z = logits.clone().requires_grad_()
    loss = call(method, z, target, reduction, q, T)
    assert loss.dtype == torch.float32
    per_sample = ref_loss(method, logits.numpy(), target.numpy(), q=q, T=T)
    expected = reduce_ref(per_sample, reduction)
    np.testing.assert_allclose(loss.detach().numpy(), expected, rtol=1e-5, atol=1e-6)

    loss.sum().backward()  # for "none": sum of per-sample losses -> per-sample gradients
    grad = ref_grad(method, logits.numpy(), target.numpy(), q=q, T=T)
    if reduction == "mean":
        grad = grad / N
    np.testing.assert_allclose(z.grad.numpy(), grad, rtol=1e-4, atol=1e-6)


def test_reference_distinguishes_q_from_one_minus_q(batch):
    """A q / (1 - q) mix-up in the package would fail the comparison above: the references differ."""
    logits, target = batch
    z, y = logits.numpy(), target.numpy()
    assert np.abs(ref_loss("lq", z, y, q=0.3) - ref_loss("lq", z, y, q=0.7)).max() > 0.05
    got = lq_loss(logits, target, 0.3, "none").numpy()
    assert not np.allclose(got, ref_loss("lq", z, y, q=0.7), rtol=1e-3)
    np.testing.assert_allclose(got, ref_loss("lq", z, y, q=0.3), rtol=1e-5, atol=1e-6)


def test_forward_correction_uses_T_transpose(batch):
    """(T^T f)_y, not (T f)_y: with a non-symmetric T the two differ and only the first matches."""
    logits, target = batch
    T = random_T(C, seed=2)
    assert not np.allclose(T, T.T)
    got = forward_corrected_loss(logits, target, T, "none").numpy()
    p = ref_softmax(logits.numpy())
    wrong = -np.log((p @ T.T)[np.arange(N), target.numpy()])
    assert np.abs(got - wrong).max() > 1e-3
    np.testing.assert_allclose(got, ref_loss("forward", logits.numpy(), target.numpy(), T=T), rtol=1e-5)


def test_cce_matches_torch_cross_entropy(batch):
    logits, target = batch
    for reduction in REDUCTIONS:
        torch.testing.assert_close(
            cce_loss(logits, target, reduction), F.cross_entropy(logits, target, reduction=reduction)
        )


def test_mae_is_two_minus_two_f_y(batch):
    logits, target = batch
    f_y = ref_softmax(logits.numpy())[np.arange(N), target.numpy()]
    np.testing.assert_allclose(mae_loss(logits, target, "none").numpy(), 2.0 - 2.0 * f_y, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- limits of L_q
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_lq_at_q1_is_exactly_half_mae(batch, reduction):
    logits, target = batch
    assert torch.equal(2.0 * lq_loss(logits, target, 1.0, reduction), mae_loss(logits, target, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_lq_at_q0_is_exactly_cce(batch, reduction):
    logits, target = batch
    assert torch.equal(lq_loss(logits, target, 0.0, reduction), cce_loss(logits, target, reduction))


def test_lq_tends_to_cce_as_q_goes_to_zero(batch):
    logits, target = batch
    z = logits.clone().requires_grad_()
    lq = lq_loss(z, target, 1e-6, "none")
    (g_lq,) = torch.autograd.grad(lq.sum(), z)
    cce = cce_loss(z, target, "none")
    (g_cce,) = torch.autograd.grad(cce.sum(), z)
    # L_q = -log f - q (log f)^2 / 2 + O(q^2): relative gap ~ q |log f| / 2
    torch.testing.assert_close(lq, cce, rtol=2e-5, atol=1e-6)
    torch.testing.assert_close(g_lq, g_cce, rtol=2e-5, atol=1e-6)
    # and it is not CCE exactly: the gap has the sign of -q (log f)^2 / 2
    assert torch.all(lq <= cce)


def test_lq_is_monotone_between_cce_and_half_mae(batch):
    """For fixed f_y, (1 - f^q)/q decreases in q, from -log f (q=0) to 1 - f (q=1)."""
    logits, target = batch
    values = torch.stack([lq_loss(logits, target, q, "none") for q in (0.0, 0.25, 0.5, 0.75, 1.0)])
    assert torch.all(values[1:] <= values[:-1] + 1e-7)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.8, 1.0])
def test_lq_gradient_is_f_y_to_the_q_times_cce_gradient(batch, q):
    """Section 3.2: dL_q/dz = f_y^q dCCE/dz (per sample)."""
    logits, target = batch
    z = logits.clone().requires_grad_()
    (g_lq,) = torch.autograd.grad(lq_loss(z, target, q, "sum"), z)
    (g_cce,) = torch.autograd.grad(cce_loss(z, target, "sum"), z)
    f_y = torch.softmax(logits.double(), dim=1)[torch.arange(N), target]
    expected = f_y.pow(q).unsqueeze(1) * g_cce.double()
    torch.testing.assert_close(g_lq.double(), expected, rtol=1e-4, atol=1e-7)


# --------------------------------------------------------------------------- L_q(k)
def test_lq_of_probability_values():
    assert lq_of_probability(0.5, 0.0) == pytest.approx(math.log(2.0), rel=1e-12)  # -log k
    assert lq_of_probability(0.5, 1.0) == pytest.approx(0.5, rel=1e-12)  # 1 - k
    assert lq_of_probability(0.5, 0.7) == pytest.approx((1 - 0.5**0.7) / 0.7, rel=1e-12)
    assert lq_of_probability(0.5, 0.7) != pytest.approx((1 - 0.5**0.3) / 0.3, rel=1e-3)
    assert lq_of_probability(0.3, 1e-9) == pytest.approx(-math.log(0.3), rel=1e-8)
    assert lq_of_probability(1.0, 0.7) == 0.0
    assert lq_of_probability(0.0, 0.5) == pytest.approx(2.0)  # 1/q
    assert lq_of_probability(0.0, 0.0) == math.inf
    p = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    torch.testing.assert_close(lq_of_probability(p, 0.7), (1 - p**0.7) / 0.7)
    torch.testing.assert_close(lq_of_probability(p, 0.0), -torch.log(p))


# --------------------------------------------------------------------------- numerics
def huge_logits() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    logits = 1e4 * torch.randn(N, C, generator=g)
    logits[0] = torch.tensor([1e4, -1e4, 0.0, 5e3, -5e3])
    target = torch.randint(0, C, (N,), generator=g)
    target[0] = 1  # f_y = exp(-2e4): underflows to 0 in any float format
    return logits, target


@pytest.mark.parametrize("method", ["cce", "mae", "lq", "forward"])
def test_huge_logits_give_finite_losses_and_gradients(method):
    logits, target = huge_logits()
    T = random_T(C, seed=4)
    for reduction in REDUCTIONS:
        z = logits.clone().requires_grad_()
        loss = call(method, z, target, reduction, 0.7, T)
        loss.sum().backward()
        assert torch.isfinite(loss).all(), (method, reduction)
        assert torch.isfinite(z.grad).all(), (method, reduction)
    # the values are right, too (references are exact here in float64)
    got = call(method, logits, target, "none", 0.7, T).double().numpy()
    np.testing.assert_allclose(got, ref_loss(method, logits.numpy(), target.numpy(), q=0.7, T=T), rtol=1e-5, atol=1e-6)


def test_huge_logits_cce_value():
    logits, target = huge_logits()
    assert cce_loss(logits, target, "none")[0].item() == pytest.approx(2e4, rel=1e-6)


def test_forward_correction_with_identity_T_is_cce_even_for_huge_logits():
    logits, target = huge_logits()
    z = logits.clone().requires_grad_()
    fwd = forward_corrected_loss(z, target, torch.eye(C), "sum")
    (g_fwd,) = torch.autograd.grad(fwd, z)
    z2 = logits.clone().requires_grad_()
    cce = cce_loss(z2, target, "sum")
    (g_cce,) = torch.autograd.grad(cce, z2)
    torch.testing.assert_close(fwd, cce)
    torch.testing.assert_close(g_fwd, g_cce)
    assert torch.isfinite(g_fwd).all()


def test_forward_correction_saturates_at_minus_log_T():
    """When f is one-hot on class j, the noisy likelihood of label y is T[j, y]."""
    eta = 0.4
    T = np.full((C, C), eta / (C - 1)) + (1 - eta - eta / (C - 1)) * np.eye(C)
    logits = torch.tensor([[1e4, 0.0, 0.0, 0.0, 0.0]] * 2)
    target = torch.tensor([0, 3])
    got = forward_corrected_loss(logits, target, T, "none")
    torch.testing.assert_close(got, torch.tensor([-math.log(1 - eta), -math.log(eta / (C - 1))]))


def all_losses(num_samples: int = N) -> dict[str, torch.nn.Module]:
    return {
        "cce": CCELoss(),
        "mae": MAELoss(),
        "lq": LqLoss(0.7),
        "forward": ForwardCorrectedLoss(random_T(C, seed=5)),
        "truncated": TruncatedLqLoss(0.7, 0.5, num_samples=num_samples),
    }


@pytest.mark.parametrize("name", ["cce", "mae", "lq", "forward", "truncated"])
def test_bfloat16_autocast(name, batch):
    _, target = batch
    torch.manual_seed(0)
    layer = torch.nn.Linear(8, C)
    x = torch.randn(N, 8)
    loss_fn = all_losses()[name]
    index = torch.arange(N)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = layer(x)
        assert logits.dtype == torch.bfloat16
        loss = loss_fn(logits, target, index)
    assert loss.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(layer.weight.grad).all()
    # upcast inside: same value as the float32 loss of the same bf16 logits
    torch.testing.assert_close(loss, loss_fn(logits.detach().float(), target, index))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["cce", "mae", "lq", "forward", "truncated"])
def test_half_precision_logits(name, dtype):
    logits, target = huge_logits()
    loss_fn = all_losses()[name]
    for scale in (1e-4, 1.0):  # logits of magnitude ~1 and ~1e4 (fp16 max is 65504)
        z = (scale * logits).to(dtype).requires_grad_()
        loss = loss_fn(z, target, torch.arange(N))
        loss.backward()
        assert loss.dtype == torch.float32
        assert torch.isfinite(loss)
        assert z.grad.dtype == dtype and torch.isfinite(z.grad).all()


# --------------------------------------------------------------------------- modules and factory
def test_modules_match_functions_and_ignore_index(batch):
    logits, target = batch
    T = random_T(C, seed=6)
    idx = torch.arange(N)
    for reduction in REDUCTIONS:
        torch.testing.assert_close(CCELoss(reduction)(logits, target, idx), cce_loss(logits, target, reduction))
        torch.testing.assert_close(MAELoss(reduction)(logits, target), mae_loss(logits, target, reduction))
        torch.testing.assert_close(LqLoss(0.4, reduction)(logits, target), lq_loss(logits, target, 0.4, reduction))
        torch.testing.assert_close(
            ForwardCorrectedLoss(T, reduction)(logits, target, idx),
            forward_corrected_loss(logits, target, T, reduction),
        )


def test_make_loss_builds_each_method():
    T = random_T(C, seed=7)
    expected = {
        "cce": CCELoss,
        "mae": MAELoss,
        "lq": LqLoss,
        "truncated_lq": TruncatedLqLoss,
        "forward_t": ForwardCorrectedLoss,
        "forward_t_hat": ForwardCorrectedLoss,
    }
    assert set(PAPER_METHODS) == set(expected)
    for method in PAPER_METHODS:
        loss = make_loss(method, q=0.3, k=0.4, T=T, num_samples=10, reduction="sum")
        assert type(loss) is expected[method]
        assert loss.reduction == "sum"
    assert make_loss("lq", q=0.3).q == 0.3
    trunc = make_loss("truncated_lq", q=0.3, k=0.4, num_samples=10)
    assert (trunc.q, trunc.k, trunc.weights.shape) == (0.3, 0.4, (10,))
    torch.testing.assert_close(make_loss("forward_t", T=T).T, torch.as_tensor(T, dtype=torch.float32))


def test_forward_module_keeps_T_in_state_dict():
    T = random_T(C, seed=8)
    loss = ForwardCorrectedLoss(T)
    restored = ForwardCorrectedLoss(np.eye(C))
    restored.load_state_dict(loss.state_dict())
    torch.testing.assert_close(restored.T, loss.T)


# --------------------------------------------------------------------------- truncated L_q
def test_truncated_objective_is_eq12(batch):
    logits, target = batch
    q, k = 0.7, 0.4
    w = torch.tensor([1.0, 0.0, 0.5, 1.0] * (N // 4))
    lq = ref_loss("lq", logits.numpy(), target.numpy(), q=q)
    lq_k = (1 - k**q) / q
    wn = w.numpy().astype(np.float64)
    expected_sum = (wn * lq).sum() - lq_k * wn.sum()
    got = truncated_lq_loss(logits, target, w, q, k, "sum").item()
    assert got == pytest.approx(expected_sum, rel=1e-5)
    assert truncated_lq_loss(logits, target, w, q, k, "mean").item() == pytest.approx(expected_sum / N, rel=1e-5)
    np.testing.assert_allclose(
        truncated_lq_loss(logits, target, w, q, k, "none").numpy(), wn * lq - wn * lq_k, rtol=1e-5, atol=1e-6
    )


def test_truncated_module_with_pruned_weights_is_eq9_minus_constant(batch):
    """Eq. 11: after pruning, the objective equals sum_i L_trunc (Eq. 9) - n L_q(k)."""
    logits, target = batch
    q, k = 0.6, 0.3
    loss = TruncatedLqLoss(q, k, num_samples=N, reduction="sum")
    idx = torch.arange(N)
    loss.prune(logits, target, idx)
    f_y = ref_softmax(logits.numpy())[np.arange(N), target.numpy()]
    lq_k = (1 - k**q) / q
    trunc = np.where(f_y <= k, lq_k, (1 - f_y**q) / q)  # Eq. 9
    assert 0 < int((f_y <= k).sum()) < N  # the batch exercises both branches
    assert loss(logits, target, idx).item() == pytest.approx(trunc.sum() - N * lq_k, rel=1e-5, abs=1e-6)


def test_truncated_q0_uses_minus_log_k(batch):
    logits, target = batch
    k = 0.25
    loss = TruncatedLqLoss(0.0, k, num_samples=N, reduction="none")
    assert loss.lq_k == pytest.approx(-math.log(k))
    expected = ref_loss("cce", logits.numpy(), target.numpy()) + math.log(k)
    np.testing.assert_allclose(loss(logits, target, torch.arange(N)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_truncated_mean_divides_by_batch_size_and_pruned_samples_get_no_gradient(batch):
    logits, target = batch
    loss = TruncatedLqLoss(0.7, 0.5, num_samples=100)
    index = torch.arange(50, 50 + N)
    loss.weights[index[::2]] = 0.0
    z = logits.clone().requires_grad_()
    value = loss(z, target, index)
    value.backward()
    per_sample = TruncatedLqLoss(0.7, 0.5, num_samples=100, reduction="none")
    per_sample.load_state_dict(loss.state_dict())
    torch.testing.assert_close(value, per_sample(logits, target, index).sum() / N)
    assert torch.all(z.grad[::2] == 0)
    assert torch.all(z.grad[1::2].abs().sum(dim=1) > 0)
    # the kept samples' gradient is the L_q gradient / N
    expected = torch.from_numpy(ref_grad("lq", logits.numpy(), target.numpy(), q=0.7)[1::2] / N)
    torch.testing.assert_close(z.grad[1::2], expected, rtol=1e-4, atol=1e-7, check_dtype=False)


def test_prune_semantics():
    k = 0.5
    loss = TruncatedLqLoss(0.7, k, num_samples=10)
    # f_y of each row: two classes; logit gap d gives f_0 = sigmoid(d)
    gaps = torch.tensor([3.0, 0.1, -0.1, -3.0, 0.0])
    logits = torch.stack([gaps, torch.zeros(5)], dim=1)
    target = torch.zeros(5, dtype=torch.long)  # f_y = sigmoid(gap): 0.95, 0.52, 0.48, 0.05, 0.5 (not > k)
    index = torch.tensor([7, 2, 4, 0, 9])
    assert loss.n_pruned == 0
    assert loss.prune(logits, target, index) == 3
    expected = torch.ones(10)
    expected[[4, 0, 9]] = 0.0
    torch.testing.assert_close(loss.weights, expected)
    assert loss.n_pruned == 3
    assert loss.pruned_mask().tolist() == (expected == 0).tolist()
    # pruning again with confident outputs restores weights (w is re-solved, not only decreased)
    assert loss.prune(torch.tensor([[5.0, 0.0]]), torch.tensor([0]), torch.tensor([4])) == 0
    assert loss.n_pruned == 2
    # the count is over the given samples only
    assert loss.prune(torch.tensor([[-5.0, 0.0]]), torch.tensor([0]), torch.tensor([1])) == 1
    assert loss.n_pruned == 3


def test_prune_does_not_track_gradients(batch):
    logits, target = batch
    loss = TruncatedLqLoss(num_samples=N)
    z = logits.clone().requires_grad_()
    loss.prune(z, target, torch.arange(N))
    assert not loss.weights.requires_grad


def test_truncated_weights_in_state_dict():
    loss = TruncatedLqLoss(0.7, 0.5, num_samples=6)
    loss.weights[[1, 4]] = 0.0
    state = loss.state_dict()
    assert "weights" in state
    restored = TruncatedLqLoss(0.7, 0.5, num_samples=6)
    restored.load_state_dict(state)
    assert restored.n_pruned == 2
    with pytest.raises(RuntimeError):
        TruncatedLqLoss(0.7, 0.5, num_samples=7).load_state_dict(state)


def test_truncated_functional_matches_module(batch):
    logits, target = batch
    loss = TruncatedLqLoss(0.8, 0.3, num_samples=N, reduction="none")
    loss.prune(logits, target, torch.arange(N))
    perm = torch.randperm(N, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(
        loss(logits[perm], target[perm], perm),
        truncated_lq_loss(logits[perm], target[perm], loss.weights[perm], 0.8, 0.3, "none"),
    )


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("q", [-0.1, 1.5, float("nan"), "0.5", True])
def test_bad_q_is_rejected_everywhere(batch, q):
    logits, target = batch
    for build in (
        lambda: lq_loss(logits, target, q),
        lambda: LqLoss(q),
        lambda: TruncatedLqLoss(q, 0.5, num_samples=N),
        lambda: truncated_lq_loss(logits, target, torch.ones(N), q, 0.5),
        lambda: lq_of_probability(0.5, q),
        lambda: make_loss("lq", q=q),
    ):
        with pytest.raises(ValueError, match=r"q must be .*\[0, 1\]"):
            build()


@pytest.mark.parametrize("k", [-0.01, 1.01, float("nan")])
def test_bad_k_is_rejected(batch, k):
    logits, target = batch
    with pytest.raises(ValueError, match=r"k must be in \[0, 1\]"):
        TruncatedLqLoss(0.7, k, num_samples=N)
    with pytest.raises(ValueError, match=r"k must be in \[0, 1\]"):
        truncated_lq_loss(logits, target, torch.ones(N), 0.7, k)
    with pytest.raises(ValueError, match=r"k must be in \[0, 1\]"):
        make_loss("truncated_lq", k=k, num_samples=N)


def test_k_zero_with_q_zero_is_rejected_but_allowed_otherwise():
    with pytest.raises(ValueError, match=r"k \(with q = 0\) must be in \(0, 1\]"):
        TruncatedLqLoss(0.0, 0.0, num_samples=3)
    assert TruncatedLqLoss(0.5, 0.0, num_samples=3).lq_k == pytest.approx(2.0)


@pytest.mark.parametrize("p", [-0.1, 1.1])
def test_bad_probability_is_rejected(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        lq_of_probability(p, 0.5)
    with pytest.raises(ValueError, match=r"p must have values in \[0, 1\], got values in"):
        lq_of_probability(torch.tensor([0.5, p]), 0.5)


@pytest.mark.parametrize(
    "T,match",
    [
        (np.full((C, C), 0.3), r"T must be row-stochastic"),
        (np.ones((C, C - 1)) / (C - 1), r"T must be a square"),
        (2 * np.eye(C) - np.full((C, C), 1.0 / C), r"T must have entries in \[0, 1\]"),
    ],
)
def test_bad_transition_matrix_is_rejected(batch, T, match):
    logits, target = batch
    with pytest.raises(ValueError, match=match):
        forward_corrected_loss(logits, target, T)
    with pytest.raises(ValueError, match=match):
        ForwardCorrectedLoss(T)
    with pytest.raises(ValueError, match=match):
        make_loss("forward_t_hat", T=T)


def test_transition_matrix_of_wrong_size_is_rejected(batch):
    logits, target = batch
    with pytest.raises(
        ValueError, match=rf"T must have shape \({C}, {C}\) to match {C} classes, got \({C + 1}, {C + 1}\)"
    ):
        forward_corrected_loss(logits, target, np.eye(C + 1))


def test_forward_module_rejects_logits_of_another_class_count(batch):
    logits, target = batch
    with pytest.raises(ValueError, match=rf"T must have shape \({C}, {C}\) to match the logits' {C} classes"):
        ForwardCorrectedLoss(np.eye(C + 1))(logits, target)


@pytest.mark.parametrize("name", ["cce", "mae", "lq", "forward", "truncated"])
def test_bad_targets_are_rejected(batch, name):
    logits, target = batch
    loss_fn = all_losses()[name]
    idx = torch.arange(N)
    for bad in (target.clone().fill_(C), target.clone().fill_(-1)):
        with pytest.raises(ValueError, match=rf"target must contain integers in \[0, {C}\)"):
            loss_fn(logits, bad, idx)
    with pytest.raises(ValueError, match="target must hold integer class indices"):
        loss_fn(logits, target.float(), idx)
    with pytest.raises(ValueError, match=rf"target must have length N = {N}"):
        loss_fn(logits, target[:-1], idx[:-1])
    with pytest.raises(ValueError, match=r"logits must be a floating-point tensor of shape \(N, C\)"):
        loss_fn(logits[0], target, idx)


def test_bad_reduction_and_method_are_rejected(batch):
    logits, target = batch
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', 'none'"):
        cce_loss(logits, target, "avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        LqLoss(0.5, reduction="batchmean")
    with pytest.raises(
        ValueError, match="method must be one of 'cce', 'mae', 'lq', 'truncated_lq', 'forward_t'.*'gce'"
    ):
        make_loss("sce")  # "gce" is another name for "lq" (tests/test_gce.py)


def test_make_loss_requires_T_and_num_samples():
    with pytest.raises(ValueError, match="T .* is required for 'forward_t'"):
        make_loss("forward_t")
    with pytest.raises(ValueError, match="T .* is required for 'forward_t_hat'"):
        make_loss("forward_t_hat")
    with pytest.raises(ValueError, match="num_samples .* is required for 'truncated_lq'"):
        make_loss("truncated_lq")
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="num_samples must be an integer >= 1"):
            TruncatedLqLoss(num_samples=bad)


def test_truncated_index_is_validated(batch):
    logits, target = batch
    loss = TruncatedLqLoss(num_samples=N)
    with pytest.raises(ValueError, match="index .* is required"):
        loss(logits, target)
    with pytest.raises(ValueError, match=rf"index must contain integers in \[0, {N}\)"):
        loss(logits, target, torch.arange(1, N + 1))
    with pytest.raises(ValueError, match=rf"index must contain integers in \[0, {N}\)"):
        loss.prune(logits, target, torch.arange(-1, N - 1))
    with pytest.raises(ValueError, match="index must have one sample id per target"):
        loss(logits, target, torch.arange(N - 1))
    with pytest.raises(ValueError, match="index must hold integer"):
        loss(logits, target, torch.arange(N).float())


def test_truncated_functional_weights_are_validated(batch):
    logits, target = batch
    for bad in (2.0, -0.5):
        with pytest.raises(ValueError, match=r"weights must have values in \[0, 1\], got values in"):
            truncated_lq_loss(logits, target, torch.full((N,), bad), 0.7, 0.5)
    with pytest.raises(ValueError, match=rf"weights must have length N = {N}"):
        truncated_lq_loss(logits, target, torch.ones(N + 1), 0.7, 0.5)


# --------------------------------------------------------------------------- unchecked fast path
@pytest.mark.parametrize("method", PAPER_METHODS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_unchecked_modules_give_identical_values_and_gradients(batch, method, reduction, monkeypatch):
    """check_inputs=False (the trainer's loop) skips the value checks, never changes a number."""
    logits, target = batch
    T = random_T(C, seed=8)
    idx = torch.randperm(N, generator=torch.Generator().manual_seed(1))
    kwargs = {"q": 0.4, "k": 0.3, "T": T, "num_samples": N, "reduction": reduction}
    checked, unchecked = make_loss(method, **kwargs), make_loss(method, check_inputs=False, **kwargs)
    if method == "truncated_lq":
        for loss_fn in (checked, unchecked):
            loss_fn.prune(logits[: N // 2], target[: N // 2], idx[: N // 2])
        assert torch.equal(checked.weights, unchecked.weights)
    outputs = []
    for loss_fn in (checked, unchecked):
        z = logits.clone().requires_grad_(True)
        value = loss_fn(z, target, idx)
        value.sum().backward()
        outputs.append((value.detach(), z.grad))
    assert torch.equal(outputs[0][0], outputs[1][0]) and torch.equal(outputs[0][1], outputs[1][1])
    # The unchecked module never reads values on the host: the range checker is not called.
    import gce_lab.validation as validation  # the loss modules' index checks call its check_labels

    def no_value_check(*args, **kw):
        raise AssertionError("value check called")

    monkeypatch.setattr(validation, "check_labels", no_value_check)
    assert torch.equal(unchecked(logits, target, idx), outputs[1][0])
    with pytest.raises(AssertionError, match="value check called"):
        checked(logits, target, idx)


def test_unchecked_functions_match_checked(batch):
    logits, target = batch
    T = torch.as_tensor(random_T(C, seed=9), dtype=torch.float32)
    w = torch.rand(N, generator=torch.Generator().manual_seed(2))
    pairs = [
        (cce_loss, (logits, target)),
        (mae_loss, (logits, target)),
        (lq_loss, (logits, target, 0.6)),
        (lq_loss, (logits, target, 0.0)),
        (forward_corrected_loss, (logits, target, T)),
        (truncated_lq_loss, (logits, target, w, 0.7, 0.5)),
    ]
    for fn, args in pairs:
        assert torch.equal(fn(*args, "none"), fn(*args, "none", check_inputs=False)), fn.__name__


def test_unchecked_losses_still_check_shapes_and_the_flag(batch):
    logits, target = batch
    for name in ("cce", "mae", "lq", "truncated_lq"):
        loss_fn = make_loss(name, num_samples=N, check_inputs=False)
        with pytest.raises(ValueError, match="target must be a 1-D integer tensor"):
            loss_fn(logits, target.float(), torch.arange(N))
        with pytest.raises(ValueError, match=rf"target must have length N = {N}"):
            loss_fn(logits, target[:-1], torch.arange(N - 1))
    with pytest.raises(ValueError, match="index must be a 1-D integer tensor"):
        make_loss("truncated_lq", num_samples=N, check_inputs=False)(logits, target, torch.arange(N).float())
    with pytest.raises(ValueError, match="check_inputs must be True or False"):
        make_loss("cce", check_inputs=1)
    with pytest.raises(ValueError, match="check_inputs must be True or False"):
        cce_loss(logits, target, check_inputs="no")
    assert "check_inputs=False" in repr(make_loss("cce", check_inputs=False))
    assert "check_inputs" not in repr(make_loss("cce"))
