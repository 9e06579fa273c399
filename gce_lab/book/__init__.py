"""The chapters' helpers: one setup call (plot theme, table display, on Colab the committed
results), :func:`show_source`, which puts the package's own code on the page, and the Colab
install cell every chapter starts with (:func:`colab_install_cell`).

Every chapter starts with two code cells: a Colab install cell in plain Python (it clones the
book once and installs its package editable from the clone when, and only when, the page runs
on Colab; safe to run again after a runtime restart) and ``gce_lab.book.setup()``, which sets
seaborn's theme and pandas' display options and, on Colab, points ``$GCE_LAB_RESULTS`` at the
clone's committed ``results/`` so that chapters 6-11 show what is committed instead of training
anew.

The repository's address is :data:`REPOSITORY_URL`, here and nowhere else in the package: the
chapters' install cells, ``book/_config.yml`` and ``book/intro.md`` are tested against it
(``tests/test_colab.py``), so moving the repository means changing it and the files that test names.
"""

from __future__ import annotations

import inspect
import os
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import seaborn as sns

from gce_lab.pipeline.provenance import on_colab
from gce_lab.pipeline.results import RESULTS_ENV

__all__ = ["REPOSITORY_URL", "COLAB_CLONE", "colab_install_cell", "on_colab", "setup", "show_source"]

#: The book's repository: the launch buttons, the Colab install cell and the intro name it.
REPOSITORY_URL = "https://github.com/gce-lab/gce-lab"

#: Where the Colab install cell clones the book.
COLAB_CLONE = Path("/content/gce-lab")


def colab_install_cell() -> str:
    """The source of every chapter's first code cell: on Colab, clone the book once and install it
    editable from the clone (its results and checkpoints stay in the clone, its commit is
    recorded), importable at once in the running kernel; elsewhere nothing."""
    return f"""\
# On Colab only: clone the book (its package and committed results) once and install the package
# from the clone, editable, with what the chapters need ([book]). Safe to run again, e.g. after a
# runtime restart.
import subprocess
import sys
from pathlib import Path

if "google.colab" in sys.modules:
    url, clone = "{REPOSITORY_URL}", Path("{COLAB_CLONE}")
    if not (clone / ".git").is_dir():
        subprocess.run(["git", "clone", "--depth", "1", url, str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", f"{{clone}}[book]"], check=True)
    if str(clone) not in sys.path:  # this kernel imports the clone at once; new ones find the install
        sys.path.insert(0, str(clone))"""


def setup(max_rows: int = 100) -> None:
    """Theme and display options of every chapter; on Colab, the results root of the clone."""
    sns.set_theme(context="notebook", style="whitegrid")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", None)
    pd.set_option("display.max_rows", max_rows)
    pd.set_option("display.max_colwidth", None)  # a cell is never cut to "..." (an order of six losses is long)
    if on_colab() and RESULTS_ENV not in os.environ and (COLAB_CLONE / "results").is_dir():
        os.environ[RESULTS_ENV] = str(COLAB_CLONE / "results")


def show_source(*objects: Any) -> Any:
    """The package's own source of ``objects`` (functions, classes, methods), highlighted: the
    code a chapter teaches is the code that runs, pulled in with :func:`inspect.getsource` (as
    d2l shows its saved functions where it teaches them)."""
    from IPython.display import Code  # imported here: the package does not need IPython otherwise

    if not objects:
        raise ValueError("objects must name at least one function, class or method")
    return Code("\n\n".join(textwrap.dedent(inspect.getsource(obj)).rstrip() for obj in objects), language="python")
