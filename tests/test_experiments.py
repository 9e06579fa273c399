"""Experiment specs, profiles, run planning, per-run data, and the sweep runner (smoke profile)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import gce_lab.pipeline.run_data as run_data
import gce_lab.pipeline.runner as runner
from gce_lab.pipeline.experiments import EXPERIMENTS, noise_id, parse_noise
from gce_lab.pipeline.planning import DataSettings, Selection, plan
from gce_lab.pipeline.profiles import base_profile, profile_label, run_settings
from gce_lab.pipeline.results import load_results, load_t_hat
from gce_lab.pipeline.run_data import build_run_data
from gce_lab.pipeline.runner import Where, experiment_status, run_experiment


@pytest.fixture()
def dirs(tmp_path):
    return {"root": tmp_path / "results", "checkpoints": tmp_path / "checkpoints"}


# ----------------------------------------------------------------------------- specs and profiles
def test_noise_ids_round_trip():
    assert parse_noise("class_dependent0.2") == ("class_dependent", 0.2)
    assert parse_noise("none0") == ("none", 0.0)
    assert noise_id("open_set", 0.40) == "open_set0.4"
    for bad in ("uniform", "gaussian0.2", "0.4", 3):
        with pytest.raises(ValueError, match="noise must be <kind><eta>"):
            parse_noise(bad)


def test_table1_plan_has_every_cell_and_cce_before_forward_t_hat():
    runs = plan(Selection("table1", "smoke")).specs
    assert len(runs) == 3 * 6 * 8 == 144
    assert len({r.run_id for r in runs}) == 144
    position = {r.run_id: i for i, r in enumerate(runs)}
    for run in runs:
        if run.method == "forward_t_hat":
            assert position[run.cce_dependency().run_id] < position[run.run_id]
    assert len(plan(Selection("table1", "paper")).specs) == 144 * 5
    assert runs[3].run_id == "fashion_mnist-truncated_lq-q0.7-uniform0.2-s0"


def test_forward_t_hat_pulls_in_its_cce_run():
    runs = plan(
        Selection("table1", "smoke", datasets=["cifar10"], methods=["forward_t_hat"], noises=["uniform0.40"])
    ).specs
    assert [r.run_id for r in runs] == ["cifar10-cce-uniform0.4-s0", "cifar10-forward_t_hat-uniform0.4-s0"]


def test_table2_and_fig2_plans():
    table2 = plan(Selection("table2", "smoke")).specs
    assert {(r.method, r.noise) for r in table2 if r.method == "forward_t"} == {("forward_t", "closed_set0.4")}
    assert len(table2) == 11
    fig2 = plan(Selection("fig2", "paper", seeds=[0])).specs
    assert len(fig2) == 5 * 3
    assert sorted({r.q for r in fig2}) == [0.0, 0.4, 0.7, 0.8, 1.0]
    assert "cifar10-lq-q0.4-uniform0.6-s0" in {r.run_id for r in fig2}
    assert {r.method for r in plan(Selection("fig1ab", "smoke")).specs} == {"cce", "mae"}
    assert EXPERIMENTS["fig1c"].optimizer == EXPERIMENTS["fig2"].optimizer == "adam"
    assert not EXPERIMENTS["table2"].augment


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"experiment": "table3"}, "experiment must be one of 'fig1ab', 'fig1c', 'fig2', 'table1', 'table2'"),
        ({"profile": "huge"}, "profile must be one of 'smoke', 'cpu', 'lab', 'paper'"),
        ({"datasets": ["mnist"]}, "dataset must be among fashion_mnist, cifar10, cifar100"),
        ({"methods": ["hinge"]}, "method must be among"),
        ({"noises": ["uniform0.5"]}, "noise must be among"),
        ({"seeds": [-1]}, "seeds must be integers >= 0"),
    ],
)
def test_bad_selections_are_named(kwargs, message):
    args = {"experiment": "table1", "profile": "smoke", **kwargs}
    with pytest.raises(ValueError, match=message):
        plan(Selection(args.pop("experiment"), args.pop("profile"), **args))


def test_profiles_hold_the_paper_protocol():
    cifar100 = run_settings("paper", "table1", "cifar100")
    assert (cifar100["epochs"], cifar100["milestones"], cifar100["prune_start"]) == (150, (80, 120), 80)
    cifar10 = run_settings("paper", "table1", "cifar10")
    assert (cifar10["model"], cifar10["epochs"], cifar10["milestones"], cifar10["prune_every"]) == (
        "resnet34",
        120,
        (40, 80),
        10,
    )
    assert run_settings("paper", "table1", "fashion_mnist")["model"] == "resnet18"
    table2 = run_settings("paper", "table2", "cifar10")
    assert (table2["model"], table2["epochs"], table2["prune_start"]) == ("wang_cnn", 100, 10)
    for name in ("lab", "paper"):
        s = run_settings(name, "table1", "cifar10")
        assert (s["batch_size"], s["val_fraction"], s["q"], s["k"], s["optimizer"], s["lr"]) == (
            128,
            0.1,
            0.7,
            0.5,
            "sgd",
            0.01,
        )
    assert run_settings("paper", "table1", "cifar10")["seeds"] == (0, 1, 2, 3, 4)
    assert run_settings("lab", "table1", "cifar10")["seeds"] == (0,)
    smoke = run_settings("smoke", "table1", "cifar10")
    assert smoke["data_source"] == "synthetic" and smoke["prune_start"] < smoke["epochs"]
    assert run_settings("lab", "table1", "cifar10", epochs=3)["epochs"] == 3


def test_profile_labels_keep_overrides_visible():
    assert profile_label("lab") == "lab"
    assert profile_label("lab", 3) == "lab_epochs3"
    assert base_profile("lab_epochs3") == ("lab", 3)
    assert base_profile("cached") == ("cached", None)
    with pytest.raises(ValueError, match="profile must be one of"):
        base_profile("lab_epochs")
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        profile_label("lab", 0)


# ----------------------------------------------------------------------------- per-run data
def test_run_data_noisy_train_and_validation_clean_test():
    run = plan(Selection("table1", "smoke", datasets=["cifar10"], methods=["cce"], noises=["uniform0.6"])).runs[0]
    data, meta = build_run_data(run)
    n = run.data.synthetic_size[0]
    assert data.x_val.shape[0] == round(0.1 * n) and data.x_train.shape[0] + data.x_val.shape[0] == n
    assert meta["realised_noise_rate"] == pytest.approx(data.is_noisy.float().mean().item())
    assert 0.45 < meta["realised_noise_rate"] < 0.75
    assert np.allclose(meta["true_T"].diagonal(), 0.4)
    ds = run_data._dataset("cifar10", run.data)
    assert torch.equal(data.y_test, ds.y_test)  # the test set keeps its true labels
    # Validation labels are noisy too: some differ from the true labels of those images.
    true_of = {img.numpy().tobytes(): int(y) for img, y in zip(ds.x_train, ds.y_train)}
    val_true = torch.tensor([true_of[img.numpy().tobytes()] for img in data.x_val])
    assert (val_true != data.y_val).any()
    other = Selection("table1", "smoke", datasets=["cifar10"], methods=["cce"], noises=["uniform0.6"], seeds=[1])
    other_seed = build_run_data(plan(other).runs[0])[0]
    assert not torch.equal(other_seed.y_train, data.y_train)


def test_open_set_data_replaces_images_and_keeps_labels():
    run = plan(Selection("table2", "smoke", methods=["cce"], noises=["open_set0.4"])).runs[0]
    data, meta = build_run_data(run)
    assert meta["true_T"] is None
    assert meta["realised_noise_rate"] == pytest.approx(0.4, abs=0.06)
    ds = run_data._dataset("cifar10", run.data)
    originals = {img.numpy().tobytes() for img in ds.x_train}
    foreign = torch.tensor([img.numpy().tobytes() not in originals for img in data.x_train])
    assert torch.equal(foreign, data.is_noisy)


def test_open_set_without_cifar100_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("GCE_LAB_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="CIFAR-100"):
        run_data._open_set_images(DataSettings("auto", None, None, 0.1), download=False)


# ----------------------------------------------------------------------------- the sweep
def test_sweep_records_t_hat_provenance_and_skips_finished_runs(dirs, monkeypatch):
    selection = Selection(
        "table1", "smoke", datasets=["fashion_mnist"], methods=["forward_t_hat"], noises=["class_dependent0.3"]
    )
    runs = run_experiment(plan(selection), Where(**dirs), command="pytest")
    assert list(runs["method"]) == ["cce", "forward_t_hat"]
    cce, fwd = runs.iloc[0], runs.iloc[1]
    t_hat = load_t_hat("table1", "smoke", cce["run_id"], dirs["root"])
    assert t_hat.shape == (10, 10) and np.allclose(t_hat.sum(1), 1.0)
    from gce_lab.noise import make_noise

    true_T = make_noise("class_dependent", 0.3, "fashion_mnist").transition_matrix()
    assert fwd["t_hat_error"] == pytest.approx(np.abs(t_hat - true_T).mean(), rel=1e-5)  # 6 digits in csv
    assert np.isnan(cce["t_hat_error"])
    for column in ("git_commit", "torch_version", "device", "finished_at"):
        assert isinstance(runs[column].iloc[0], str) and runs[column].iloc[0]
    assert (runs["profile"] == "smoke").all() and (runs["command"] == "pytest").all()
    assert (runs["data_source"] == "synthetic").all() and (runs["model"] == "tiny_net").all()
    assert (runs["amp_dtype"] == "none").all()  # no autocast on the CPU
    _, epochs = load_results("table1", "smoke", dirs["root"])
    assert len(epochs) == 2 * plan(selection).runs[0].config.epochs
    assert (epochs["train_time_s"] > 0).all() and (epochs["train_time_s"] <= epochs["epoch_time_s"]).all()
    assert not list(dirs["checkpoints"].rglob("*.pt"))  # checkpoints go once a run is recorded

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(runner, "train", no_training)
    both = Selection(
        "table1", "smoke", datasets=["fashion_mnist"], methods=["cce", "forward_t_hat"], noises=["class_dependent0.3"]
    )
    again = run_experiment(plan(both), Where(**dirs))
    pd.testing.assert_frame_equal(again, runs)


def test_interrupted_sweep_resumes_where_it_stopped(dirs, tmp_path, monkeypatch):
    select = plan(
        Selection("table1", "smoke", datasets=["cifar10"], methods=["truncated_lq", "mae"], noises=["uniform0.4"])
    )
    reference = run_experiment(select, Where(tmp_path / "ref", tmp_path / "refck"))

    real_train = runner.train

    def interrupted_train(*args, **kwargs):
        def stop(record):
            if record["epoch"] == 2:
                raise KeyboardInterrupt

        return real_train(*args, on_epoch_end=stop, **kwargs)

    monkeypatch.setattr(runner, "train", interrupted_train)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(select, Where(**dirs))
    status = experiment_status(select, Where(**dirs))
    assert list(status["state"]) == ["partial", "todo"] and list(status["epochs_done"]) == [2, 0]
    monkeypatch.setattr(runner, "train", real_train)
    resumed = run_experiment(select, Where(**dirs))
    assert list(experiment_status(select, Where(**dirs))["state"]) == ["done", "done"]
    numbers = ["best_epoch", "best_val_acc", "test_acc_best_val", "test_acc_last", "n_pruned_final"]
    pd.testing.assert_frame_equal(resumed[numbers], reference[numbers])
    _, ep_ref = load_results("table1", "smoke", tmp_path / "ref")
    _, ep_res = load_results("table1", "smoke", dirs["root"])
    cols = ["run_id", "epoch", "train_loss", "val_acc", "test_acc", "n_pruned"]
    pd.testing.assert_frame_equal(ep_res[cols], ep_ref[cols])


def test_epoch_override_is_filed_under_its_own_label(dirs):
    runs = run_experiment(plan(Selection("fig1c", "smoke", methods=["lq"], epochs=1)), Where(**dirs))
    assert list(runs["profile"]) == ["smoke_epochs1"] and list(runs["epochs"]) == [1]
    assert (dirs["root"] / "fig1c" / "smoke_epochs1" / "runs.csv").is_file()
    assert not (dirs["root"] / "fig1c" / "smoke").exists()
    assert runs["q"].iloc[0] == 0.7 and np.isnan(runs["k"].iloc[0])
