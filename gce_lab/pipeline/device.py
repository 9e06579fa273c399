"""Pick the compute device and decide, once per device, how to train on it: precision and compile.

The policy (:func:`training_policy`) reads what the device can do (:func:`capabilities`) and the
user's wishes (``precision``: ``auto``, ``bf16``, ``fp16``, ``fp32``; ``compile``):

=========================== ==================================== ================================
device                      ``precision="auto"``                  ``torch.compile``
=========================== ==================================== ================================
CUDA, native bfloat16       bfloat16 autocast                     if Triton and capability >= 7.0
(compute capability >= 8.0)
CUDA without (T4, V100)     float16 autocast + ``GradScaler``     if Triton and capability >= 7.0
Apple MPS                   float32 (no autocast)                 never (eager)
CPU                         float32 (no autocast)                 never (eager)
=========================== ==================================== ================================

A wish the device cannot grant raises ``ValueError`` naming the setting, its allowed values and
why (``bf16`` on a card without native bfloat16, ``bf16``/``fp16`` on MPS, a forced compile
without Triton). ``compile=True`` from a profile is a wish: where compiling cannot work the run
is eager and :attr:`TrainingPolicy.notes` says why, in one line (the trainer warns with it).
Explicit ``bf16`` and ``fp16`` are allowed on the CPU (slow, but they let a CPU test the
mixed-precision path).

MPS has no float64: the trainer's float64 work (the per-pixel mean's exact sum) is done on the
CPU (:func:`gce_lab.pipeline.augment.per_pixel_mean`).
"""

from __future__ import annotations

import importlib.util
import platform
from dataclasses import dataclass

import torch

from gce_lab.validation import check_bool, check_choice

__all__ = [
    "DEVICE_CHOICES",
    "PRECISION_CHOICES",
    "MIN_COMPILE_CAPABILITY",
    "Capabilities",
    "TrainingPolicy",
    "pick_device",
    "device_name",
    "capabilities",
    "training_policy",
]

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
PRECISION_CHOICES = ("auto", "bf16", "fp16", "fp32")
#: Triton (torch.compile's GPU backend) needs compute capability 7.0 (Volta) or later.
MIN_COMPILE_CAPABILITY = (7, 0)

_AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(preference: str = "auto") -> torch.device:
    """The device to train on: ``"auto"`` takes CUDA if present, else Apple MPS, else the CPU.

    An explicit ``"cuda"`` or ``"mps"`` that is not available raises ``ValueError``.
    """
    check_choice("device", preference, DEVICE_CHOICES)
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ValueError("device must be one of 'auto', 'cpu' (or an available accelerator); CUDA is not available")
    if preference == "mps" and not _mps_available():
        raise ValueError("device must be one of 'auto', 'cpu' (or an available accelerator); MPS is not available")
    return torch.device(preference)


def device_name(device: torch.device | str) -> str:
    """Human-readable name of the device for provenance, e.g. ``"NVIDIA H100 80GB HBM3"``."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    return f"cpu ({platform.processor() or platform.machine() or 'unknown'})"


@dataclass(frozen=True)
class Capabilities:
    """What a device can do, as far as the training policy cares.

    Attributes:
        device_type: ``"cuda"``, ``"mps"`` or ``"cpu"``.
        compute_capability: ``(major, minor)`` of a CUDA card, None elsewhere.
        native_bf16: bfloat16 arithmetic in hardware (CUDA capability >= 8.0), not emulated.
        triton: the ``triton`` package (torch.compile's GPU code generator) is installed.
        float64: the device has float64 tensors (MPS has not).
    """

    device_type: str
    compute_capability: tuple[int, int] | None = None
    native_bf16: bool = False
    triton: bool = False
    float64: bool = True


def capabilities(device: torch.device) -> Capabilities:
    """Read :class:`Capabilities` of ``device`` from the installed torch (and Triton)."""
    device = torch.device(device)
    if device.type == "cuda":  # the trainer uses the current CUDA device ("cuda" without an index)
        return Capabilities(
            "cuda",
            compute_capability=tuple(torch.cuda.get_device_capability(device)),
            native_bf16=torch.cuda.is_bf16_supported(including_emulation=False),
            triton=importlib.util.find_spec("triton") is not None,
        )
    return Capabilities(device.type, float64=device.type != "mps")


@dataclass(frozen=True)
class TrainingPolicy:
    """How a run trains on its device, decided once (:func:`training_policy`).

    Attributes:
        device: where it trains.
        precision: what ran: ``"bf16"``, ``"fp16"`` or ``"fp32"`` (never ``"auto"``).
        amp_dtype: the autocast dtype (None: float32, no autocast).
        grad_scaling: scale the loss with ``torch.amp.GradScaler`` (float16 only).
        compile: ``torch.compile`` the training forward pass.
        notes: one line per wish not granted (e.g. why the run is eager), for the log.
    """

    device: torch.device
    precision: str
    amp_dtype: torch.dtype | None
    grad_scaling: bool
    compile: bool
    notes: tuple[str, ...] = ()


def _precision(wish: str, caps: Capabilities) -> str:
    allowed = "'auto', 'fp32'" + (", 'bf16', 'fp16'" if caps.device_type == "cpu" else "")
    if caps.device_type == "cuda":
        if wish == "auto":
            return "bf16" if caps.native_bf16 else "fp16"
        if wish == "bf16" and not caps.native_bf16:
            major, minor = caps.compute_capability or (0, 0)
            raise ValueError(
                "precision must be one of 'auto', 'fp16', 'fp32' on this GPU; got 'bf16', but it has no native "
                f"bfloat16 (compute capability {major}.{minor} < 8.0; 'auto' picks fp16 with gradient scaling)"
            )
        return wish
    if wish in ("bf16", "fp16") and caps.device_type == "mps":
        raise ValueError(f"precision must be one of {allowed} on Apple MPS (it trains in float32); got {wish!r}")
    return "fp32" if wish == "auto" else wish


def _compile_blocker(caps: Capabilities) -> str | None:
    """Why torch.compile cannot work on this device, or None when it can."""
    if caps.device_type != "cuda":
        return f"torch.compile is used on CUDA GPUs only, not on {caps.device_type}"
    if caps.compute_capability is not None and caps.compute_capability < MIN_COMPILE_CAPABILITY:
        major, minor = caps.compute_capability
        return f"torch.compile needs compute capability >= 7.0 (Triton); this GPU has {major}.{minor}"
    if not caps.triton:
        return "torch.compile needs Triton, which is not installed (pip install triton)"
    return None


def training_policy(
    device: torch.device,
    precision: str = "auto",
    compile: bool = False,
    *,
    require_compile: bool = False,
    caps: Capabilities | None = None,
) -> TrainingPolicy:
    """The precision and compile decision for ``device`` (see the module docstring's table).

    Args:
        device: the training device (:func:`pick_device`).
        precision: ``"auto"`` (the device's best), ``"bf16"``, ``"fp16"`` or ``"fp32"``.
        compile: wish to ``torch.compile``; granted where it can work, else eager with a note.
        require_compile: the user forced compiling: where it cannot work, ``ValueError``.
        caps: the device's capabilities (default: read them; tests pass fakes).

    Raises:
        ValueError: an unknown value, or a forced setting the device cannot do (the message
            names the setting, its allowed values and why).
    """
    check_choice("precision", precision, PRECISION_CHOICES)
    check_bool("compile", compile)
    check_bool("require_compile", require_compile)
    device = torch.device(device)
    caps = capabilities(device) if caps is None else caps
    chosen = _precision(precision, caps)
    notes: list[str] = []
    blocker = _compile_blocker(caps) if compile or require_compile else None
    if blocker is not None and require_compile:
        raise ValueError(f"compile must be off (--no-compile) on this device: {blocker}")
    if blocker is not None:
        notes.append(f"eager mode: {blocker}")
    return TrainingPolicy(
        device=device,
        precision=chosen,
        amp_dtype=_AUTOCAST[chosen],
        grad_scaling=chosen == "fp16",
        compile=bool(compile or require_compile) and blocker is None,
        notes=tuple(notes),
    )
