"""Do the two paths train alike? The fast path and the plain loop from the same weights on the same
batches (no augmentation), their losses compared step by step."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from gce_lab.methods import make_loss
from gce_lab.pipeline.augment import per_pixel_mean
from gce_lab.pipeline.bench.cases import fast_config
from gce_lab.pipeline.bench.plain_loop import plain_loader, plain_optimizer, plain_step
from gce_lab.pipeline.device import training_policy
from gce_lab.pipeline.train import grad_scaler, make_optimizer, prepare_model, train_step

__all__ = ["compare_paths"]


def compare_paths(
    model: nn.Module, x_uint8: Tensor, labels: Tensor, *, steps: int, batch_size: int, device: torch.device
) -> dict[str, Any]:
    """Train copies of ``model`` for ``steps`` steps on the same batches (in order, no augmentation),
    once on the plain path (DataLoader, float32, contiguous, eager) and once on the fast path
    (:func:`gce_lab.pipeline.train.train_step`, channels_last, autocast as on the device, eager), and
    compare the losses of each step. On a CPU both are float32 and agree to rounding."""
    n = steps * batch_size
    if x_uint8.shape[0] < n:
        raise ValueError(f"steps * batch_size must be at most the {x_uint8.shape[0]} images given, got {n}")
    x, y = x_uint8[:n], labels[:n]
    mean = per_pixel_mean(x)
    config = fast_config(batch_size, device, compile=False, augment=False)
    policy = training_policy(device, config.precision, config.compile)
    amp_dtype, scaler = policy.amp_dtype, grad_scaler(policy)

    plain_model = copy.deepcopy(model).to(device)
    plain_model.train()
    optimizer = plain_optimizer(plain_model, config)
    loader = plain_loader(x, y, mean, batch_size=batch_size, augment=False, shuffle=False)
    plain = [plain_step(plain_model, optimizer, xb, yb, device) for xb, yb in loader]

    fast_model, _, _ = prepare_model(copy.deepcopy(model), config, policy)
    fast_model.train()
    optimizer = make_optimizer(fast_model, config, device)
    loss_fn = make_loss("cce", check_inputs=False)
    x_dev, y_dev, mean_dev = x.to(device), y.to(device), mean.to(device)
    noisy = torch.zeros(n, device=device)
    stats = []
    for s in range(steps):
        index = torch.arange(s * batch_size, (s + 1) * batch_size, device=device)
        summed = train_step(
            fast_model,
            loss_fn,
            optimizer,
            x_dev[index],
            y_dev[index],
            index,
            noisy[index],
            mean_dev,
            config,
            amp_dtype,
            scaler,
        )
        stats.append(summed[0] / batch_size)
    fast = torch.stack(stats).tolist()
    diffs = [abs(a - b) for a, b in zip(plain, fast)]
    return {
        "steps": steps,
        "batch_size": batch_size,
        "amp_dtype": amp_dtype,
        "plain_losses": plain,
        "fast_losses": fast,
        "max_abs_diff": max(diffs),
        "max_rel_diff": max(d / max(abs(a), 1e-12) for d, a in zip(diffs, plain)),
    }
