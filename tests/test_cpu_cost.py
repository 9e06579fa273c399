"""What the committed cpu runs cost (gce_lab.book.cpu_cost), on a results root made of committed
runs, and as the README and results/README.md quote it."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from gce_lab.book.cpu_cost import cpu_cost
from gce_lab.pipeline.provenance import REPO_ROOT

RESULTS = REPO_ROOT / "results"


def test_runs_are_counted_per_recipe_and_the_store_under_way_is_not(tmp_path):
    shutil.copytree(RESULTS / "cpu_pilot" / "recipe1" / "table1" / "cpu", tmp_path / "table1" / "cpu")
    shutil.copytree(RESULTS / "fig1c" / "cpu", tmp_path / "fig1c" / "cpu")  # recipe 2's
    shutil.copytree(RESULTS / "fig1ab" / "cpu", tmp_path / "cpu_v2" / "fig1ab" / "cpu")  # under way
    cost = cpu_cost(tmp_path)
    first = pd.read_csv(tmp_path / "table1" / "cpu" / "runs.csv")
    second = pd.read_csv(tmp_path / "fig1c" / "cpu" / "runs.csv")
    assert cost.loc[("recipe 1", "table1"), "runs"] == len(first)
    assert ("recipe 2", "fig1ab") not in cost.index and cost.loc[("recipe 2", "all"), "runs"] == len(second)
    assert cost.loc[("recipe 2", "all"), "wall-time hours"] == pytest.approx(
        second["wall_time_s"].sum() / 3600, abs=0.005
    )
    assert cost.loc[("recipe 1", "all"), "median seconds a run"] == pytest.approx(
        first["wall_time_s"].median(), abs=0.005
    )


def test_the_readmes_quote_what_the_committed_runs_cost():
    cost = cpu_cost(RESULTS)
    assert "recipe 1" not in cost.index.get_level_values("recipe"), "every experiment holds recipe 2's runs"
    two = cost.loc[("recipe 2", "all")]
    quoted = (
        f"the {int(two['runs'])} runs of the second recipe committed so far took {two['wall-time hours']:.1f} hours "
        f"of wall time (median {two['median seconds a run']:.0f} s a run)"
    )
    for readme in ("README.md", "results/README.md"):
        assert quoted in " ".join((REPO_ROOT / readme).read_text().split()), readme


def test_every_cifar10_column_of_table1_has_three_seeds_as_the_readme_says():
    runs = pd.read_csv(RESULTS / "table1" / "cpu" / "runs.csv")
    noisy = runs[(runs["dataset"] == "cifar10") & (runs["noise"] != "none")]
    seeds = noisy.groupby(["noise", "eta", "method"])["seed"].apply(lambda s: sorted(s.astype(int)))
    assert len(seeds) == 8 * 6, "Table 1's eight noisy CIFAR-10 columns, six methods each"
    assert all(s == [0, 1, 2] for s in seeds), seeds[seeds.map(lambda s: s != [0, 1, 2])]
    readme = " ".join((REPO_ROOT / "README.md").read_text().split())
    assert "Table 1's second and third seeds: every CIFAR-10 column's" in readme
