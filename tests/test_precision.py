"""Mixed precision and float64 on the CPU, standing in for the devices this machine lacks:

* float16 autocast with ``torch.amp.GradScaler`` (a T4's path): every loss gets finite gradients
  through the scaler, and a run trains with finite losses and keeps its loss scale in checkpoints;
* no float64 tensor on the training device (Apple MPS has none): a ``TorchFunctionMode`` records
  every float64 result a training run creates and where it came from.
"""

from __future__ import annotations

import math
import sys

import pytest
import torch
from torch.overrides import TorchFunctionMode

from gce_lab import lq_arithmetic
from gce_lab.methods import METHOD_INFO, PAPER_METHODS, make_loss
from gce_lab.noise import make_noise
from gce_lab.pipeline.augment import per_pixel_mean, prepare_batch
from gce_lab.pipeline.device import training_policy
from gce_lab.pipeline.models import tiny_net
from gce_lab.pipeline.train import TrainConfig, TrainingInterrupted, autocast, grad_scaler, train

FP16 = training_policy(torch.device("cpu"), "fp16")
T_UNIFORM = torch.as_tensor(make_noise("uniform", 0.4, "cifar10").transition_matrix(), dtype=torch.float32)


@pytest.fixture(scope="module")
def data(noisy_synthetic_cifar10):
    return noisy_synthetic_cifar10(160, 32)


def _config(method: str, **kwargs) -> TrainConfig:
    prune = {"prune_start": 1, "prune_every": 1} if METHOD_INFO[method].prunes else {}
    return TrainConfig(method, epochs=2, optimizer="adam", lr=0.01, batch_size=32, **prune, **kwargs)


def _t(method: str):
    return T_UNIFORM if METHOD_INFO[method].needs_T else None


@pytest.mark.parametrize("method", PAPER_METHODS)
def test_float16_gradients_through_the_scaler_are_finite_for_every_loss(method, data):
    torch.manual_seed(0)
    model = tiny_net(10, 3)
    optimizer = torch.optim.Adam(model.parameters())
    scaler = grad_scaler(FP16)
    assert isinstance(scaler, torch.amp.GradScaler) and scaler.is_enabled()
    loss_fn = make_loss(method, T=_t(method), num_samples=data.x_train.shape[0])
    inputs = prepare_batch(data.x_train[:32], per_pixel_mean(data.x_train), train=False)
    with autocast(torch.device("cpu"), FP16.amp_dtype):
        logits = model(inputs)
    assert logits.dtype == torch.float16  # the autocast path is really taken
    loss = loss_fn(logits.float(), data.y_train[:32], torch.arange(32))
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("method", PAPER_METHODS)
def test_a_float16_run_trains_with_finite_losses(method, data):
    torch.manual_seed(0)
    result = train(tiny_net(10, 3), data, _config(method, precision="fp16"), T=_t(method))
    assert result.amp_dtype == torch.float16
    for record in result.history:
        assert all(math.isfinite(record[key]) for key in ("train_loss", "val_loss", "val_acc", "test_acc"))


def test_the_loss_scale_is_checkpointed_and_resumed(data, tmp_path):
    path = tmp_path / "run.pt"

    def stop(record):
        raise TrainingInterrupted

    torch.manual_seed(0)
    with pytest.raises(TrainingInterrupted):
        train(tiny_net(10, 3), data, _config("lq", precision="fp16"), checkpoint_path=path, on_epoch_end=stop)
    state = torch.load(path, weights_only=True)
    assert state["scaler"]["scale"] > 0
    torch.manual_seed(0)
    assert train(tiny_net(10, 3), data, _config("lq", precision="fp16"), checkpoint_path=path).resumed_from_epoch == 1


class Float64Guard(TorchFunctionMode):
    """Records each torch call that returns a float64 tensor, with the gce_lab function it ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.origins: set[str] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        results = out if isinstance(out, (tuple, list)) else (out,)
        if any(isinstance(r, torch.Tensor) and r.dtype == torch.float64 for r in results):
            frame = sys._getframe(1)
            while frame is not None and not frame.f_globals.get("__name__", "").startswith("gce_lab."):
                frame = frame.f_back
            self.origins.add("?" if frame is None else f"{frame.f_globals['__name__']}:{frame.f_code.co_name}")
        return out


#: float64 work that is done on the CPU by construction, never on the training device.
HOST_SIDE = {
    "gce_lab.pipeline.augment:per_pixel_mean",
    "gce_lab.pipeline.train:fingerprint",
    "gce_lab.validation:check_transition_matrix",  # checks a copy of T moved to the host first
}


@pytest.mark.parametrize("method", PAPER_METHODS)
def test_a_training_run_creates_no_float64_tensor_on_the_device(method, data, tmp_path, monkeypatch):
    """The CPU trains as a device without float64 (Apple MPS) would: the loss arithmetic takes its
    float32 path, and nothing else may make a float64 tensor outside the host-side steps."""
    monkeypatch.setattr(lq_arithmetic, "float64_available", lambda device: False)
    torch.manual_seed(0)
    guard = Float64Guard()
    with guard:
        train(tiny_net(10, 3), data, _config(method), T=_t(method), checkpoint_path=tmp_path / "run.pt")
    assert guard.origins <= HOST_SIDE, f"float64 tensors created in {sorted(guard.origins - HOST_SIDE)}"


def test_the_guard_sees_float64_where_it_is_made(data):
    guard = Float64Guard()
    with guard:
        per_pixel_mean(data.x_train)
    assert guard.origins == {"gce_lab.pipeline.augment:per_pixel_mean"}  # the guard can fail


def test_the_per_pixel_mean_sums_on_the_host_and_returns_float32_on_the_images_device(data):
    mean = per_pixel_mean(data.x_train)
    exact = data.x_train.to(torch.int64).sum(dim=0).double() / (255.0 * data.x_train.shape[0])
    assert mean.dtype == torch.float32 and mean.device == data.x_train.device
    assert torch.equal(mean, exact.float())
