"""TruncatedGCELoss: Eq. 9 and Eq. 12 with torch's conventions, and the two pitfalls users met.

* The training objective (Eq. 12) goes negative by design (AlanChou/Truncated-Loss#4): per
  sample it is Eq. 9 minus the constant L_q(k), and Eq. 9 <= L_q(k).
* The per-sample weights belong to the training set (AlanChou/Truncated-Loss#6): evaluation
  without ``index`` is Eq. 9, whatever the weights; an id outside the training set raises.
"""

from __future__ import annotations

import pytest
import torch

from gce_lab import TruncatedGCELoss
from gce_lab.losses import TruncatedLqLoss

N, C, Q, K = 10, 4, 0.7, 0.5


def _batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return 3 * torch.randn(N, C, generator=gen), torch.randint(0, C, (N,), generator=gen)


def lq(p: torch.Tensor, q: float = Q) -> torch.Tensor:
    return (1 - p**q) / q


def eq9(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p_y = logits.softmax(1).gather(1, target[:, None]).squeeze(1)
    return torch.where(p_y > K, lq(p_y), lq(torch.tensor(K)))


def test_training_objective_is_eq12_and_equals_the_trainers_module():
    logits, target = _batch()
    index = torch.arange(N) + 5
    new = TruncatedGCELoss(40, q=Q, k=K, reduction="none")
    old = TruncatedLqLoss(Q, K, num_samples=40, reduction="none")
    new.prune(logits, target, index)
    old.prune(logits, target, index)
    assert torch.equal(new.sample_weights, old.weights)
    torch.testing.assert_close(new(logits, target, index), old(logits, target, index))
    w = new.sample_weights[index]
    p_y = logits.softmax(1).gather(1, target[:, None]).squeeze(1)
    torch.testing.assert_close(new(logits, target, index), w * (lq(p_y) - lq(torch.tensor(K))))


def test_the_objective_is_negative_by_design_it_is_eq9_minus_lq_k():
    logits, target = _batch(1)
    loss = TruncatedGCELoss(N, q=Q, k=K, reduction="none")
    index = torch.arange(N)
    loss.prune(logits, target, index)
    objective, truncated = loss(logits, target, index), loss(logits, target)
    assert torch.all(objective <= 0) and objective.sum() < 0  # negative, as Truncated-Loss#4 saw
    assert torch.all(truncated >= 0)
    torch.testing.assert_close(truncated, eq9(logits, target))
    torch.testing.assert_close(objective, truncated - loss.lq_k)  # right after pruning: Eq. 9 - L_q(k)


def test_the_gradient_of_eq12_after_pruning_is_the_gradient_of_eq9():
    logits, target = _batch(2)
    loss = TruncatedGCELoss(N, q=Q, k=K, reduction="sum")
    loss.prune(logits, target, torch.arange(N))
    a, b = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    loss(a, target, torch.arange(N)).backward()
    loss(b, target).backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_per_sample_weights_belong_to_the_training_set():
    train_logits, train_target = _batch(3)
    test_logits, test_target = _batch(4)
    loss = TruncatedGCELoss(N, q=Q, k=K)
    loss.prune(train_logits, train_target, torch.arange(N))
    before = loss(test_logits, test_target)
    loss.sample_weights.zero_()  # whatever pruning did to the training set ...
    torch.testing.assert_close(loss(test_logits, test_target), before)  # ... the test loss is Eq. 9
    torch.testing.assert_close(before, eq9(test_logits, test_target).mean())
    with pytest.raises(IndexError):  # an id beyond the training set is refused (torch's indexing check)
        loss(test_logits, test_target, torch.arange(N) + N)
    with pytest.raises(ValueError, match=r"training-set ids in \[0, 10\)"):
        TruncatedGCELoss(N, validate=True)(test_logits, test_target, torch.arange(N) + 1)


def test_num_samples_is_required_and_named():
    with pytest.raises(TypeError):
        TruncatedGCELoss()  # no default: it is the training-set size
    with pytest.raises(ValueError, match="num_samples"):
        TruncatedGCELoss(0)
    with pytest.raises(TypeError):
        TruncatedLqLoss(0.7, 0.5)  # the trainer's module: num_samples is keyword-only and required


def test_weight_and_ignore_index_follow_torch():
    logits, target = _batch(5)
    target[::4] = -100
    weight = torch.tensor([1.0, 2.0, 0.5, 3.0])
    loss = TruncatedGCELoss(N, q=Q, k=K, weight=weight)
    kept = target != -100
    w = weight[target.clamp(min=0)] * kept
    expected = (w * torch.where(kept, eq9(logits, target.clamp(min=0)), 0)).sum() / w.sum()
    torch.testing.assert_close(loss(logits, target), expected)


def test_prune_refuses_nan_and_the_state_dict_keeps_the_weights():
    loss = TruncatedGCELoss(N)
    with pytest.raises(ValueError, match="finite"):
        loss.prune(torch.full((N, C), float("nan")), torch.zeros(N, dtype=torch.long), torch.arange(N))
    loss.sample_weights[:3] = 0
    restored = TruncatedGCELoss(N)
    restored.load_state_dict(loss.state_dict())
    assert restored.num_pruned == 3


def test_compiled_step_with_truncated_gce_has_no_graph_break():
    logits, target = _batch(6)
    model = torch.nn.Linear(C, C)
    loss = TruncatedGCELoss(N, q=Q, k=K)
    loss.sample_weights[::3] = 0  # some samples pruned
    index = torch.arange(N)
    expected = loss(model(logits), target, index)
    compiled = torch.compile(lambda x: loss(model(x), target, index), fullgraph=True, backend="aot_eager")
    value = compiled(logits)
    value.backward()
    torch.testing.assert_close(value, expected)
    assert torch.isfinite(model.weight.grad).all()
