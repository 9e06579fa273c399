"""The baseline: the usual PyTorch recipe, timed against the trainer's fast path.

A ``DataLoader`` over uint8 images, each sample through torchvision transforms in worker
processes (to float, per-pixel mean subtraction, ``RandomCrop(padding=4)``,
``RandomHorizontalFlip``), pinned memory, float32, eager, default memory format,
``cudnn.benchmark`` off (torch's default), SGD, cross entropy and ``running_loss += loss.item()``
(one host sync per step, as in the PyTorch tutorials).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gce_lab.pipeline.train import TrainConfig

__all__ = ["default_workers", "plain_transform", "plain_loader", "plain_step", "plain_optimizer", "endless"]


def default_workers(device: torch.device) -> int:
    """DataLoader workers of the baseline: ``min(8, cores // 2)`` when a GPU computes (the usual
    choice: enough to feed it, half the cores left for the main process and pinning threads),
    0 on a CPU (workers would compete with the training for the same cores)."""
    if device.type == "cpu":
        return 0
    return max(1, min(8, (os.cpu_count() or 2) // 2))


class _SubtractMean(nn.Module):
    """``x - mean``: the paper's per-pixel mean subtraction as a per-sample transform."""

    def __init__(self, mean: Tensor) -> None:
        super().__init__()
        self.mean = mean

    def forward(self, x: Tensor) -> Tensor:
        return x - self.mean


class _PlainImages(torch.utils.data.Dataset):
    """uint8 images ``(N, C, H, W)`` with labels, each image through ``transform`` when read
    (a ``TensorDataset`` with transforms)."""

    def __init__(self, x_uint8: Tensor, labels: Tensor, transform: Callable[[Tensor], Tensor]) -> None:
        self.x, self.y, self.transform = x_uint8, labels, transform

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.transform(self.x[i]), self.y[i]


def plain_transform(mean: Tensor, augment: bool = True, padding: int = 4) -> Callable[[Tensor], Tensor]:
    """The per-sample torchvision pipeline of the baseline, computing what
    :func:`gce_lab.pipeline.augment.prepare_batch` computes: ``x / 255``, minus the per-pixel mean,
    then (``augment``) zero padding by ``padding`` with a random crop back to size and a
    random horizontal flip."""
    from torchvision.transforms import v2

    steps: list[Callable[[Tensor], Tensor]] = [v2.ToDtype(torch.float32, scale=True), _SubtractMean(mean.cpu())]
    if augment:
        steps += [v2.RandomCrop(tuple(mean.shape[-2:]), padding=padding), v2.RandomHorizontalFlip()]
    return v2.Compose(steps)


def plain_loader(
    x_uint8: Tensor,
    labels: Tensor,
    mean: Tensor,
    *,
    batch_size: int,
    augment: bool = True,
    shuffle: bool = True,
    workers: int = 0,
    pin_memory: bool = False,
    seed: int = 0,
) -> torch.utils.data.DataLoader:
    """The baseline's ``DataLoader`` (persistent workers when ``workers > 0``)."""
    dataset = _PlainImages(x_uint8, labels, plain_transform(mean, augment))
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(seed),
    )


def plain_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor, device: torch.device) -> float:
    """One step of the plain loop: copy the batch over, float32 forward, cross entropy, backward,
    optimiser step; returns ``loss.item()`` like a tutorial's running-loss bookkeeping (a sync)."""
    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def plain_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """torch's default SGD (foreach on CUDA), with the fast path's hyperparameters."""
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def endless(loader: torch.utils.data.DataLoader) -> Iterable[tuple[Tensor, Tensor]]:
    """The loader's batches, epoch after epoch."""
    while True:
        yield from loader
