"""The ``cpu`` profile: its settings, the class-balanced training subset, the test set seen only
where a table needs it, and a short run on the real images (where the snapshot is present)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gce_lab.noise import training_subset
from gce_lab.pipeline.data import load_dataset
from gce_lab.pipeline.models import count_parameters, cpu_net, tiny_net
from gce_lab.pipeline.planning import Selection, plan
from gce_lab.pipeline.profiles import PROFILES, run_settings
from gce_lab.pipeline.run_data import build_run_data
from gce_lab.pipeline.runner import Where, run_experiment
from gce_lab.pipeline.train import TrainConfig, train


def test_cpu_profile_keeps_the_papers_protocol():
    for experiment, optimizer in (("table1", "sgd"), ("table2", "sgd"), ("fig1c", "adam")):
        s = run_settings("cpu", experiment, "cifar10")
        assert (s["val_fraction"], s["q"], s["k"], s["batch_size"]) == (0.1, 0.7, 0.5, 128)
        # the experiment's optimiser (SGD for the tables, Adam for the figures), no augmentation
        assert (s["model"], s["data_source"], s["augment"], s["optimizer"]) == ("cpu_net", "auto", False, optimizer)
        assert (s["train_subset"], s["epochs"], s["prune_start"], s["prune_every"]) == (25000, 14, 9, 2)
        assert s["test_every_epoch"] is False
    for experiment in ("fig1ab", "fig2"):  # their figures plot the test accuracy of every epoch
        assert run_settings("cpu", experiment, "cifar10")["test_every_epoch"] is True
    assert run_settings("cpu", "table1", "cifar10")["seeds"] == (0,)


def test_cpu_planned_config_uses_the_experiments_optimiser_without_augmentation():
    def config(experiment, method, noise, profile="cpu"):
        selection = Selection(experiment, profile, datasets=["cifar10"], methods=[method], noises=[noise])
        return plan(selection).runs[0].config

    table = config("table1", "truncated_lq", "uniform0.4")
    assert (table.optimizer, table.lr, table.weight_decay, table.milestones, table.augment) == (
        "sgd",
        0.05,
        5e-5,
        (6,),
        False,
    )
    assert (table.prune_start, table.prune_every, table.epochs, table.test_every_epoch) == (9, 2, 14, False)
    figure = config("fig1c", "cce", "uniform0.4")
    assert (figure.optimizer, figure.lr, figure.milestones, figure.epochs) == ("adam", 1e-3, (), 14)
    # the other profiles keep the experiment's choices: SGD with crops and flips for Table 1
    lab = config("table1", "truncated_lq", "uniform0.4", profile="lab")
    assert (lab.optimizer, lab.augment, lab.milestones, lab.test_every_epoch) == ("sgd", True, (5, 10), True)


def test_table1_runs_its_clean_reference_column_only_when_named():
    default = plan(Selection("table1", "cpu", datasets=["cifar10"], methods=["cce"]))
    assert "none0" not in {run.spec.noise for run in default.runs}
    named = plan(Selection("table1", "cpu", datasets=["cifar10"], methods=["cce"], noises=["none0"]))
    assert [run.spec.noise for run in named.runs] == ["none0"]
    with pytest.raises(ValueError, match="noise must be among"):
        plan(Selection("fig1c", "cpu", noises=["none0"]))


def test_cpu_net_maps_both_image_shapes_to_logits():
    net = cpu_net(10, 3)
    assert count_parameters(net) == 2_201_898  # 2,048 -> 1,024 hidden units hold most of them
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert cpu_net(10, 1)(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_training_subset_is_balanced_fixed_and_sorted():
    labels = np.repeat(np.arange(10), 100)
    np.random.default_rng(1).shuffle(labels)
    subset = training_subset(labels, 250, seed=0)
    assert subset.dtype == np.int64 and np.all(np.diff(subset) > 0) and subset.size == 250
    counts = np.bincount(labels[subset], minlength=10)
    assert sorted(counts.tolist()) == [25] * 10
    assert np.array_equal(subset, training_subset(labels, 250, seed=0))
    assert not np.array_equal(subset, training_subset(labels, 250, seed=1))
    assert np.bincount(labels[training_subset(labels, 253)], minlength=10).tolist().count(26) == 3


def test_training_subset_fills_from_other_classes_when_one_is_short():
    labels = np.array([0] * 2 + [1] * 50 + [2] * 50)
    subset = training_subset(labels, 60)
    assert subset.size == 60 and np.unique(subset).size == 60
    assert np.bincount(labels[subset]).tolist()[0] == 2


@pytest.mark.parametrize(
    "labels, size, message",
    [
        (np.arange(10), 11, "size must be at most the 10 training samples, got 11"),
        (np.arange(10), 0, "size must be an integer >= 1"),
        (np.zeros((2, 2), dtype=int), 1, "labels must be a non-empty 1-D array"),
    ],
)
def test_training_subset_refuses_bad_input(labels, size, message):
    with pytest.raises(ValueError, match=message):
        training_subset(labels, size)


def test_test_set_seen_only_where_a_table_reports_it(noisy_synthetic_cifar10):
    data = noisy_synthetic_cifar10(240, 64)
    results = {}
    for every in (True, False):
        config = TrainConfig("cce", epochs=4, optimizer="adam", lr=0.01, batch_size=32, test_every_epoch=every)
        torch.manual_seed(0)
        results[every] = train(tiny_net(10, 3), data, config)
    full, sparse = results[True], results[False]
    assert sparse.best_epoch == full.best_epoch
    assert sparse.test_acc_best_val == full.test_acc_best_val
    assert sparse.test_acc_last == full.test_acc_last
    for f, s in zip(full.history, sparse.history, strict=True):
        if s["epoch"] in (sparse.best_epoch, 4):
            assert s["test_acc"] == f["test_acc"]
        else:
            assert math.isnan(s["test_acc"])
        assert s["val_acc"] == f["val_acc"] and s["train_loss"] == f["train_loss"]


def test_test_every_epoch_must_be_a_bool():
    with pytest.raises(ValueError, match="test_every_epoch must be True or False"):
        TrainConfig("cce", epochs=1, test_every_epoch=1)


def _snapshot_or_skip(name: str):
    try:
        return load_dataset(name, source="snapshot")
    except FileNotFoundError:
        pytest.skip(f"the {name} snapshot is not on this machine (../shared/datasets or $GCE_LAB_DATA)")


def test_cpu_subset_of_the_real_images_keeps_the_original_labels():
    ds = _snapshot_or_skip("fashion_mnist")
    run = plan(Selection("table1", "cpu", datasets=["fashion_mnist"], methods=["cce"], noises=["uniform0.4"])).runs[0]
    data, meta = build_run_data(run)
    assert data.x_train.shape[0] + data.x_val.shape[0] == 25000
    assert data.x_test.shape[0] == ds.x_test.shape[0]  # the whole clean test set
    assert meta["data_source"] == "snapshot:fashion_mnist"
    assert 0.37 < meta["realised_noise_rate"] < 0.43


def test_short_cpu_run_on_a_slice_of_the_real_images(tmp_path, monkeypatch):
    _snapshot_or_skip("fashion_mnist")
    monkeypatch.setitem(PROFILES["cpu"]["default"], "train_subset", 600)
    rows = run_experiment(
        plan(Selection("table1", "cpu", datasets=["fashion_mnist"], methods=["lq"], noises=["uniform0.4"], epochs=2)),
        Where(tmp_path / "results", tmp_path / "ckpt"),
    )
    row = rows.iloc[0]
    assert (row["profile"], row["model"], row["n_train"], row["n_val"]) == ("cpu_epochs2", "cpu_net", 540, 60)
    assert row["data_source"] == "snapshot:fashion_mnist" and row["optimizer"] == "sgd"
    assert 10.0 < row["test_acc_best_val"] <= 100.0  # far above chance needs more than 2 epochs on 540 images


def test_cpu_profile_description_names_its_subset_and_epochs():
    s, description = run_settings("cpu", "table1", "cifar10"), PROFILES["cpu"]["description"]
    assert f"{s['train_subset']:,}-image subset" in description and f"{s['epochs']} epochs" in description
