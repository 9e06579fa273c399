"""The networks of the experiments, all mapping float images ``(N, C, H, W)`` to logits ``(N, c)``.

* ``resnet34`` (CIFAR-10/100 in the paper, Section 4.2) and ``resnet18`` (Fashion-MNIST) in the
  CIFAR form of He et al. (2016): 3x3 stem convolution with stride 1, no max-pool, four stages
  of basic blocks with widths 64-128-256-512, global average pooling, one linear layer.
  ``in_channels=1`` gives the Fashion-MNIST version.
* ``wang_cnn``: the shallow CNN of Wang et al. (2018), used for the open-set experiment of
  Table 2.
* ``small_net``: a fast VGG-like network (about 2 M parameters) for the "lab" profile.
* ``cpu_net``: three conv-BN-ReLU-max-pool stages and a 256-unit hidden layer (about 0.6 M
  parameters) for the "cpu" profile: small enough for a laptop's two cores, large enough to
  memorise noisy labels once it has learnt the clean ones.
* ``tiny_net``: a few thousand parameters, for smoke runs and tests.

All use ReLU hidden units (Section 4: "All networks used ReLUs in the hidden layers") and
batch norm, accept any ``H, W >= 28`` and work in ``torch.channels_last`` layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = [
    "MODELS",
    "make_model",
    "resnet18",
    "resnet34",
    "wang_cnn",
    "small_net",
    "cpu_net",
    "tiny_net",
    "count_parameters",
]


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def _check_sizes(num_classes: int, in_channels: int) -> None:
    for name, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------- ResNet


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1 conv-BN projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet in the CIFAR form: 3x3 stride-1 stem, no max-pool, stages of :class:`BasicBlock`."""

    def __init__(
        self, blocks: Sequence[int], num_classes: int, in_channels: int = 3, widths: Sequence[int] = (64, 128, 256, 512)
    ) -> None:
        super().__init__()
        _check_sizes(num_classes, in_channels)
        layers: list[nn.Module] = _conv_bn_relu(in_channels, widths[0])
        c_in = widths[0]
        for stage, (count, width) in enumerate(zip(blocks, widths)):
            for i in range(count):
                layers.append(BasicBlock(c_in, width, stride=2 if stage > 0 and i == 0 else 1))
                c_in = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def resnet18(num_classes: int, in_channels: int = 3) -> CifarResNet:
    """CIFAR ResNet-18 (blocks 2-2-2-2); 11,173,962 parameters for 10 classes and 3 channels."""
    return CifarResNet((2, 2, 2, 2), num_classes, in_channels)


def resnet34(num_classes: int, in_channels: int = 3) -> CifarResNet:
    """CIFAR ResNet-34 (blocks 3-4-6-3); 21,282,122 parameters for 10 classes and 3 channels."""
    return CifarResNet((3, 4, 6, 3), num_classes, in_channels)


# ----------------------------------------------------------------------------- plain CNNs


def wang_cnn(num_classes: int, in_channels: int = 3) -> nn.Sequential:
    """Shallow CNN of Wang et al. (2018), "Iterative Learning with Open-set Noisy Labels" (CVPR).

    Layers as in ``get_model('cifar10')`` of the authors' code (github.com/YisenWang/ONL,
    ``util.py``), with the classifier head of the same group's later code
    (github.com/YisenWang/symmetric_cross_entropy_for_noisy_labels, ``models.py``):
    conv 64, 64 -> max-pool -> conv 128, 128 -> max-pool -> conv 196, 196 -> max-pool ->
    flatten -> fc 256 -> BN -> ReLU -> fc ``num_classes``; every conv 3x3 "same" + BN + ReLU.

    Differences from the Keras originals: convolutions carry no bias (a BN follows each, so a
    bias is redundant); the L2 penalty of 0.01 those codes put on the fc-256 weights is not
    part of the model (an optimiser setting, left to the trainer); the last pooling is an
    adaptive max-pool to 4x4, identical to the 2x2 max-pool for 32x32 inputs (8x8 -> 4x4) and
    keeping the 3136 -> 256 layer for other sizes (28x28: 7x7 -> 4x4, overlapping windows).
    """
    _check_sizes(num_classes, in_channels)
    return nn.Sequential(
        *_conv_bn_relu(in_channels, 64),
        *_conv_bn_relu(64, 64),
        nn.MaxPool2d(2),
        *_conv_bn_relu(64, 128),
        *_conv_bn_relu(128, 128),
        nn.MaxPool2d(2),
        *_conv_bn_relu(128, 196),
        *_conv_bn_relu(196, 196),
        nn.AdaptiveMaxPool2d(4),
        nn.Flatten(),
        nn.Linear(196 * 4 * 4, 256),
        nn.BatchNorm1d(256),
        nn.ReLU(inplace=True),
        nn.Linear(256, num_classes),
    )


def _pooled_block(c_in: int, c_out: int) -> list[nn.Module]:
    """conv -> 2x2 max-pool -> BN -> ReLU -> conv -> BN -> ReLU (the airbench ConvGroup order)."""
    return [
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        *_conv_bn_relu(c_out, c_out),
    ]


def small_net(num_classes: int, in_channels: int = 3) -> nn.Sequential:
    """Fast lab network (1,978,026 parameters for CIFAR-10), after K. Jordan's airbench94.

    Widths 64-256-256 of airbench94 (github.com/KellerJordan/cifar10-airbench) with a plain 3x3
    stem of 32 channels instead of its whitening layer, ReLU instead of GELU, standard
    initialisation and no output scaling. The airbench ablations report that this architecture
    with standard initialisation and Nesterov SGD reaches 94% on CIFAR-10 in 35 epochs; this
    variant has not been timed or trained to convergence on a GPU here.
    """
    _check_sizes(num_classes, in_channels)
    return nn.Sequential(
        *_conv_bn_relu(in_channels, 32),
        *_pooled_block(32, 64),
        *_pooled_block(64, 256),
        *_pooled_block(256, 256),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(256, num_classes),
    )


#: Channels of :func:`cpu_net`'s three stages and units of its hidden layer.
CPU_NET_WIDTHS = (32, 64, 128)
CPU_NET_HIDDEN = 1024


def cpu_net(num_classes: int, in_channels: int = 3) -> nn.Sequential:
    """The "cpu" profile's network: three stages of conv 3x3-BN-ReLU then a 2x2 max-pool, with
    :data:`CPU_NET_WIDTHS` channels, an adaptive average pool to 4x4, fc :data:`CPU_NET_HIDDEN`
    -> ReLU -> fc ``num_classes``.

    A wide fully connected layer on a 4x4 map (2,048 inputs) gives the network the capacity to
    memorise wrong labels within the profile's few epochs (the regime of Arpit et al. 2017 that
    Sec. 4.1 of the paper relies on), while the convolutions stay cheap enough for two CPU cores.
    """
    _check_sizes(num_classes, in_channels)
    layers: list[nn.Module] = []
    c_in = in_channels
    for width in CPU_NET_WIDTHS:
        layers += [*_conv_bn_relu(c_in, width), nn.MaxPool2d(2)]
        c_in = width
    return nn.Sequential(
        *layers,
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(c_in * 16, CPU_NET_HIDDEN),
        nn.ReLU(inplace=True),
        nn.Linear(CPU_NET_HIDDEN, num_classes),
    )


def tiny_net(num_classes: int, in_channels: int = 3) -> nn.Sequential:
    """A few thousand parameters (5,466 for 10 classes, 3 channels): two conv-BN-ReLU layers
    (16, 32 channels, a 2x2 max-pool between), global average pooling, one linear layer."""
    _check_sizes(num_classes, in_channels)
    return nn.Sequential(
        *_conv_bn_relu(in_channels, 16),
        nn.MaxPool2d(2),
        *_conv_bn_relu(16, 32),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, num_classes),
    )


_BUILDERS: dict[str, Callable[[int, int], nn.Module]] = {
    "resnet34": resnet34,
    "resnet18": resnet18,
    "wang_cnn": wang_cnn,
    "small_net": small_net,
    "cpu_net": cpu_net,
    "tiny_net": tiny_net,
}
#: Names accepted by :func:`make_model`.
MODELS = tuple(_BUILDERS)


def make_model(name: str, num_classes: int, in_channels: int = 3) -> nn.Module:
    """Build the network ``name`` (one of :data:`MODELS`) for ``num_classes`` and ``in_channels``."""
    if name not in _BUILDERS:
        raise ValueError(f"name must be one of {', '.join(repr(m) for m in MODELS)}; got {name!r}")
    return _BUILDERS[name](num_classes, in_channels)
