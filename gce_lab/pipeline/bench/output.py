"""Where the benchmark's results go and how they read: the file name of a device, the JSON written
atomically with provenance and the machine's environment, and the printed table.

Results go to ``results/bench/<device>.json`` (``<device>-tiny.json`` for the tiny size,
``...-lab-run.json`` for the lab run). The file is checked before anything is timed: an existing
one (an earlier measurement) is never overwritten, and its folder must be writable.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import time
from pathlib import Path
from typing import Any

import torch

from gce_lab.files import atomic_path
from gce_lab.pipeline.device import device_name
from gce_lab.pipeline.provenance import provenance
from gce_lab.pipeline.results import check_writable, results_root

__all__ = ["device_slug", "output_path", "check_output", "write_json", "environment", "run_provenance", "say", "table"]


def _cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux), else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def device_slug(device: torch.device | str) -> str:
    """File-name form of the device, e.g. ``nvidia-h100-80gb-hbm3``, or ``cpu-<processor model>``
    (``cpu-amd-epyc``) for a CPU."""
    name = f"cpu {_cpu_model()}" if torch.device(device).type == "cpu" else device_name(device)
    return re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-") or "device"


def output_path(out: str | os.PathLike[str] | None, device: torch.device, size: str, suffix: str = "") -> Path:
    """``out``; a folder (existing, or written with a trailing slash) gets the default file name
    ``<device>[-tiny]<suffix>.json`` (default folder: ``results/bench``)."""
    name = f"{device_slug(device)}{'-tiny' if size == 'tiny' else ''}{suffix}.json"
    if out is None:
        return results_root() / "bench" / name
    text = os.fspath(out)
    path = Path(text)
    return path / name if path.is_dir() or text.endswith(("/", os.sep)) else path


def check_output(path: Path) -> Path:
    """``path``, once it is known to be new (an earlier measurement is never overwritten) in a
    writable folder: checked before anything is timed."""
    if path.exists():
        raise ValueError(
            f"bench output {path} already exists (an earlier measurement); move it away or give --out "
            "another file or folder"
        )
    check_writable(path.parent, "bench output folder")
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "")
    return value


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as JSON atomically (NaN -> null)."""
    with atomic_path(path) as tmp, open(tmp, "w") as handle:
        json.dump(_jsonable(payload), handle, indent=1, allow_nan=False)
        handle.write("\n")


def environment(device: torch.device) -> dict[str, Any]:
    """Python, cores and torch threads; on CUDA also the CUDA and cuDNN versions, the card's
    multiprocessors and memory, and whether TF32 is allowed."""
    env = {"python": platform.python_version(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            multiprocessors=props.multi_processor_count,
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
            matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32,
        )
    return env


def run_provenance(
    device: torch.device, profile: str, seed: int, started: float, command: str | None
) -> dict[str, Any]:
    """:func:`gce_lab.pipeline.provenance.provenance` with the wall time since ``started``."""
    return provenance(device, profile=profile, seed=seed, wall_time_s=time.perf_counter() - started, command=command)


def say(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, flush=True)


def table(models: list[dict[str, Any]]) -> str:
    """Text table: throughput, step time, epoch time (extrapolated to the training split, and the
    measured epoch of the images held, if any), TFLOP/s, ratio to the baseline, first step."""
    lines = [
        f"{'model':10s} {'variant':20s} {'img/s':>9s} {'ms/step':>8s} {'s/epoch':>8s} {'measured':>9s} "
        f"{'GFLOP/s':>8s} {'x base':>7s} {'1st step':>8s}"
    ]
    for m in models:
        for v in m["variants"]:
            if "error" in v:
                lines.append(f"{m['model']:10s} {v['variant']:20s} failed: {v['error'][:60]}")
                continue
            measured = v.get("epoch_s_measured")
            lines.append(
                f"{m['model']:10s} {v['variant']:20s} {v['images_per_s']:9.1f} {v['step_ms']:8.2f} "
                f"{v['epoch_s_extrapolated']:8.2f} {'-' if measured is None else f'{measured:.2f}':>9s} "
                f"{v['gflops']:8.1f} {v['speedup_vs_baseline']:7.2f} {v['first_step_s']:8.2f}"
            )
    return "\n".join(lines)
