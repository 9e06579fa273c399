"""GCELoss / gce_loss against torch.nn.CrossEntropyLoss, point by point (gce_lab.gce).

At q -> 0 the loss must be F.cross_entropy for every shape, weight, ignore_index and
reduction; q = 1 must be MAE / 2; the soft-target form is checked against its formula written
out here; torch.compile(fullgraph=True) must trace a training step with it.
"""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

import gce_lab
from gce_lab import ForwardCorrectedGCELoss, GCELoss, gce_loss
from gce_lab.losses import LqLoss, forward_corrected_loss, lq_loss
from gce_lab.methods import make_loss

C = 5
SHAPES = {"(C)": (C,), "(N, C)": (7, C), "(N, C, d1, d2)": (3, C, 4, 2)}


def _case(shape: tuple[int, ...], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(shape, generator=gen, dtype=torch.float64)
    target_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
    return logits, torch.randint(0, C, target_shape, generator=gen)


def _with_ignored(target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    target = target.clone()
    if target.ndim:
        target.view(-1)[::3] = ignore_index  # every third element ignored
    return target


WEIGHT = torch.tensor([0.5, 2.0, 1.0, 0.1, 3.0], dtype=torch.float64)


@pytest.mark.parametrize(
    ("shape", "weighted", "ignore_index", "reduction"),
    list(itertools.product(SHAPES, (False, True), (-100, 2), ("mean", "sum", "none"))),
)
@pytest.mark.parametrize("q", [0.0, 1e-9])
def test_q_to_zero_is_cross_entropy(shape, weighted, ignore_index, reduction, q):
    logits, target = _case(SHAPES[shape])
    target = _with_ignored(target, ignore_index)
    weight = WEIGHT if weighted else None
    expected = F.cross_entropy(logits, target, weight, ignore_index=ignore_index, reduction=reduction)
    got = gce_loss(logits, target, weight, q=q, ignore_index=ignore_index, reduction=reduction)
    module = GCELoss(weight, q=q, ignore_index=ignore_index, reduction=reduction)(logits, target)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    torch.testing.assert_close(got, expected, rtol=1e-7, atol=1e-12, equal_nan=True)  # NaN: all ignored
    torch.testing.assert_close(module, expected, rtol=1e-7, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("shape", SHAPES)
def test_q_to_zero_float32_gradient_is_cross_entropy_gradient(shape):
    logits, target = _case(SHAPES[shape], seed=1)
    logits = logits.float()
    a = logits.clone().requires_grad_()
    b = logits.clone().requires_grad_()
    gce_loss(a, target, WEIGHT.float(), q=1e-7).backward()
    F.cross_entropy(b, target, WEIGHT.float()).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", SHAPES)
def test_q_one_is_half_mae_and_general_q_is_eq6(shape):
    logits, target = _case(SHAPES[shape], seed=2)
    class_dim = 0 if logits.ndim == 1 else 1
    f_y = logits.softmax(class_dim).gather(class_dim, target.unsqueeze(class_dim)).squeeze(class_dim)
    mae = (
        (torch.nn.functional.one_hot(target, C).movedim(-1, class_dim) - logits.softmax(class_dim)).abs().sum(class_dim)
    )
    torch.testing.assert_close(gce_loss(logits, target, q=1.0, reduction="none"), mae / 2)
    for q in (0.3, 0.7):
        torch.testing.assert_close(gce_loss(logits, target, q=q, reduction="none"), (1 - f_y**q) / q)


def test_weighted_mean_is_torchs_weighted_mean_for_general_q():
    logits, target = _case((9, C), seed=3)
    target = _with_ignored(target, -100)
    kept = target != -100
    f_y = logits.softmax(1)[kept].gather(1, target[kept, None]).squeeze(1)
    w = WEIGHT[target[kept]]
    expected = (w * (1 - f_y**0.7) / 0.7).sum() / w.sum()
    torch.testing.assert_close(gce_loss(logits, target, WEIGHT, q=0.7), expected)
    none = gce_loss(logits, target, WEIGHT, q=0.7, reduction="none")
    assert torch.all(none[~kept] == 0)


def test_every_target_ignored_gives_nan_mean_like_torch():
    logits, _ = _case((4, C))
    target = torch.full((4,), -100)
    assert torch.isnan(F.cross_entropy(logits, target)) and torch.isnan(gce_loss(logits, target))
    assert gce_loss(logits, target, reduction="sum") == 0


# --------------------------------------------------------------------------- probability targets
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_probability_targets_are_expected_lq_and_cross_entropy_at_q0(shape, reduction, weighted):
    logits, _ = _case(SHAPES[shape], seed=4)
    class_dim = 0 if logits.ndim == 1 else 1
    gen = torch.Generator().manual_seed(5)
    soft = torch.rand(SHAPES[shape], generator=gen, dtype=torch.float64).softmax(class_dim)
    weight = WEIGHT if weighted else None
    expected_ce = F.cross_entropy(logits, soft, weight, reduction=reduction)
    torch.testing.assert_close(gce_loss(logits, soft, weight, q=1e-9, reduction=reduction), expected_ce)
    # q > 0: sum_c w_c t_c (1 - f_c^q) / q, written out here
    shape_w = [1] * logits.ndim
    shape_w[class_dim] = C
    w = torch.ones(C, dtype=torch.float64) if weight is None else weight
    per = (w.view(shape_w) * soft * (1 - logits.softmax(class_dim) ** 0.5) / 0.5).sum(class_dim)
    expected = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    torch.testing.assert_close(gce_loss(logits, soft, weight, q=0.5, reduction=reduction), expected)


def test_one_hot_probability_target_equals_class_index_target():
    logits, target = _case((6, C), seed=6)
    one_hot = F.one_hot(target, C).double()
    torch.testing.assert_close(gce_loss(logits, one_hot, q=0.7), gce_loss(logits, target, q=0.7))


# --------------------------------------------------------------------------- numerics and dtypes
def test_bf16_logits_give_a_finite_float32_loss_and_gradient():
    logits = (torch.randn(8, C) * 1e4).to(torch.bfloat16).requires_grad_()
    target = torch.randint(0, C, (8,))
    loss = gce_loss(logits, target, q=0.7)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(loss) and torch.isfinite(logits.grad.float()).all()


def test_gce_loss_equals_the_trainers_lq_loss():
    logits, target = _case((10, C), seed=7)
    torch.testing.assert_close(gce_loss(logits, target, q=0.7), lq_loss(logits, target, 0.7))
    torch.testing.assert_close(gce_loss(logits, target.int(), q=0.7), gce_loss(logits, target, q=0.7))


def test_make_loss_knows_gce_by_name():
    loss = make_loss("gce", q=0.4)
    assert isinstance(loss, LqLoss) and loss.q == 0.4


def test_gce_is_exported_from_the_package_and_losses():
    from gce_lab import losses

    assert gce_lab.GCELoss is losses.GCELoss and gce_lab.gce_loss is losses.gce_loss


def test_module_keeps_weight_as_a_buffer_like_cross_entropy_loss():
    loss = GCELoss(WEIGHT.float(), q=0.5)
    assert "weight" in loss.state_dict() and torch.equal(loss.state_dict()["weight"], WEIGHT.float())
    assert "q=0.5" in repr(loss) and "ignore_index=-100" in repr(loss)
    assert GCELoss().weight is None


# --------------------------------------------------------------------------- argument checks
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: GCELoss(q=1.5), r"q must be in \[0, 1\]"),
        (lambda: GCELoss(q=0.5, reduction="avg"), "reduction must be one of"),
        (lambda: GCELoss(ignore_index=1.5), "ignore_index must be an integer"),
        (lambda: GCELoss(torch.ones(5, dtype=torch.long)), "weight must be None or a 1-D floating-point"),
        (lambda: gce_loss(torch.randn(3, C), torch.ones(3, C + 1)), "class probabilities"),
        (lambda: gce_loss(torch.randn(3, C), torch.ones(4, dtype=torch.long)), r"shape \(3,\)"),
        (lambda: gce_loss(torch.randn(3, C, 2), torch.ones(3, dtype=torch.long)), r"shape \(3, 2\)"),
        (lambda: gce_loss(torch.ones(3, C, dtype=torch.long), torch.ones(3, dtype=torch.long)), "input must be"),
        (lambda: gce_loss(torch.randn(3, C), torch.ones(3, dtype=torch.long), torch.ones(4)), r"weight must have"),
        (lambda: gce_loss(torch.randn(3, C), torch.tensor([0, 1, 9]), validate=True), r"in \[0, 5\) or ignore"),
        (lambda: gce_loss(torch.randn(2, C), torch.full((2, C), 0.5), validate=True), "sum to 1"),
        (lambda: gce_loss(torch.randn(2, C), torch.ones(2, dtype=torch.long), -torch.ones(C), validate=True), ">= 0"),
        (lambda: gce_loss(torch.randn(3, C), torch.ones(3, dtype=torch.long), validate=1), "validate must be"),
    ],
)
def test_bad_arguments_name_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_out_of_range_target_is_caught_by_torchs_kernel_without_validate():
    with pytest.raises(IndexError, match="out of bounds"):
        gce_loss(torch.randn(3, C), torch.tensor([0, 1, 9]))
    with pytest.raises(IndexError, match="out of bounds"):
        gce_loss(torch.randn(3, C), torch.tensor([0, -1, 2]))  # -1 is not ignore_index


def test_validate_accepts_ignored_targets():
    target = torch.tensor([0, -100, 4])
    torch.testing.assert_close(gce_loss(torch.ones(3, C), target, validate=True), gce_loss(torch.ones(3, C), target))


# --------------------------------------------------------------------------- forward correction
def test_forward_corrected_gce_at_q0_is_the_forward_corrected_cross_entropy():
    logits, target = _case((8, C), seed=8)
    T = torch.full((C, C), 0.1, dtype=torch.float64) + 0.5 * torch.eye(C, dtype=torch.float64)
    expected = forward_corrected_loss(logits.float(), target, T)
    got = ForwardCorrectedGCELoss(T, q=0.0)(logits.float(), target)
    torch.testing.assert_close(got, expected)
    identity = ForwardCorrectedGCELoss(torch.eye(C), q=0.7, reduction="none")
    torch.testing.assert_close(identity(logits.float(), target), gce_loss(logits.float(), target, reduction="none"))


def test_forward_corrected_gce_takes_segmentation_shapes_and_ignore_index():
    logits, target = _case((2, C, 3, 3), seed=9)
    target = _with_ignored(target, -100)
    T = (torch.full((C, C), 0.05) + 0.75 * torch.eye(C)).double()
    corrected = torch.einsum("nihw,ij->njhw", logits.softmax(1), T / T.sum(1, keepdim=True))
    kept = target != -100
    p_y = corrected.gather(1, target.clamp(min=0).unsqueeze(1)).squeeze(1)[kept]
    expected = ((1 - p_y**0.7) / 0.7).mean()
    torch.testing.assert_close(ForwardCorrectedGCELoss(T, q=0.7)(logits.float(), target), expected.float())


def test_forward_corrected_gce_checks_T_once():
    with pytest.raises(ValueError, match="row-stochastic"):
        ForwardCorrectedGCELoss(torch.ones(C, C))
    with pytest.raises(ValueError, match="C = 5 classes"):
        ForwardCorrectedGCELoss(torch.eye(C))(torch.randn(2, 4), torch.zeros(2, dtype=torch.long))


# --------------------------------------------------------------------------- torch.compile
def test_compiled_training_step_with_gce_has_no_graph_break():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, C))
    criterion = GCELoss(torch.linspace(0.5, 1.5, C), q=0.7)
    x, y = torch.randn(32, 6), torch.randint(0, C, (32,))
    y[::5] = -100

    def forward_and_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return criterion(model(x), y)

    eager = forward_and_loss(x, y)
    eager.backward()
    eager_grad = model[0].weight.grad.clone()
    model.zero_grad()
    # fullgraph=True raises on any graph break (a host sync, a data-dependent branch); aot_eager
    # also traces the backward through AOTAutograd, without needing a C++ compiler
    compiled = torch.compile(forward_and_loss, fullgraph=True, backend="aot_eager")
    loss = compiled(x, y)
    loss.backward()
    torch.testing.assert_close(loss, eager)
    torch.testing.assert_close(model[0].weight.grad, eager_grad)
