"""The paper's preprocessing and augmentation, batched on the tensors' device.

Zhang & Sabuncu (2018), Section 4.2: "Per-pixel mean subtraction, horizontal random flip and
32 x 32 random crops after padding with 4 pixels on each side". Here:

* scale: images are mapped to ``x / 255`` (values in [0, 1]) and the per-pixel mean image of the
  *training* split, in the same units, is subtracted (:func:`per_pixel_mean`, :func:`normalize`).
  No division by a standard deviation (the paper does none).
* crop: every image is padded with ``padding`` zeros on each side *after* mean subtraction (so a
  padded pixel stands for the mean image's value) and cropped back to its own size at a random
  offset: 32 x 32 for CIFAR. Fashion-MNIST images are 28 x 28; we pad by 4 and crop back to
  28 x 28 (the paper states only the CIFAR crop size).
* flip: each image is mirrored left-right with probability 1/2.

Everything runs on whole batches with no Python loop over images (one gather by advanced
indexing for the crops, one ``torch.where`` for the flips), on CPU or CUDA, and is
deterministic given a ``torch.Generator`` (a CPU generator gives the same draws whichever device
holds the images).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "per_pixel_mean",
    "normalize",
    "sample_offsets",
    "sample_flips",
    "random_crop",
    "random_flip",
    "random_crop_flip",
    "augment_batch",
    "prepare_batch",
]


#: Images per float32 partial sum in :func:`per_pixel_mean` (8192 * 255 < 2**24: exact).
_MEAN_CHUNK = 8192


def _check_images(name: str, x: torch.Tensor, uint8: bool = False) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a 4-D tensor (N, C, H, W), got {shape}")
    if uint8 and x.dtype != torch.uint8:
        raise ValueError(f"{name} must have dtype torch.uint8 (raw pixels 0..255), got {x.dtype}")


def _check_padding(padding: int) -> int:
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be an integer >= 0, got {padding!r}")
    return padding


def per_pixel_mean(x_uint8: torch.Tensor) -> torch.Tensor:
    """Mean image ``(C, H, W)`` of a uint8 batch, in ``x / 255`` units (float32, same device).

    Compute it on the training split only. The sum is exact: float32 sums over chunks of at most
    ``_MEAN_CHUNK`` images (< 2**24 / 255, so every partial sum is an exact integer), on the
    images' device, added up in float64 on the CPU (Apple MPS has no float64); several times
    faster on CPU than an int64 reduction. The result is the same on every device.
    """
    _check_images("x_uint8", x_uint8, uint8=True)
    if x_uint8.shape[0] == 0:
        raise ValueError("x_uint8 must hold at least 1 image, got 0")
    total = torch.zeros(x_uint8.shape[1:], dtype=torch.float64)
    for chunk in x_uint8.split(_MEAN_CHUNK):
        total += chunk.float().sum(dim=0).cpu().double()
    return (total / (255.0 * x_uint8.shape[0])).float().to(x_uint8.device)


def normalize(x_uint8: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """``x / 255 - mean`` as float32 on ``x``'s device (``mean`` from :func:`per_pixel_mean`)."""
    _check_images("x_uint8", x_uint8, uint8=True)
    if mean.shape != x_uint8.shape[1:]:
        raise ValueError(f"mean must have the image shape {tuple(x_uint8.shape[1:])}, got {tuple(mean.shape)}")
    return x_uint8.float().div_(255.0).sub_(mean.to(device=x_uint8.device, dtype=torch.float32))


def _draw_device(generator: torch.Generator | None, device: torch.device) -> torch.device:
    return generator.device if generator is not None else device


def sample_offsets(
    n: int, padding: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Random crop offsets ``(n, 2)`` (row, column), each uniform in ``[0, 2 * padding]``."""
    padding = _check_padding(padding)
    draws = torch.randint(
        0, 2 * padding + 1, (n, 2), generator=generator, device=_draw_device(generator, torch.device(device))
    )
    return draws.to(device)


def sample_flips(n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """Random flip mask ``(n,)`` (bool), each True with probability 1/2."""
    draws = torch.randint(0, 2, (n,), generator=generator, device=_draw_device(generator, torch.device(device)))
    return draws.to(device).bool()


def random_crop(
    x: torch.Tensor, padding: int = 4, offsets: torch.Tensor | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Zero-pad every image by ``padding`` and crop back to ``(H, W)`` at per-image offsets.

    ``offsets`` ``(N, 2)`` gives (row, column) of each crop's top-left corner in the padded
    image, in ``[0, 2 * padding]``; drawn with :func:`sample_offsets` when None. Offset
    ``(padding, padding)`` returns the image unchanged. One gather, no loop over images.
    """
    _check_images("x", x)
    padding = _check_padding(padding)
    n, c, h, w = x.shape
    if offsets is None:
        offsets = sample_offsets(n, padding, generator, x.device)
    if offsets.shape != (n, 2):
        raise ValueError(f"offsets must have shape ({n}, 2), got {tuple(offsets.shape)}")
    offsets = offsets.to(x.device, torch.long)
    padded = F.pad(x, (padding, padding, padding, padding))
    rows = offsets[:, 0:1] + torch.arange(h, device=x.device)  # (N, H)
    cols = offsets[:, 1:2] + torch.arange(w, device=x.device)  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def random_flip(
    x: torch.Tensor, mask: torch.Tensor | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Mirror left-right the images where ``mask`` (N,) is True (drawn with p = 1/2 when None)."""
    _check_images("x", x)
    if mask is None:
        mask = sample_flips(x.shape[0], generator, x.device)
    if mask.shape != (x.shape[0],):
        raise ValueError(f"mask must have shape ({x.shape[0]},), got {tuple(mask.shape)}")
    return torch.where(mask.to(x.device, torch.bool)[:, None, None, None], x.flip(3), x)


def random_crop_flip(x: torch.Tensor, padding: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """:func:`random_crop` then :func:`random_flip` (offsets drawn before flips)."""
    return random_flip(random_crop(x, padding, generator=generator), generator=generator)


def augment_batch(
    x_uint8: torch.Tensor,
    mean: torch.Tensor,
    crop: bool = True,
    flip: bool = True,
    padding: int = 4,
    generator: torch.Generator | None = None,
    channels_last: bool = False,
) -> torch.Tensor:
    """Normalise a uint8 batch (:func:`normalize`), then optionally crop and flip it.

    Returns float32 on ``x_uint8``'s device, in ``torch.channels_last`` layout when asked.
    """
    x = normalize(x_uint8, mean)
    if crop:
        x = random_crop(x, padding, generator=generator)
    if flip:
        x = random_flip(x, generator=generator)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def prepare_batch(
    x_uint8: torch.Tensor,
    mean: torch.Tensor,
    train: bool,
    generator: torch.Generator | None = None,
    padding: int = 4,
    channels_last: bool = False,
) -> torch.Tensor:
    """Model input from a uint8 batch: normalised, and cropped + flipped when ``train``.

    Evaluation (``train=False``) only normalises, as in the paper.
    """
    return augment_batch(
        x_uint8, mean, crop=train, flip=train, padding=padding, generator=generator, channels_last=channels_last
    )
