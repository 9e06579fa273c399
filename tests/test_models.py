"""Tests of gce_lab.pipeline.models: exact parameter counts, shapes, channels_last, names."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gce_lab.pipeline.models import (
    MODELS,
    count_parameters,
    make_model,
    resnet18,
    resnet34,
    small_net,
    tiny_net,
    wang_cnn,
)


def _conv(c_in: int, c_out: int, k: int = 3) -> int:
    return c_in * c_out * k * k


def _bn(c: int) -> int:
    return 2 * c


def _fc(c_in: int, c_out: int) -> int:
    return c_in * c_out + c_out


def test_cifar_resnet_parameter_counts_are_the_known_ones() -> None:
    # CIFAR ResNet-18 / -34 (3x3 stem, BasicBlocks 64-128-256-512, fc) for CIFAR-10
    assert count_parameters(resnet18(10)) == 11_173_962
    assert count_parameters(resnet34(10)) == 21_282_122
    # one input channel removes 2 * 64 * 9 stem weights; 100 classes add 90 fc rows
    assert count_parameters(resnet18(10, in_channels=1)) == 11_173_962 - 2 * _conv(1, 64)
    assert count_parameters(resnet34(100)) == 21_282_122 + 90 * (512 + 1)


def test_wang_cnn_parameter_count_follows_its_layer_list() -> None:
    convs = _conv(3, 64) + _conv(64, 64) + _conv(64, 128) + _conv(128, 128) + _conv(128, 196) + _conv(196, 196)
    bns = _bn(64) * 2 + _bn(128) * 2 + _bn(196) * 2
    head = _fc(196 * 4 * 4, 256) + _bn(256) + _fc(256, 10)
    assert count_parameters(wang_cnn(10)) == convs + bns + head == 1_639_018


def test_small_and_tiny_net_parameter_counts() -> None:
    small = (
        _conv(3, 32)
        + _bn(32)
        + _conv(32, 64)
        + _conv(64, 64)
        + 2 * _bn(64)
        + _conv(64, 256)
        + 2 * _conv(256, 256)
        + _conv(256, 256)
        + 4 * _bn(256)
        + _fc(256, 10)
    )
    assert count_parameters(small_net(10)) == small == 1_978_026
    tiny = _conv(3, 16) + _bn(16) + _conv(16, 32) + _bn(32) + _fc(32, 10)
    assert count_parameters(tiny_net(10)) == tiny == 5_466


def test_resnets_have_the_cifar_stem_and_no_max_pool() -> None:
    model = resnet18(10)
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert first.kernel_size == (3, 3) and first.stride == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    blocks = [m for m in model.modules() if type(m).__name__ == "BasicBlock"]
    assert len(blocks) == 8 and len([m for m in resnet34(10).modules() if type(m).__name__ == "BasicBlock"]) == 16


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 28, 28), (3, 36, 30)])
def test_every_model_maps_images_to_logits(name: str, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    model = make_model(name, num_classes=7, in_channels=shape[0]).eval()
    with torch.no_grad():
        out = model(torch.randn(1, *shape))
    assert out.shape == (1, 7) and out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["resnet18", "wang_cnn", "small_net", "tiny_net"])
def test_channels_last_gives_the_same_logits(name: str) -> None:
    torch.manual_seed(0)
    model = make_model(name, 10).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        reference = model(x)
        model = model.to(memory_format=torch.channels_last)
        out = model(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out, reference, rtol=1e-4, atol=1e-4)


def test_wang_cnn_last_pool_is_the_plain_2x2_pool_on_32x32_inputs() -> None:
    pool = [m for m in wang_cnn(10) if isinstance(m, nn.AdaptiveMaxPool2d)]
    assert len(pool) == 1
    feature_map = torch.randn(2, 196, 8, 8)  # what reaches it from a 32x32 image
    assert torch.equal(pool[0](feature_map), nn.MaxPool2d(2)(feature_map))


def test_tiny_net_can_fit_a_small_batch() -> None:
    torch.manual_seed(0)
    model = tiny_net(4)
    x, y = torch.randn(8, 3, 28, 28), torch.arange(8) % 4
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(40):
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.1


def test_make_model_rejects_unknown_names_and_bad_sizes() -> None:
    assert MODELS == ("resnet34", "resnet18", "wang_cnn", "small_net", "cpu_net", "tiny_net")
    with pytest.raises(ValueError, match="name must be one of 'resnet34', 'resnet18'.*got 'vgg'"):
        make_model("vgg", 10)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 1"):
        make_model("tiny_net", 0)
    with pytest.raises(ValueError, match="in_channels must be an integer >= 1"):
        make_model("resnet18", 10, in_channels=2.5)
