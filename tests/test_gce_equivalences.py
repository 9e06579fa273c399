"""GCELoss against three independent formulations in use, each written out here from its published
formula (nothing is imported from those projects):

* Active-Passive-Losses (Ma et al. 2020): ``(1 - p_y^q) / q`` on the softmax clamped to
  ``[1e-7, 1]``;
* Keras 3's ``CategoricalGeneralizedCrossEntropy``: probabilities in, ``(1 - p^q) / q`` with
  ``p`` the predicted probability of the true class, ``q = 0.5`` by default, mean over the batch;
* the "detached weight" form ``CE * p_y^q`` with ``p_y^q`` detached (alinlab/LfF#3 asks why it
  is GCE): its *gradient* is L_q's, since ``d L_q / d z = p_y^q d CE / d z`` (Section 3.2),
  but its *value* is not L_q's. LfF's code also multiplies by ``q``, which scales the gradient by ``q``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gce_lab import gce_loss

N, C = 12, 6


def _logits_and_target(seed: int = 0, scale: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(N, C, generator=gen, dtype=torch.float64)
    return logits, torch.randint(0, C, (N,), generator=gen)


def apl_gce(logits: torch.Tensor, target: torch.Tensor, q: float) -> torch.Tensor:
    pred = F.softmax(logits, dim=1).clamp(min=1e-7, max=1.0)
    p_y = (F.one_hot(target, C) * pred).sum(dim=1)
    return ((1.0 - p_y**q) / q).mean()


def keras_gce(probabilities: torch.Tensor, target: torch.Tensor, q: float = 0.5) -> torch.Tensor:
    p = probabilities.gather(1, target[:, None]).squeeze(1)
    return ((1.0 - p**q) / q).mean()  # "sum_over_batch_size"


def detached_weight_gce(logits: torch.Tensor, target: torch.Tensor, q: float) -> torch.Tensor:
    p_y = F.softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
    return (F.cross_entropy(logits, target, reduction="none") * p_y.detach() ** q).mean()


def _grad(loss_fn, logits: torch.Tensor) -> torch.Tensor:
    z = logits.clone().requires_grad_()
    loss_fn(z).backward()
    return z.grad


@pytest.mark.parametrize("q", [0.1, 0.7, 1.0])
def test_equals_the_clamped_form_of_active_passive_losses_where_the_clamp_is_inactive(q):
    logits, target = _logits_and_target()
    torch.testing.assert_close(gce_loss(logits, target, q=q), apl_gce(logits, target, q))
    torch.testing.assert_close(
        _grad(lambda z: gce_loss(z, target, q=q), logits), _grad(lambda z: apl_gce(z, target, q), logits)
    )


def test_the_clamp_cuts_the_gradient_of_a_sample_below_1e7():
    logits = torch.tensor([[30.0, 0.0, 0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)  # p_y of class 1: e^-30
    target = torch.tensor([1])
    clamped = _grad(lambda z: apl_gce(z, target, 0.1), logits)
    exact = _grad(lambda z: gce_loss(z, target, q=0.1), logits)
    assert clamped.abs().max() == 0.0  # the clamp's gradient is zero there
    assert exact.abs().max() > 1e-2  # L_q still pulls the sample: its gradient is p_y^q times CE's, e^-3 here


def test_equals_keras_probabilities_in_form_at_its_default_q():
    logits, target = _logits_and_target(seed=1)
    torch.testing.assert_close(gce_loss(logits, target, q=0.5), keras_gce(F.softmax(logits, dim=1), target))


@pytest.mark.parametrize("q", [0.3, 0.7])
def test_detached_weight_form_has_lqs_gradient_but_not_its_value(q):
    logits, target = _logits_and_target(seed=2)
    exact = _grad(lambda z: gce_loss(z, target, q=q), logits)
    torch.testing.assert_close(_grad(lambda z: detached_weight_gce(z, target, q), logits), exact)
    # LfF's line multiplies by q as well: the same direction, q times the step
    torch.testing.assert_close(_grad(lambda z: q * detached_weight_gce(z, target, q), logits), q * exact)
    # the values differ: CE * p^q against (1 - p^q) / q
    value, detached = gce_loss(logits, target, q=q), detached_weight_gce(logits, target, q)
    assert abs(float(value - detached)) > 0.05
    p_y = F.softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
    torch.testing.assert_close(detached, (-torch.log(p_y) * p_y**q).mean())
