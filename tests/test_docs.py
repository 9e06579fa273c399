"""The README and the book's intro say the same, and what they say of the committed results is
what the results hold."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def _profiles_table(text: str) -> str:
    start = text.index("| profile | what | where |")
    return text[start : text.index("\n\n", start)]


def test_the_intro_shows_the_readme_profile_table():
    readme, intro = ((REPO / p).read_text() for p in ("README.md", "book/intro.md"))
    assert _profiles_table(intro) == _profiles_table(readme)
    rows = [line.split("|")[1].strip(" `") for line in _profiles_table(readme).splitlines()[2:]]
    assert rows == ["cached", "smoke", "cpu", "lab", "paper"]


def test_the_readme_quotes_the_measured_wall_times_of_the_cpu_runs():
    readme = " ".join((REPO / "README.md").read_text().split())
    runs = pd.read_csv(REPO / "results" / "table1" / "cpu" / "runs.csv").query("seed == 0")
    medians = runs.groupby("dataset")["wall_time_s"].median()
    fashion = runs[runs["dataset"] == "fashion_mnist"]
    quoted = (
        f"a median of {medians['fashion_mnist']:.0f} s a Fashion-MNIST run and {medians['cifar10']:.0f} s a "
        f"CIFAR-10-JPEG run of Table 1, and {fashion['wall_time_s'].sum() / 3600:.2f} h for the {len(fashion)} runs "
        "of Table 1's Fashion-MNIST block, all seed 0"
    )
    assert quoted in readme


def test_the_intro_names_every_part_of_the_book():
    intro = (REPO / "book" / "intro.md").read_text()
    toc = (REPO / "book" / "_toc.yml").read_text()
    chapters = sorted(int(n) for n in re.findall(r"notebooks/(\d\d)_", toc))
    assert chapters == list(range(1, 13))
    assert "Chapters 1–5" in intro and "Chapters 6–10" in intro and "Chapter 11" in intro and "Chapter 12" in intro
    assert "CDN" not in intro and "GPU training runs" not in intro
