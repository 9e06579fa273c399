"""The chapters' helpers: one setup call (plot theme, table display, on Colab the committed
results) and :func:`show_source`, which puts the package's own code on the page.

Every chapter starts with two code cells: a Colab install cell in plain Python (it clones the
book and installs its package when, and only when, the page runs on Colab) and
``gce_lab.book.setup()``, which sets seaborn's theme and pandas' display options and, on Colab,
points ``$GCE_LAB_RESULTS`` at the clone's committed ``results/`` so that chapters 6-11 show
what is committed instead of training anew.
"""

from __future__ import annotations

import inspect
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import seaborn as sns

from gce_lab.pipeline.results import RESULTS_ENV

__all__ = ["COLAB_CLONE", "on_colab", "setup", "show_source"]

#: Where the Colab install cell clones the book.
COLAB_CLONE = Path("/content/gce-lab")


def on_colab() -> bool:
    """Whether this kernel runs on Google Colab."""
    return "google.colab" in sys.modules


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
