"""Tests of gce_lab.pipeline.augment: mean subtraction, batched crops and flips against slow references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gce_lab.pipeline.augment import (
    augment_batch,
    normalize,
    per_pixel_mean,
    prepare_batch,
    random_crop,
    random_crop_flip,
    random_flip,
    sample_flips,
    sample_offsets,
)

SHAPES = [(5, 3, 32, 32), (4, 1, 28, 28)]


def _images(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def _reference_crop(x: np.ndarray, offsets: np.ndarray, padding: int) -> np.ndarray:
    """One image at a time: zero-pad, then slice the crop at the given top-left corner."""
    _, _, h, w = x.shape
    out = np.empty_like(x)
    for i, (dy, dx) in enumerate(offsets):
        padded = np.pad(x[i], ((0, 0), (padding, padding), (padding, padding)))
        out[i] = padded[:, dy : dy + h, dx : dx + w]
    return out


def test_per_pixel_mean_is_the_mean_image_in_unit_scale() -> None:
    x = _images((7, 3, 32, 32))
    mean = per_pixel_mean(x)
    expected = x.numpy().astype(np.float64).mean(axis=0) / 255.0
    assert mean.shape == (3, 32, 32) and mean.dtype == torch.float32
    np.testing.assert_allclose(mean.numpy(), expected, rtol=0, atol=1e-6)
    two = torch.stack([torch.zeros(1, 28, 28, dtype=torch.uint8), torch.full((1, 28, 28), 255, dtype=torch.uint8)])
    assert torch.equal(per_pixel_mean(two), torch.full((1, 28, 28), 0.5))


def test_per_pixel_mean_is_exact_across_chunks() -> None:
    x = _images((20000, 2, 2, 3), seed=1)  # more than two float32 partial sums
    exact = x.numpy().astype(np.int64).sum(axis=0) / (255.0 * 20000)
    np.testing.assert_array_equal(per_pixel_mean(x).numpy(), exact.astype(np.float32))
    assert torch.equal(per_pixel_mean(torch.full((20000, 1, 2, 2), 255, dtype=torch.uint8)), torch.ones(1, 2, 2))


def test_normalize_subtracts_the_mean_after_scaling() -> None:
    x = _images((6, 3, 32, 32))
    mean = per_pixel_mean(x)
    out = normalize(x, mean)
    np.testing.assert_allclose(out.numpy(), x.numpy() / 255.0 - mean.numpy()[None], atol=1e-6)
    assert out.dtype == torch.float32
    # the normalised training batch has (numerically) zero mean at every pixel
    assert out.mean(dim=0).abs().max() < 1e-6


def test_per_pixel_mean_and_normalize_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="x_uint8 must have dtype torch.uint8"):
        per_pixel_mean(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="x_uint8 must be a 4-D tensor"):
        per_pixel_mean(torch.zeros(3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="at least 1 image"):
        per_pixel_mean(torch.zeros(0, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="mean must have the image shape"):
        normalize(_images((2, 3, 32, 32)), torch.zeros(3, 28, 28))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("padding", [4, 2])
def test_random_crop_matches_per_image_reference(shape: tuple[int, ...], padding: int) -> None:
    x = _images(shape)
    offsets = sample_offsets(shape[0], padding, torch.Generator().manual_seed(3))
    offsets[0] = torch.tensor([0, 2 * padding])  # include the extreme corners
    offsets[1] = torch.tensor([2 * padding, 0])
    out = random_crop(x, padding, offsets=offsets)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out.numpy(), _reference_crop(x.numpy(), offsets.numpy(), padding))


def test_centre_offset_is_identity_and_corner_offset_shifts_in_zeros() -> None:
    x = _images((3, 3, 32, 32)).float() + 1.0  # strictly positive, so padding zeros are visible
    centre = torch.full((3, 2), 4)
    assert torch.equal(random_crop(x, 4, offsets=centre), x)
    corner = random_crop(x, 4, offsets=torch.zeros(3, 2, dtype=torch.long))
    assert torch.equal(corner[:, :, 4:, 4:], x[:, :, :28, :28])
    assert (corner[:, :, :4, :] == 0).all() and (corner[:, :, :, :4] == 0).all()


@pytest.mark.parametrize("shape", SHAPES)
def test_random_flip_mirrors_exactly_the_masked_images(shape: tuple[int, ...]) -> None:
    x = _images(shape)
    mask = torch.tensor([True, False, True, False] + [True] * (shape[0] - 4))
    out = random_flip(x, mask=mask)
    for i in range(shape[0]):
        expected = x[i].numpy()[:, :, ::-1] if mask[i] else x[i].numpy()
        np.testing.assert_array_equal(out[i].numpy(), expected)


def test_random_crop_flip_is_crop_then_flip_with_the_same_draws() -> None:
    x = _images((6, 3, 32, 32))
    out = random_crop_flip(x, 4, generator=torch.Generator().manual_seed(11))
    g = torch.Generator().manual_seed(11)
    offsets, mask = sample_offsets(6, 4, g), sample_flips(6, g)
    expected = random_flip(random_crop(x, 4, offsets=offsets), mask=mask)
    assert torch.equal(out, expected)


def test_augmentation_is_deterministic_given_a_generator() -> None:
    x = _images((16, 3, 32, 32))
    mean = per_pixel_mean(x)
    a = augment_batch(x, mean, generator=torch.Generator().manual_seed(5))
    b = augment_batch(x, mean, generator=torch.Generator().manual_seed(5))
    c = augment_batch(x, mean, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_offsets_and_flips_cover_their_ranges() -> None:
    g = torch.Generator().manual_seed(0)
    offsets = sample_offsets(4000, 4, g)
    assert offsets.shape == (4000, 2) and offsets.dtype == torch.long
    assert set(offsets.unique().tolist()) == set(range(9))
    flips = sample_flips(4000, g)
    assert flips.dtype == torch.bool and 0.45 < flips.float().mean() < 0.55


@pytest.mark.parametrize("shape", SHAPES)
def test_prepare_batch_eval_only_normalises_and_train_keeps_shape(shape: tuple[int, ...]) -> None:
    x = _images(shape)
    mean = per_pixel_mean(x)
    assert torch.equal(prepare_batch(x, mean, train=False), normalize(x, mean))
    out = prepare_batch(x, mean, train=True, generator=torch.Generator().manual_seed(0), channels_last=True)
    assert out.shape == shape and out.dtype == torch.float32
    assert out.is_contiguous(memory_format=torch.channels_last)
    # every augmented pixel is a normalised input pixel or padding (0)
    allowed = set(normalize(x, mean).flatten().tolist()) | {0.0}
    assert set(out.flatten().tolist()) <= allowed


def test_augment_rejects_bad_arguments() -> None:
    x = _images((2, 3, 32, 32))
    with pytest.raises(ValueError, match="padding must be an integer >= 0"):
        random_crop(x, -1)
    with pytest.raises(ValueError, match=r"offsets must have shape \(2, 2\)"):
        random_crop(x, 4, offsets=torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"mask must have shape \(2,\)"):
        random_flip(x, mask=torch.ones(3, dtype=torch.bool))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_with_a_cpu_generator() -> None:
    x = _images((32, 3, 32, 32))
    mean = per_pixel_mean(x)
    cpu = augment_batch(x, mean, generator=torch.Generator().manual_seed(1))
    gpu = augment_batch(x.cuda(), mean.cuda(), generator=torch.Generator().manual_seed(1))
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu)
