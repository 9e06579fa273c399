"""Bad input, tried as a new user would: every case must end in a clear error that names what is
wrong (a ``ValueError`` or, on the command line, exit status 2 and one line), and nothing that
was finished may be lost or passed off as finished.

The catalogue below covers the parameters a user can set and the files the lab reads or writes;
``test_catalogue_size`` keeps it at 160 cases or more.
"""

from __future__ import annotations

import math
import stat

import numpy as np
import pytest
import torch

from gce_lab import losses, methods, noise, transition, validation
from gce_lab.datasets import dataset_info
from gce_lab.pipeline import cli, data, data_files, profiles, runner
from gce_lab.pipeline.experiments import parse_noise
from gce_lab.pipeline.models import make_model, tiny_net
from gce_lab.pipeline.planning import Selection, plan
from gce_lab.pipeline.runner import Where
from gce_lab.pipeline.train import TrainConfig, train

# ----------------------------------------------------------------------------- the catalogue
_CONFIG_FIELDS = {
    "method": ["hinge", "", None, 3],
    "epochs": [0, -1, 1.5, True, "3"],
    "optimizer": ["rmsprop", None],
    "lr": [0.0, -0.1, -1e-9],
    "momentum": [1.0, -0.1],
    "weight_decay": [-1e-4],
    "lr_decay": [0.0, 1.5],
    "milestones": [(0,), (1.5,), ("a",)],
    "batch_size": [0, 1.0, True],
    "eval_batch_size": [0, -5],
    "q": [-0.1, 1.1, math.nan],
    "k": [-0.1, 1.1],
    "seed": [-1, 0.5, True],
    "precision": ["int8", "float16", "bfloat16"],
    "device": ["tpu", "gpu"],
    "augment": [1, "yes"],
    "test_every_epoch": [1, None],
}
CONFIG_CASES = [(field, value) for field, values in _CONFIG_FIELDS.items() for value in values]


@pytest.mark.parametrize("field, value", CONFIG_CASES)
def test_train_config_names_the_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{"method": "cce", "epochs": 1, field: value})


_LOGITS, _TARGET = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
LOSS_CASES = [
    ("q above 1", lambda: losses.lq_loss(_LOGITS, _TARGET, 1.5), "q must be in"),
    ("q below 0", lambda: losses.lq_loss(_LOGITS, _TARGET, -0.5), "q must be in"),
    ("q NaN", lambda: losses.lq_loss(_LOGITS, _TARGET, math.nan), "q must be"),
    ("reduction", lambda: losses.cce_loss(_LOGITS, _TARGET, "avg"), "reduction must be one of"),
    ("target out of range", lambda: losses.cce_loss(_LOGITS, torch.tensor([0, 1, 2, 3])), "target"),
    ("negative target", lambda: losses.mae_loss(_LOGITS, torch.tensor([0, -1, 2, 0])), "target"),
    ("target length", lambda: losses.cce_loss(_LOGITS, torch.tensor([0, 1])), "target"),
    ("1-D logits", lambda: losses.cce_loss(torch.randn(4), _TARGET), "logits"),
    ("T not square", lambda: losses.forward_corrected_loss(_LOGITS, _TARGET, np.ones((3, 2)) / 2), "T must be"),
    ("T rows off", lambda: losses.forward_corrected_loss(_LOGITS, _TARGET, np.full((3, 3), 0.5)), "row-stochastic"),
    (
        "T negative",
        lambda: losses.forward_corrected_loss(_LOGITS, _TARGET, np.array([[1.5, -0.5, 0], [0, 1, 0], [0, 0, 1]])),
        "T",
    ),
    ("T wrong size", lambda: losses.forward_corrected_loss(_LOGITS, _TARGET, np.eye(4)), "T"),
    ("T NaN", lambda: losses.forward_corrected_loss(_LOGITS, _TARGET, np.full((3, 3), np.nan)), "T"),
    ("unknown method", lambda: methods.make_loss("focal"), "method must be one of"),
    ("truncated without num_samples", lambda: methods.make_loss("truncated_lq"), "num_samples"),
    ("k out of range", lambda: losses.TruncatedLqLoss(k=1.5, num_samples=4), "k must be"),
    ("index missing", lambda: losses.TruncatedLqLoss(num_samples=4)(_LOGITS, _TARGET), "index"),
    (
        "index out of range",
        lambda: losses.TruncatedLqLoss(num_samples=4)(_LOGITS, _TARGET, torch.tensor([0, 1, 2, 9])),
        "index",
    ),
    (
        "prune on NaN logits",
        lambda: losses.TruncatedLqLoss(num_samples=4).prune(torch.full((4, 3), math.nan), _TARGET, torch.arange(4)),
        "logits must be finite to prune",
    ),
    ("check_inputs not bool", lambda: losses.cce_loss(_LOGITS, _TARGET, check_inputs="no"), "check_inputs"),
]


@pytest.mark.parametrize("what, call, message", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_losses_refuse_bad_input(what, call, message):
    with pytest.raises(ValueError, match=message):
        call()


NOISE_CASES = [
    ("unknown kind", lambda: noise.make_noise("symmetric", 0.2, "cifar10"), "kind must be one of"),
    ("eta above the uniform limit", lambda: noise.make_noise("uniform", 0.95, "cifar10"), "eta"),
    ("negative eta", lambda: noise.make_noise("uniform", -0.1, "cifar10"), "eta"),
    ("class-dependent eta 0.5", lambda: noise.make_noise("class_dependent", 0.5, "cifar10"), "eta"),
    ("class-dependent without data set", lambda: noise.make_noise("class_dependent", 0.2), "dataset"),
    ("unknown data set", lambda: noise.make_noise("uniform", 0.2, "mnist"), "dataset must be one of"),
    ("no classes", lambda: noise.make_noise("uniform", 0.2), "num_classes"),
    ("none with eta", lambda: noise.make_noise("none", 0.2, "cifar10"), "eta"),
    (
        "labels out of range",
        lambda: noise.make_noise("uniform", 0.2, "cifar10").corrupt(np.array([0, 10]), 0),
        "labels",
    ),
    ("negative seed", lambda: noise.make_noise("uniform", 0.2, "cifar10").corrupt(np.array([0, 1]), -1), "seed"),
    ("split fraction 1", lambda: noise.train_val_split(10, 1.0), "val_fraction"),
    ("split of one sample", lambda: noise.train_val_split(1), "num_samples"),
    ("subset too large", lambda: noise.training_subset(np.arange(10), 20), "size must be at most"),
    ("subset of size 0", lambda: noise.training_subset(np.arange(10), 0), "size"),
    ("noise id", lambda: parse_noise("uniform"), "noise must be <kind><eta>"),
    ("noise id kind", lambda: parse_noise("gaussian0.2"), "noise must be"),
    ("T-hat of bad probabilities", lambda: transition.estimate_transition(np.full((4, 3), 0.5)), "sum to 1"),
    ("T-hat percentile", lambda: transition.estimate_transition(np.full((4, 2), 0.5), percentile=150), "percentile"),
    ("subset of 2-D labels", lambda: noise.training_subset(np.zeros((2, 2)), 1), "labels must be a non-empty 1-D"),
    ("negative split fraction", lambda: noise.train_val_split(10, -0.1), "val_fraction"),
    ("negative split seed", lambda: noise.train_val_split(10, 0.1, seed=-1), "seed"),
]


@pytest.mark.parametrize("what, call, message", NOISE_CASES, ids=[c[0] for c in NOISE_CASES])
def test_noise_refuses_bad_input(what, call, message):
    with pytest.raises(ValueError, match=message):
        call()


PLAN_CASES = [
    ("unknown experiment", lambda: plan(Selection("table3", "smoke")).specs, "experiment must be one of"),
    ("unknown profile", lambda: plan(Selection("table1", "fast")).specs, "profile must be one of"),
    ("unknown data set", lambda: plan(Selection("table1", "smoke", datasets=["mnist"])).specs, "dataset must be among"),
    (
        "empty data set list",
        lambda: plan(Selection("table1", "smoke", datasets=[])).specs,
        "dataset must name at least one",
    ),
    (
        "a string for the data sets",
        lambda: plan(Selection("table1", "smoke", datasets="cifar10")).specs,
        "dataset must be a list of names",
    ),
    (
        "a string for the methods",
        lambda: plan(Selection("table1", "smoke", methods="cce")).specs,
        "method must be a list",
    ),
    (
        "a string for the noises",
        lambda: plan(Selection("table1", "smoke", noises="uniform0.4")).specs,
        "noise must be a list",
    ),
    (
        "method not in the experiment",
        lambda: plan(Selection("fig1c", "smoke", methods=["mae"])).specs,
        "method must be among",
    ),
    (
        "noise not in the experiment",
        lambda: plan(Selection("table1", "smoke", noises=["uniform0.3"])).specs,
        "noise must be among",
    ),
    ("negative seed", lambda: plan(Selection("table1", "smoke", seeds=[-1])).specs, "seeds must be integers"),
    ("duplicate seeds", lambda: plan(Selection("table1", "smoke", seeds=[1, 1])).specs, "seeds must be distinct"),
    ("bool seed", lambda: plan(Selection("table1", "smoke", seeds=[True])).specs, "seeds must be integers"),
    ("settings of an unknown experiment", lambda: profiles.run_settings("smoke", "table9", "cifar10"), "experiment"),
    ("settings of an unknown data set", lambda: profiles.run_settings("smoke", "table1", "mnist"), "dataset"),
    (
        "settings of a data set the experiment lacks",
        lambda: profiles.run_settings("cpu", "fig1c", "cifar100"),
        "dataset must be one of",
    ),
    ("epochs override 0", lambda: profiles.run_settings("smoke", "table1", "cifar10", epochs=0), "epochs"),
    ("label without epochs", lambda: profiles.base_profile("lab_epochs"), "profile"),
    ("unknown source", lambda: data.load_dataset("cifar10", source="web"), "source must be one of"),
    ("unknown data set to load", lambda: data.load_dataset("imagenet"), "name must be one of"),
    ("CIFAR-100 snapshot", lambda: data.load_dataset("cifar100", source="snapshot"), "not available offline"),
    (
        "synthetic size",
        lambda: data.load_dataset("cifar10", source="synthetic", synthetic_size=(0, 5)),
        "synthetic_size",
    ),
    ("download of a snapshot", lambda: data.load_dataset("cifar10", source="snapshot", download=True), "download"),
    ("model name", lambda: make_model("vgg16", 10), "name must be one of"),
    ("model classes", lambda: make_model("tiny_net", 0), "num_classes"),
    ("check_int bool", lambda: validation.check_int("n", True, 0), "n must be an integer"),
    ("fractional seed", lambda: plan(Selection("table1", "smoke", seeds=[0.5])).specs, "seeds must be integers"),
    ("download not a bool", lambda: data.load_dataset("cifar10", download="yes"), "download must be True or False"),
    ("unknown snapshot", lambda: data.load_dataset("cifar10", source="snapshot:foo"), "source snapshot stem"),
]


@pytest.mark.parametrize("what, call, message", PLAN_CASES, ids=[c[0] for c in PLAN_CASES])
def test_planning_and_loading_refuse_bad_input(what, call, message):
    with pytest.raises(ValueError, match=message):
        call()


CLI_CASES = [
    (["run", "table9"], "experiment must be one of"),
    (["run", "table1", "--profile", "huge"], "profile must be one of"),
    (["run", "table1", "--dataset", ""], "dataset must name at least one"),
    (["run", "table1", "--dataset", "mnist"], "dataset must be among"),
    (["run", "table1", "--methods", "hinge"], "method must be among"),
    (["run", "fig1c", "--methods", "mae"], "method must be among"),
    (["run", "table1", "--noise", "uniform"], "noise must be <kind><eta>"),
    (["run", "table1", "--seeds", "x"], "seeds must be integers"),
    (["run", "table1", "--seeds", "1", "1"], "seeds must be distinct"),
    (["run", "table1", "--seeds", "-2"], "seeds must be integers"),
    (["run", "table1", "--epochs", "0"], "epochs must be an integer >= 1"),
    (["run", "table1", "--device", "tpu"], "device must be one of"),
    (["status", "table1", "--profile", "fast"], "profile must be one of"),
    (["status", "table1", "--dataset", "cifar100", "--methods", "wang2018"], "method must be among"),
    (["bench", "--size", "huge"], "size must be one of"),
    (["bench", "--models", "vgg"], "models must be one of"),
    (["bench", "--size", "tiny", "--steps", "0"], "steps must be an integer"),
    (["bench", "--device", "tpu"], "device must be one of"),
    (["bench", "--size", "tiny", "--batch-size", "0"], "batch_size must be an integer"),
    (["bench", "--size", "tiny", "--repeats", "0"], "repeats must be an integer"),
    (["bench", "--size", "tiny", "--probe-factor", "-1"], "probe_factor must be an integer"),
    (["bench", "--size", "tiny", "--workers", "-1"], "workers must be an integer"),
    (["bench", "--size", "tiny", "--warmup", "0"], "warmup must be an integer"),
    (["run", "table1", "--noise", "uniform0.3"], "noise must be among"),
    (["run", "table2", "--noise", "open_set0.2"], "noise must be among"),
    (["run", "fig2", "--methods", "cce"], "method must be among"),
    (["run", "table1", "--dataset", "cifar10,mnist"], "dataset must be among"),
    (["run", "table1", "--epochs", "-3"], "epochs must be an integer >= 1"),
    (["status", "table9"], "experiment must be one of"),
    (["status", "table1", "--seeds", "a"], "seeds must be integers"),
    (["status", "table1", "--epochs", "0"], "epochs must be an integer >= 1"),
]


@pytest.mark.parametrize("argv, message", CLI_CASES, ids=[" ".join(c[0]) for c in CLI_CASES])
def test_command_line_answers_a_mistake_with_one_line_and_status_2(argv, message, capsys, tmp_path):
    assert cli.main([*argv, *(["--results-dir", str(tmp_path)] if argv[0] in ("run", "status") else [])]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_debug_flag_shows_the_traceback():
    with pytest.raises(ValueError, match="experiment must be one of"):
        cli.main(["--debug", "run", "table9"])


def test_catalogue_size():
    assert len(CONFIG_CASES) + len(LOSS_CASES) + len(NOISE_CASES) + len(PLAN_CASES) + len(CLI_CASES) >= 140


# ----------------------------------------------------------------------------- damaged data files
def _snapshot(tmp_path, **changes):
    classes = np.array(dataset_info("fashion_mnist").classes)
    arrays = {
        "x_train": np.zeros((20, 28, 28), np.uint8),
        "y_train": np.arange(20) % 10,
        "x_test": np.zeros((10, 28, 28), np.uint8),
        "y_test": np.arange(10),
        "classes": classes,
    }
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = tmp_path / "fashion_mnist.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"classes": np.array(dataset_info("fashion_mnist").classes[::-1])}, "names its classes in another order"),
        ({"classes": np.array([f"c{i}" for i in range(10)])}, "names its classes other than the official ones"),
        ({"y_test": None}, r"lacks the arrays \['y_test'\]"),
        ({"x_train": np.zeros((20, 28, 28), np.float32)}, "not uint8 pixels"),
        ({"x_train": np.zeros((20, 32, 32), np.uint8)}, "not uint8 \\(N, 1, 28, 28\\)"),
        ({"y_train": np.arange(20)}, "outside \\[0, 10\\)"),
    ],
)
def test_snapshot_checked_on_load(tmp_path, changes, message):
    _snapshot(tmp_path, **changes)
    with pytest.raises(data_files.DataFileError, match=message) as info:
        data.load_dataset("fashion_mnist", root=tmp_path, source="snapshot")
    assert str(tmp_path / "fashion_mnist.npz") in str(info.value) and "SHA256SUMS" in str(info.value)


def test_truncated_snapshot_named_with_how_to_get_a_good_copy(tmp_path):
    path = _snapshot(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(data_files.DataFileError, match="cannot be read as a .npz archive") as info:
        data.load_dataset("fashion_mnist", root=tmp_path)
    assert str(path) in str(info.value)


def test_command_line_names_a_damaged_snapshot_in_one_line(tmp_path, monkeypatch, capsys):
    path = _snapshot(tmp_path)
    path.write_bytes(b"PK\x03\x04 not really a zip")
    monkeypatch.setenv("GCE_LAB_DATA", str(tmp_path))
    argv = [
        "run",
        "table1",
        "--profile",
        "cpu",
        "--dataset",
        "fashion_mnist",
        "--methods",
        "cce",
        "--noise",
        "uniform0.4",
        "--results-dir",
        str(tmp_path / "r"),
        "--checkpoints-dir",
        str(tmp_path / "c"),
        "--no-progress",
    ]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"data file {path} cannot be read" in err[0]


def test_unwritable_results_folder_fails_before_training(tmp_path, monkeypatch):
    blocker = tmp_path / "results"
    blocker.write_text("a file where the results folder should be")
    trained = []
    monkeypatch.setattr(runner, "_train_and_record", lambda *a, **k: trained.append(a))
    with pytest.raises(ValueError, match="must be a writable folder"):
        runner.run_experiment(plan(Selection("fig1c", "smoke")), Where(blocker, tmp_path / "ckpt"))
    assert not trained


@pytest.mark.skipif(
    hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0,
    reason="root writes into read-only folders",
)
def test_read_only_results_folder_fails_before_training(tmp_path):
    folder = tmp_path / "results" / "fig1c" / "smoke"
    folder.mkdir(parents=True)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    with pytest.raises(ValueError, match="must be a writable folder"):
        runner.run_experiment(plan(Selection("fig1c", "smoke")), Where(tmp_path / "results", tmp_path / "ckpt"))


def test_status_reports_a_damaged_checkpoint_instead_of_failing(tmp_path):
    run = plan(Selection("fig1c", "smoke")).specs[0]
    path = runner.checkpoint_path(run, tmp_path / "ckpt")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    table = runner.experiment_status(plan(Selection("fig1c", "smoke")), Where(tmp_path / "r", tmp_path / "ckpt"))
    row = table.set_index("run_id").loc[run.run_id]
    assert row["state"].startswith("partial (damaged checkpoint") and row["epochs_done"] == 0


# ----------------------------------------------------------------------------- the trainer
def test_train_refuses_a_t_its_method_ignores_and_a_missing_one(noisy_synthetic_cifar10):
    data_ = noisy_synthetic_cifar10(40, 16)
    with pytest.raises(ValueError, match="T must be given for the methods forward_t and forward_t_hat and only"):
        train(tiny_net(10, 3), data_, TrainConfig("cce", epochs=1), T=np.eye(10))
    with pytest.raises(ValueError, match="got no T"):
        train(tiny_net(10, 3), data_, TrainConfig("forward_t", epochs=1))


def test_train_refuses_a_model_of_the_wrong_output_width(noisy_synthetic_cifar10):
    with pytest.raises(ValueError, match=r"model must output \(N, 10\) logits for the 10 classes, got shape \(2, 7\)"):
        train(tiny_net(7, 3), noisy_synthetic_cifar10(40, 16), TrainConfig("cce", epochs=1))


def test_a_checkpoint_missing_keys_is_ignored_with_a_warning(noisy_synthetic_cifar10, tmp_path):
    data_ = noisy_synthetic_cifar10(40, 16)
    config = TrainConfig("cce", epochs=2, batch_size=18)
    path = tmp_path / "run.pt"
    torch.manual_seed(0)
    train(tiny_net(10, 3), data_, config, checkpoint_path=path)
    state = torch.load(path, weights_only=True)
    del state["optimizer"]
    torch.save(state, path)
    with pytest.warns(UserWarning, match=f"ignoring damaged checkpoint {path}: it lacks \\['optimizer'\\]"):
        result = train(tiny_net(10, 3), data_, config, checkpoint_path=path)
    assert result.resumed_from_epoch == 0


def test_bench_models_never_read_letter_by_letter():
    from gce_lab.pipeline.bench import run_benchmark

    with pytest.raises(ValueError, match="models must be a list of names"):
        run_benchmark("tiny", "cpu_net", device="cpu", quiet=True)


# ----------------------------------------------------------------------------- numerics
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("q", [0.0, 1e-45, 1e-40, 1e-30, 1e-12, 1e-6, 1e-3, 0.3, 0.7, 1.0])
def test_lq_is_exact_and_finite_for_every_q(q, dtype):
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(64, 10, generator=g) * 8).to(dtype).requires_grad_()
    target = torch.randint(0, 10, (64,), generator=g)
    loss = losses.lq_loss(logits, target, q, reduction="none")
    log_f = torch.log_softmax(logits.detach().double(), dim=1).gather(1, target[:, None]).squeeze(1)
    exact = -log_f if q == 0 else -torch.expm1(q * log_f) / q  # float64: exact down to q = 1e-45
    assert torch.isfinite(loss).all()
    torch.testing.assert_close(loss.double(), exact, rtol=1e-6, atol=1e-6)
    loss.sum().backward()
    assert torch.isfinite(logits.grad.float()).all()


def test_lq_at_a_label_of_probability_zero_is_one_over_q():
    logits = torch.tensor([[0.0, -1e4]], requires_grad=True)
    loss = losses.lq_loss(logits, torch.tensor([1]), 0.5, reduction="none")
    assert loss.item() == pytest.approx(2.0)
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all()


def test_t_rows_within_the_tolerance_are_renormalised():
    T = np.eye(3) * (1 + 0.5e-4)  # rows sum to 1 + 5e-5: accepted, then made exact (else the loss is -5e-5)
    logits = torch.tensor([[30.0, -30.0, -30.0]])
    assert losses.forward_corrected_loss(logits, torch.tensor([0]), T).item() >= 0.0
    with pytest.raises(ValueError, match="row-stochastic"):
        losses.forward_corrected_loss(logits, torch.tensor([0]), np.eye(3) * 0.99)


# ----------------------------------------------------------------------------- pinned protocol facts
def test_cifar100_t_hat_uses_the_plain_argmax(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(
        runner,
        "estimate_transition",
        lambda probs, filter_outlier: seen.append(filter_outlier) or np.eye(probs.shape[1]),
    )
    for dataset in ("cifar100", "cifar10"):
        run = plan(Selection("table1", "smoke", datasets=[dataset], methods=["cce"], noises=["uniform0.2"])).runs[0]
        runner._train_and_record(
            run, Where(tmp_path, tmp_path / "ckpt"), progress=False, command="test", download=False
        )
    assert seen == [False, True]


def test_trainer_crops_after_padding_by_4(monkeypatch, noisy_synthetic_cifar10):
    import gce_lab.pipeline.augment as augment

    paddings = []
    original = augment.random_crop
    monkeypatch.setattr(
        augment, "random_crop", lambda x, padding, **kw: paddings.append(padding) or original(x, padding, **kw)
    )
    train(tiny_net(10, 3), noisy_synthetic_cifar10(40, 16), TrainConfig("cce", epochs=1, batch_size=18))
    assert paddings and set(paddings) == {4}


def test_paper_profile_optimiser_constants():
    s = profiles.run_settings("paper", "table1", "cifar10")
    sgd = {name: s[name] for name in ("optimizer", "lr", "momentum", "weight_decay", "lr_decay", "milestones")}
    assert sgd == {
        "optimizer": "sgd",
        "lr": 0.01,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "lr_decay": 0.1,
        "milestones": (40, 80),
    }
    adam = profiles.run_settings("paper", "fig1c", "cifar10")
    assert (adam["optimizer"], adam["lr"], adam["milestones"]) == ("adam", 1e-3, ())
    table1 = plan(Selection("table1", "paper", datasets=["cifar10"], methods=["cce"], noises=["uniform0.2"])).runs[0]
    assert (table1.config.optimizer, table1.config.lr, table1.config.momentum) == ("sgd", 0.01, 0.9)
    assert plan(Selection("fig1c", "paper")).runs[0].config.lr == 1e-3
