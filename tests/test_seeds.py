"""Derived seeds: one independent stream per use of a run seed."""

import pytest

from gce_lab.seeds import PURPOSES, derived_seed


def test_derived_seeds_are_reproducible_and_distinct_per_use():
    assert derived_seed(3, "noise") == derived_seed(3, "noise")
    seeds = {derived_seed(s, p) for s in range(5) for p in PURPOSES}
    seeds |= {derived_seed(s, "epoch", e) for s in range(5) for e in range(1, 121)}
    assert len(seeds) == 5 * len(PURPOSES) + 5 * 120


def test_epoch_seeds_of_one_run_never_equal_another_runs_init_seed():
    inits = {derived_seed(s, "init") for s in range(5)}
    assert not inits & {derived_seed(0, "epoch", e) for e in range(1, 151)}


@pytest.mark.parametrize(
    "args, message",
    [
        ((-1, "noise"), r"seed must be an integer >= 0"),
        ((0, "colour"), r"purpose must be one of"),
        ((0, "epoch", -2), r"index must be an integer >= 0"),
    ],
)
def test_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        derived_seed(*args)
