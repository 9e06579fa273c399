"""What the ``cpu`` runs the book shows cost, from their own wall times, per recipe and experiment.

Every run records ``wall_time_s`` (its training, evaluation and checkpoints, on the machine that
ran it; for the ``cpu`` profile a 2-core machine, sometimes shared with other work). The book
shows the runs under ``results/<experiment>/cpu``: the profile's first recipe's, and its second
recipe's (:data:`gce_lab.book.recipe_pilot.RECIPES`: the commit they come from) for each
experiment whose runs are complete and have replaced the first recipe's. The second recipe's runs
of an experiment still under way (``results/cpu_v2``) are not counted: they change with every
run the sweep commits.
"""

from __future__ import annotations

import os

import pandas as pd

from gce_lab.book.recipe_pilot import RECIPES
from gce_lab.pipeline.experiments import EXPERIMENTS
from gce_lab.pipeline.results import load_results, results_root

__all__ = ["cpu_cost"]

_COLUMNS = ["recipe", "experiment", "runs", "wall-time hours", "median seconds a run"]


def cpu_cost(root: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Per recipe and experiment, the ``cpu`` runs under the results root ``root``
    (``<experiment>/cpu``): how many, their summed wall time in hours and their median seconds a
    run, then one total row per recipe (experiment ``"all"``)."""
    base = results_root(root)
    _, second = RECIPES["recipe 2"]
    rows, seconds_of = [], {"recipe 1": [], "recipe 2": []}
    for experiment in EXPERIMENTS:
        try:
            runs, _ = load_results(experiment, "cpu", base)
        except FileNotFoundError:
            continue
        is_second = runs["git_commit"].astype(str).str.startswith(second)
        for recipe, part in (("recipe 1", runs[~is_second]), ("recipe 2", runs[is_second])):
            if len(part):
                seconds = part["wall_time_s"].astype(float)
                seconds_of[recipe] += list(seconds)
                rows.append((recipe, experiment, len(part), seconds.sum() / 3600, seconds.median()))
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    totals = [
        (recipe, "all", len(seconds), sum(seconds) / 3600, pd.Series(seconds).median())
        for recipe, seconds in seconds_of.items()
        if seconds
    ]
    frame = pd.concat([frame, pd.DataFrame(totals, columns=_COLUMNS)], ignore_index=True)
    return frame.sort_values("recipe", kind="stable").set_index(["recipe", "experiment"]).round(2)
