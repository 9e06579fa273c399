"""results/README.md's table of what is committed says, for the cpu profile, as many runs done of
as many planned as `python -m gce_lab status <experiment> --profile cpu` counts in results/."""

from __future__ import annotations

import re

import pytest

from gce_lab.pipeline.experiments import EXPERIMENT_NAMES
from gce_lab.pipeline.planning import Selection, plan
from gce_lab.pipeline.provenance import REPO_ROOT
from gce_lab.pipeline.runner import Where, experiment_status

RESULTS = REPO_ROOT / "results"


def _cpu_cells() -> dict[str, str]:
    """The cpu column of the "What is here now" table, per experiment."""
    text = (RESULTS / "README.md").read_text()
    section = text.split("## What is here now", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0]]
    column = next(i for i, name in enumerate(header) if name.startswith("cpu"))
    return {row[0].strip(): row[column].strip() for row in rows[1:] if not set(row[0].strip()) <= {"-"}}


def test_the_table_lists_every_experiment():
    assert list(_cpu_cells()) == list(EXPERIMENT_NAMES)


@pytest.mark.parametrize("experiment", EXPERIMENT_NAMES)
def test_the_cpu_counts_are_those_of_the_committed_runs(experiment):
    quoted = re.match(r"(\d+) of (\d+)", _cpu_cells()[experiment])
    assert quoted, f"the cpu cell of {experiment} must start with '<done> of <planned>'"
    status = experiment_status(plan(Selection(experiment, "cpu")), Where(root=RESULTS))
    assert (int(quoted[1]), int(quoted[2])) == ((status["state"] == "done").sum(), len(status))
