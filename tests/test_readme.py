"""The README's "Use the loss in your own code" block runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import torch

README = Path(__file__).resolve().parent.parent / "README.md"


def _usage_block() -> str:
    text = README.read_text()
    section = text.split("## Use the loss in your own code", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section holds exactly one python block"
    return blocks[0]


def test_readme_usage_block_runs_and_trains():
    code = _usage_block()
    assert len(code.strip().splitlines()) <= 12
    namespace: dict = {}
    torch.manual_seed(0)
    exec(compile(code, str(README), "exec"), namespace)
    loss = namespace["loss"]
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert namespace["model"].weight.grad is not None
