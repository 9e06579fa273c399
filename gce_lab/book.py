"""The chapters' one setup call: plot theme, table display, and on Colab the committed results.

Every chapter starts with two code cells: a Colab install cell in plain Python (it clones the
book and installs its package when, and only when, the page runs on Colab) and
``gce_lab.book.setup()``, which sets seaborn's theme and pandas' display options and, on Colab,
points ``$GCE_LAB_RESULTS`` at the clone's committed ``results/`` so that chapters 6-11 show
what is committed instead of training anew.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import seaborn as sns

from gce_lab.results import RESULTS_ENV

__all__ = ["COLAB_CLONE", "on_colab", "setup"]

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
    if on_colab() and RESULTS_ENV not in os.environ and (COLAB_CLONE / "results").is_dir():
        os.environ[RESULTS_ENV] = str(COLAB_CLONE / "results")
