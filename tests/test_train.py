"""The trainer's bookkeeping on tiny synthetic data: schedule, best-validation selection,
ACS pruning with the best model, checkpoint/resume, determinism, the fast-path switches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gce_lab.noise import make_noise
from gce_lab.pipeline.augment import per_pixel_mean
from gce_lab.pipeline.models import tiny_net
from gce_lab.pipeline.train import TrainConfig, TrainData, TrainingInterrupted, predict_logits, train
from gce_lab.schedules import learning_rate, pruning_epochs


@pytest.fixture(scope="module")
def data(noisy_synthetic_cifar10) -> TrainData:
    return noisy_synthetic_cifar10(240, 64)


def _fit(data, config, **kwargs):
    torch.manual_seed(config.seed)
    return train(tiny_net(10, 3), data, config, **kwargs)


def _numbers(history):
    return [{k: v for k, v in h.items() if not k.endswith("_time_s")} for h in history]


def _same(a, b):
    return all(
        (math.isnan(x) and math.isnan(y)) if isinstance(x, float) and math.isnan(x) else x == y
        for ra, rb in zip(a, b, strict=True)
        for x, y in zip(ra.values(), rb.values(), strict=True)
    )


PRUNE = TrainConfig(
    "truncated_lq", epochs=4, optimizer="adam", lr=0.01, batch_size=32, k=0.3, prune_start=3, prune_every=2
)


def test_learning_rate_divided_after_each_milestone():
    lrs = [learning_rate(e, 0.01, (40, 80), 0.1) for e in (1, 40, 41, 80, 81, 120)]
    assert lrs == pytest.approx([0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001])


def test_pruning_schedule_of_the_paper():
    # CIFAR-10: all data for 40 epochs, then prune every 10 (Sec. 4.2).
    assert pruning_epochs(120, 40, 10) == (41, 51, 61, 71, 81, 91, 101, 111)
    assert pruning_epochs(150, 80, 10) == (81, 91, 101, 111, 121, 131, 141)
    assert pruning_epochs(3, 1, 1) == (2, 3)
    assert pruning_epochs(10, None, None) == ()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("method", "hinge", "method must be one of"),
        ("epochs", 0, "epochs must be an integer >= 1"),
        ("q", 1.5, "q must be in [0, 1]"),
        ("optimizer", "rmsprop", "optimizer must be one of"),
        ("prune_start", 3, "prune_start and prune_every"),
        ("precision", "int8", "precision must be one of"),
        ("compile", 1, "compile must be True or False"),
    ],
)
def test_config_rejects_bad_values(field, value, message):
    kwargs = {"method": "cce", "epochs": 2, field: value}
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        TrainConfig(**kwargs)


def test_history_and_best_validation_bookkeeping(data):
    config = TrainConfig("cce", epochs=4, optimizer="adam", lr=0.01, batch_size=32)
    result = _fit(data, config)
    hist = result.history
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4]
    val = [h["val_acc"] for h in hist]
    best = int(np.argmax(val))  # first maximum: ties keep the earlier epoch
    assert result.best_epoch == best + 1
    assert result.best_val_acc == val[best]
    assert result.test_acc_best_val == hist[best]["test_acc"]
    assert result.test_acc_last == hist[-1]["test_acc"]
    # The kept model is the best epoch's: it reproduces that epoch's validation accuracy.
    logits = predict_logits(result.best_model, data.x_val, per_pixel_mean(data.x_train))
    assert 100.0 * (logits.argmax(1) == data.y_val).float().mean().item() == pytest.approx(result.best_val_acc)
    # Mean softmax of the given label, split by correct / wrong labels, is a probability.
    for h in hist:
        assert 0.0 < h["mean_softmax_clean"] < 1.0 and 0.0 < h["mean_softmax_noisy"] < 1.0
        assert math.isnan(h["n_pruned"]) and not h["prune_step"]


def test_clean_data_has_no_noisy_softmax(data):
    clean = TrainData(
        data.x_train,
        data.y_train,
        torch.zeros_like(data.is_noisy),
        data.x_val,
        data.y_val,
        data.x_test,
        data.y_test,
        10,
    )
    result = _fit(clean, TrainConfig("mae", epochs=1, batch_size=64))
    assert math.isnan(result.history[0]["mean_softmax_noisy"])


def test_same_seed_same_numbers_on_cpu(data):
    config = TrainConfig("lq", epochs=2, batch_size=64)
    assert _same(_numbers(_fit(data, config).history), _numbers(_fit(data, config).history))


def test_pruning_runs_on_schedule_with_the_best_validation_model(data, tmp_path):
    """Interrupt before the pruning epoch, plant a known 'best' model, resume: the pruning step
    must set w_i = [f_y(x_i) > k] from exactly that model, for all training samples."""
    ckpt = tmp_path / "run.pt"

    def stop_after_3(record):
        if record["epoch"] == 3:
            raise TrainingInterrupted

    with pytest.raises(TrainingInterrupted):
        _fit(data, PRUNE, checkpoint_path=ckpt, on_epoch_end=stop_after_3)
    state = torch.load(ckpt, weights_only=True)
    assert [h["prune_step"] for h in state["history"]] == [False, False, False]
    assert state["loss"]["weights"].eq(1).all()  # no pruning before prune_start

    mean = per_pixel_mean(data.x_train)

    def weights_from(model_state):
        net = tiny_net(10, 3)
        net.load_state_dict(model_state)
        probs = torch.softmax(predict_logits(net, data.x_train, mean), 1)
        return (probs.gather(1, data.y_train[:, None]).squeeze(1) > PRUNE.k).float()

    torch.manual_seed(123)
    planted = tiny_net(10, 3)
    with torch.no_grad():  # a different but confident model: its pruning set differs from the trained one's
        for p in planted.parameters():
            p.mul_(3.0)
    state["best_model"] = planted.state_dict()
    torch.save(state, ckpt)
    expected = weights_from(planted.state_dict())
    assert not torch.equal(expected, weights_from(state["model"]))

    result = _fit(data, PRUNE, checkpoint_path=ckpt)
    assert result.resumed_from_epoch == 3
    assert [h["prune_step"] for h in result.history] == [False, False, False, True]
    weights = torch.load(ckpt, weights_only=True)["loss"]["weights"]
    assert torch.equal(weights, expected)
    pruned = weights == 0
    last = result.history[-1]
    assert last["n_pruned"] == pruned.sum().item() == result.n_pruned_final
    hits = (pruned & data.is_noisy).sum().item()
    assert last["prune_precision"] == pytest.approx(hits / pruned.sum().item())
    assert last["prune_recall"] == pytest.approx(hits / data.is_noisy.sum().item())


def test_interrupted_run_resumes_to_the_same_result(data, tmp_path):
    full = _fit(data, PRUNE, checkpoint_path=tmp_path / "full.pt")

    def stop_after_2(record):
        if record["epoch"] == 2:
            raise TrainingInterrupted

    with pytest.raises(TrainingInterrupted):
        _fit(data, PRUNE, checkpoint_path=tmp_path / "cut.pt", on_epoch_end=stop_after_2)
    resumed = _fit(data, PRUNE, checkpoint_path=tmp_path / "cut.pt")
    assert resumed.resumed_from_epoch == 2
    assert _same(_numbers(resumed.history), _numbers(full.history))
    assert (resumed.best_epoch, resumed.test_acc_best_val) == (full.best_epoch, full.test_acc_best_val)
    # A finished checkpoint is not trained again.
    again = _fit(data, PRUNE, checkpoint_path=tmp_path / "cut.pt")
    assert again.resumed_from_epoch == PRUNE.epochs and _same(_numbers(again.history), _numbers(full.history))


def test_checkpoint_of_another_configuration_is_ignored(data, tmp_path):
    ckpt = tmp_path / "run.pt"
    _fit(data, TrainConfig("cce", epochs=1, batch_size=64), checkpoint_path=ckpt)
    with pytest.warns(UserWarning, match="different configuration"):
        result = _fit(data, TrainConfig("lq", epochs=1, batch_size=64), checkpoint_path=ckpt)
    assert result.resumed_from_epoch == 0


def test_channels_last_matches_plain_layout(data):
    plain = _fit(data, TrainConfig("cce", epochs=2, batch_size=64))
    fast = _fit(data, TrainConfig("cce", epochs=2, batch_size=64, channels_last=True, eval_batch_size=7))
    for a, b in zip(plain.history, fast.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)


def test_forward_correction_needs_T(data):
    with pytest.raises(ValueError, match="T"):
        _fit(data, TrainConfig("forward_t", epochs=1))
    T = make_noise("uniform", 0.4, "cifar10").transition_matrix()
    result = _fit(data, TrainConfig("forward_t", epochs=1, batch_size=64), T=T)
    assert np.isfinite(result.history[0]["val_loss"])
