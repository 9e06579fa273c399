"""`pip install gce-lab` is torch and numpy: the light part imports and works with nothing else.

A subprocess blocks every package of the extras that torch itself does not require (torch
brings sympy and filelock with it), as if they were not installed, imports the
light modules, trains a step with GCELoss, and fails if any blocked package was imported; then
``python -m gce_lab`` must name the extra to install instead of printing a traceback.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

from gce_lab.__main__ import EXPERIMENT_MODULES

ROOT = Path(__file__).resolve().parent.parent
#: The light part: the paper's mathematics and its foundations (ARCHITECTURE.md's bottom layer).
LIGHT_MODULES = (
    "gce_lab",
    "gce_lab.gce",
    "gce_lab.losses",
    "gce_lab.lq_arithmetic",
    "gce_lab.noise",
    "gce_lab.transition",
    "gce_lab.bounds",
    "gce_lab.methods",
    "gce_lab.datasets",
    "gce_lab.validation",
    "gce_lab.seeds",
    "gce_lab.files",
)
#: torch's own requirements (sympy and filelock among them) come with any install of torch.
TORCH_REQUIRES = {re.split(r"[\s;<>=!~\[]", r, maxsplit=1)[0].lower() for r in metadata.requires("torch") or []}
#: The extras' packages, by module name, that must not be imported: all but torch's own.
HEAVY = sorted(
    (EXPERIMENT_MODULES | {"matplotlib", "seaborn", "sympy", "scipy", "IPython", "jupytext", "nbformat"})
    - TORCH_REQUIRES
)

SCRIPT = """
import importlib, importlib.abc, runpy, sys

HEAVY = set({heavy!r})

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
        return None

sys.meta_path.insert(0, Block())
for module in {modules!r}:
    importlib.import_module(module)

import torch
from gce_lab import GCELoss
model = torch.nn.Linear(4, 3)
loss = GCELoss(q=0.7)(model(torch.randn(8, 4)), torch.randint(0, 3, (8,)))
loss.backward()
assert torch.isfinite(loss)
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & HEAVY)
assert not loaded, f"the light install imported {{loaded}}"
print("LIGHT OK")
sys.argv = ["gce_lab", "list"]
runpy.run_module("gce_lab", run_name="__main__")
"""


def test_light_part_needs_no_extra_and_the_cli_names_the_extra():
    script = textwrap.dedent(SCRIPT).format(heavy=HEAVY, modules=LIGHT_MODULES)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert "LIGHT OK" in done.stdout, done.stderr
    assert done.returncode == 2, done.stderr
    assert "pip install 'gce-lab[experiments]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_package_depends_on_torch_and_numpy_only_and_dev_keeps_everything():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = sorted(d.split(">")[0].split("=")[0].split("<")[0] for d in project["dependencies"])
    assert names == ["numpy", "torch"]
    extras = project["optional-dependencies"]
    assert "gce-lab[experiments]" in extras["book"] and "gce-lab[book]" in extras["dev"]
    assert {"pandas", "torchvision", "submitit"} <= {d.split(">")[0] for d in extras["experiments"]}
    assert project["scripts"]["gce-lab"] == "gce_lab.__main__:main"
