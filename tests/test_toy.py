"""Tests of the 2-D toy problem behind chapters 1 and 4 (gce_lab.toy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gce_lab.book.toy_plots import decision_grid, plot_decision_regions
from gce_lab.schedules import pruning_epochs
from gce_lab.toy import TOY_METHODS, PruneStep, ToyConfig, make_mlp, make_spirals, make_toy_data, toy_config, train_toy


@pytest.fixture(scope="module")
def noisy_data():
    return make_toy_data(eta=0.4, seed=0)


@pytest.fixture(scope="module")
def truncated_run(noisy_data):
    return train_toy("truncated_lq", noisy_data)  # the chapters' settings: 240 epochs


# --------------------------------------------------------------------------- data
def test_spirals_are_balanced_reproducible_and_in_the_unit_disc():
    x, y = make_spirals(400, num_classes=4, seed=3)
    assert x.shape == (400, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [100, 100, 100, 100]
    assert np.all(np.linalg.norm(x, axis=1) <= 1.0 + 1e-6)
    x2, y2 = make_spirals(400, num_classes=4, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, make_spirals(400, num_classes=4, seed=4)[0])


def test_spiral_arms_turn_with_the_radius():
    # without angular noise a point's angle is 2 pi (k / c + turns r) exactly
    x, y = make_spirals(200, num_classes=4, turns=1.0, arm_noise=0.0, seed=0)
    radius = np.linalg.norm(x, axis=1)
    expected = 2 * np.pi * (y / 4 + radius)
    angle = np.arctan2(x[:, 1], x[:, 0])
    np.testing.assert_allclose(np.cos(angle - expected), 1.0, atol=1e-5)


def test_toy_data_splits_and_noise(noisy_data):
    data = noisy_data
    assert len(data.y_train) == 540 and len(data.y_val) == 60 and len(data.y_test) == 2000
    assert data.num_classes == 4
    assert data.noise.kind == "uniform" and data.noise.eta == 0.4
    # about 40 % of the training labels are wrong (binomial sd ~ 0.021 for n = 540)
    assert abs(data.realised_rate - 0.4) < 0.07
    np.testing.assert_array_equal(data.is_noisy, data.y_train != data.y_train_true)


def test_label_noise_is_independent_of_the_position():
    # Regression: one seed for the points and the noise tied each flip to the point's radius,
    # which made the "noise" learnable. The flip must not correlate with where a point is.
    data = make_toy_data(num_train=4000, eta=0.4, seed=0)
    radius = np.linalg.norm(data.x_train, axis=1)
    flipped = data.is_noisy.astype(float)
    assert abs(np.corrcoef(radius, flipped)[0, 1]) < 0.06
    # and the noisy labels of the points of one class are spread over all other classes
    for cls in range(data.num_classes):
        wrong = data.y_train[(data.y_train_true == cls) & data.is_noisy]
        assert set(np.unique(wrong)) == set(range(data.num_classes)) - {cls}


def test_clean_toy_data_has_no_wrong_labels():
    data = make_toy_data(eta=0.0, seed=1)
    assert data.noise.kind == "none"
    assert not data.is_noisy.any()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"eta": 0.9}, "eta"),  # uniform noise needs eta <= 1 - 1/c
        ({"num_classes": 1}, "num_classes"),
        ({"num_train": 1}, "num_train"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"arm_noise": -0.1}, "arm_noise"),
        ({"seed": -1}, "seed"),
    ],
)
def test_make_toy_data_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_toy_data(**kwargs)


# --------------------------------------------------------------------------- training
def test_cce_learns_clean_spirals():
    data = make_toy_data(eta=0.0, seed=0)
    run = train_toy("cce", data, epochs=60)
    best = run.history.loc[run.history["val_acc"].idxmax()]
    assert best["test_acc"] > 95  # percent
    assert run.prunes == [] and (run.history["n_pruned"] == 0).all()


def test_history_follows_the_trainers_conventions(noisy_data, truncated_run):
    # as gce_lab.pipeline.train's history: epochs from 1, accuracies in percent, n_pruned
    history = truncated_run.history
    assert list(history["epoch"]) == list(range(1, 241))
    assert list(history.columns) == ["epoch", "train_loss", "val_acc", "test_acc", "memorised", "n_pruned"]
    percent = history[["val_acc", "test_acc", "memorised"]]
    assert percent.stack().between(0, 100).all() and (percent.max() > 1).all()
    # an accuracy in percent is 100 * (correct points) / n
    for column, labels in (("val_acc", noisy_data.y_val), ("test_acc", noisy_data.y_test)):
        correct = history[column] * len(labels) / 100
        np.testing.assert_allclose(correct, correct.round(), atol=1e-3)


def test_the_toy_config_has_the_toys_defaults(truncated_run):
    config = truncated_run.config
    assert isinstance(config, ToyConfig) and config.method == truncated_run.method == "truncated_lq"
    assert (config.epochs, config.optimizer, config.lr, config.batch_size) == (240, "adam", 5e-3, 128)
    assert (config.q, config.k, config.seed) == (0.7, 0.5, 0)
    assert toy_config("lq", q=0.3).q == 0.3
    # the pruning schedule is set for truncated L_q only, as the trainer's runs do
    assert toy_config("lq").prune_start is None and toy_config("truncated_lq", epochs=60).prune_every == 5


def test_pruning_follows_the_scaled_schedule(truncated_run):
    config = truncated_run.config
    assert (config.prune_start, config.prune_every) == (80, 20)
    # the trainer's schedule: a pruning step before the 1-based epochs 81, 101, ..., 221
    assert [p.epoch for p in truncated_run.prunes] == list(range(81, 241, 20))
    assert tuple(p.epoch for p in truncated_run.prunes) == pruning_epochs(240, 80, 20)
    history = truncated_run.history
    for step in truncated_run.prunes:
        # the judge is the best-validation model of an epoch already trained
        assert 1 <= step.model_epoch < step.epoch
        best = history.loc[history["epoch"] < step.epoch, "val_acc"].idxmax()  # first maximum
        assert history.loc[best, "epoch"] == step.model_epoch
        # Algorithm 1's pruning step: w_i = 0 exactly where f_y <= k under that model
        np.testing.assert_array_equal(step.pruned, step.label_probability <= config.k)
        # the epoch trained after the step is the first that counts its pruned samples
        assert history.loc[history["epoch"] == step.epoch, "n_pruned"].item() == step.n_pruned
    # nothing is pruned in the first 80 epochs, the first pruning step runs before epoch 81
    assert (history.loc[history["epoch"] <= 80, "n_pruned"] == 0).all()
    assert history.loc[history["epoch"] == 81, "n_pruned"].item() > 0
    assert history["n_pruned"].iloc[-1] == truncated_run.prunes[-1].n_pruned


def test_pruning_finds_the_wrong_labels(noisy_data, truncated_run):
    last = truncated_run.prunes[-1]
    # pruning at random would have a precision equal to the noise rate (~0.36 here)
    assert last.precision > 0.8 > noisy_data.realised_rate + 0.3
    assert last.recall > 0.6
    table = truncated_run.pruning_table()
    assert len(table) == len(truncated_run.prunes)
    assert list(table.columns) == ["epoch", "model_epoch", "n_pruned", "n_pruned_mislabelled", "precision", "recall"]
    assert table["epoch"].iloc[0] == 81
    assert table["n_pruned_mislabelled"].iloc[-1] == last.n_pruned_mislabelled


def test_truncated_lq_beats_cce_at_the_last_epoch_on_noisy_spirals(noisy_data, truncated_run):
    cce = train_toy("cce", noisy_data)
    assert truncated_run.final["memorised"] < cce.final["memorised"]
    assert truncated_run.final["test_acc"] > cce.final["test_acc"]


def test_training_is_deterministic_and_restores_threads(noisy_data):
    threads = torch.get_num_threads()
    first = train_toy("lq", noisy_data, epochs=12)
    second = train_toy("lq", noisy_data, epochs=12)
    assert first.history.equals(second.history)
    assert torch.get_num_threads() == threads
    other_seed = train_toy("lq", noisy_data, epochs=12, seed=1)
    assert not first.history.equals(other_seed.history)


@pytest.mark.parametrize("method", TOY_METHODS)
def test_every_method_trains(noisy_data, method):
    run = train_toy(method, noisy_data, epochs=12)
    assert run.method == method
    assert np.isfinite(run.history["train_loss"]).all()
    assert bool(run.prunes) == (method == "truncated_lq")


def test_train_toy_rejects_bad_arguments(noisy_data):
    with pytest.raises(ValueError, match="method"):
        train_toy("hinge", noisy_data)
    with pytest.raises(ValueError, match="method"):
        toy_config("forward_t_hat")  # a trainer method the toy does not have
    with pytest.raises(ValueError, match="epochs"):
        train_toy("truncated_lq", noisy_data, epochs=5)  # too short for the scaled schedule
    with pytest.raises(ValueError, match="q"):
        toy_config("lq", q=1.5)
    with pytest.raises(ValueError, match="lr"):
        toy_config("lq", lr=0.0)
    for setting in ({"optimizer": "sgd"}, {"milestones": (10,)}, {"augment": True}):
        with pytest.raises(ValueError, match="Adam"):
            toy_config("cce", **setting)


def test_prune_step_precision_and_recall():
    step = PruneStep(
        epoch=3,
        model_epoch=2,
        label_probability=np.array([0.1, 0.2, 0.9, 0.3]),
        pruned=np.array([True, True, False, False]),
        mislabelled=np.array([True, False, False, True]),
    )
    assert step.n_pruned == 2 and step.n_pruned_mislabelled == 1
    assert step.precision == 0.5 and step.recall == 0.5
    nothing = PruneStep(3, 2, np.ones(2), np.zeros(2, bool), np.zeros(2, bool))
    assert math.isnan(nothing.precision) and math.isnan(nothing.recall)


# --------------------------------------------------------------------------- plotting helpers
def test_decision_grid_covers_the_square():
    model = make_mlp(4, hidden=8, depth=1, seed=0)
    grid = decision_grid(model, extent=1.5, resolution=30)
    assert grid.label.shape == grid.confidence.shape == grid.xx.shape == (30, 30)
    assert grid.xx.min() == -1.5 and grid.yy.max() == 1.5
    assert set(np.unique(grid.label)) <= {0, 1, 2, 3}
    assert np.all((grid.confidence >= 0.25 - 1e-6) & (grid.confidence <= 1.0))
    with pytest.raises(ValueError, match="resolution"):
        decision_grid(model, resolution=1)


def test_plot_decision_regions_draws_points_and_legend():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    data = make_toy_data(num_train=40, num_test=10, seed=0)
    grid = decision_grid(make_mlp(4, hidden=8, depth=1), resolution=20)
    fig, ax = plt.subplots()
    plot_decision_regions(
        ax, grid, data.x_train, data.y_train, title="t", highlight=data.is_noisy, highlight_label="wrong"
    )
    assert ax.get_title() == "t"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["wrong"]
    plt.close(fig)


def test_make_mlp_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = make_mlp(3, hidden=4, depth=2, seed=5)
    after = torch.rand(1)
    b = make_mlp(3, hidden=4, depth=2, seed=5)
    assert torch.equal(before, after)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert a(torch.zeros(1, 2)).shape == (1, 3)
