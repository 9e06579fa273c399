"""One precision and compile policy per device, checked on faked capabilities (no GPU or Mac here):
an Ampere-class card, a T4 (no native bfloat16), a Pascal card (compute capability 6.x), CUDA
without Triton, Apple MPS and the CPU; and the reading of those capabilities from torch."""

from __future__ import annotations

import importlib.util

import pytest
import torch

import gce_lab.pipeline.device as device_module
from gce_lab.pipeline.device import Capabilities, capabilities, pick_device, training_policy

CUDA = torch.device("cuda")
AMPERE = Capabilities("cuda", compute_capability=(8, 0), native_bf16=True, triton=True)
T4 = Capabilities("cuda", compute_capability=(7, 5), native_bf16=False, triton=True)
PASCAL = Capabilities("cuda", compute_capability=(6, 1), native_bf16=False, triton=True)
NO_TRITON = Capabilities("cuda", compute_capability=(9, 0), native_bf16=True, triton=False)
MPS = Capabilities("mps", float64=False)
CPU = Capabilities("cpu")


def _policy(caps, precision="auto", compile=True, **kwargs):
    return training_policy(torch.device(caps.device_type), precision, compile, caps=caps, **kwargs)


@pytest.mark.parametrize(
    "caps, precision, amp_dtype, scaling, compiled",
    [
        (AMPERE, "bf16", torch.bfloat16, False, True),
        (T4, "fp16", torch.float16, True, True),
        (PASCAL, "fp16", torch.float16, True, False),
        (NO_TRITON, "bf16", torch.bfloat16, False, False),
        (MPS, "fp32", None, False, False),
        (CPU, "fp32", None, False, False),
    ],
    ids=["ampere", "t4", "pascal", "no-triton", "mps", "cpu"],
)
def test_auto_picks_what_the_device_does_natively(caps, precision, amp_dtype, scaling, compiled):
    policy = _policy(caps)
    assert (policy.precision, policy.amp_dtype, policy.grad_scaling, policy.compile) == (
        precision,
        amp_dtype,
        scaling,
        compiled,
    )
    assert bool(policy.notes) == (not compiled)  # a compile wish not granted says why, in one line


@pytest.mark.parametrize(
    "caps, reason",
    [
        (PASCAL, "compute capability >= 7.0 (Triton); this GPU has 6.1"),
        (NO_TRITON, "needs Triton, which is not installed"),
        (MPS, "CUDA GPUs only, not on mps"),
        (CPU, "CUDA GPUs only, not on cpu"),
    ],
)
def test_eager_where_compiling_cannot_work_and_the_note_says_why(caps, reason):
    assert not _policy(caps).compile
    assert len(_policy(caps).notes) == 1 and reason in _policy(caps).notes[0]
    with pytest.raises(ValueError, match=r"compile must be off \(--no-compile\) on this device: .*" + reason[:20]):
        _policy(caps, require_compile=True)


def test_no_compile_wish_no_note():
    assert _policy(PASCAL, compile=False).notes == () and not _policy(AMPERE, compile=False).compile


def test_bf16_forced_on_a_card_without_it_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"precision must be one of 'auto', 'fp16', 'fp32' .*compute capability 7\.5"):
        _policy(T4, "bf16")
    assert _policy(T4, "fp16").grad_scaling and _policy(T4, "fp32").amp_dtype is None
    assert _policy(AMPERE, "fp16").grad_scaling and _policy(AMPERE, "fp32").amp_dtype is None


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mps_trains_in_float32_and_refuses_mixed_precision(precision):
    with pytest.raises(ValueError, match=r"precision must be one of 'auto', 'fp32' on Apple MPS"):
        _policy(MPS, precision)


def test_the_cpu_may_run_mixed_precision_when_asked():
    assert _policy(CPU, "fp16").amp_dtype == torch.float16 and _policy(CPU, "fp16").grad_scaling
    assert _policy(CPU, "bf16").amp_dtype == torch.bfloat16 and not _policy(CPU, "bf16").grad_scaling


@pytest.mark.parametrize("bad", ["float16", "bfloat16", "none", None])
def test_unknown_precision_names_the_choices(bad):
    with pytest.raises(ValueError, match="precision must be one of 'auto', 'bf16', 'fp16', 'fp32'"):
        _policy(CPU, bad)


def test_capabilities_read_from_torch_for_cuda(monkeypatch):
    asked = {}

    def is_bf16_supported(including_emulation=True):
        asked["including_emulation"] = including_emulation
        return False

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "triton" else object())
    caps = capabilities(CUDA)
    assert asked == {"including_emulation": False}  # emulated bfloat16 (a T4's) does not count
    assert caps == Capabilities("cuda", compute_capability=(7, 5), native_bf16=False, triton=False)


def test_mps_has_no_float64_and_the_cpu_has():
    assert capabilities(torch.device("mps")) == MPS and capabilities(torch.device("cpu")).float64


def test_auto_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    assert pick_device("auto") == torch.device("mps")
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
