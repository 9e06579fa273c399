"""Pick the compute device and its fast-path settings (CUDA, then Apple MPS, then CPU)."""

from __future__ import annotations

import platform

import torch

from gce_lab.validation import check_choice

__all__ = ["DEVICE_CHOICES", "AMP_CHOICES", "pick_device", "device_name", "resolve_amp_dtype"]

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
AMP_CHOICES = ("auto", "bfloat16", "float16", "none")


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


def resolve_amp_dtype(amp_dtype: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``device``: ``"auto"`` is bfloat16 on CUDA and none elsewhere."""
    check_choice("amp_dtype", amp_dtype, AMP_CHOICES)
    if amp_dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    return None if amp_dtype == "none" else getattr(torch, amp_dtype)
