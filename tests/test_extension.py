"""The two extension points, proved from outside the package: a new loss (symmetric cross entropy,
Wang et al. 2019, with its own alpha and beta) and a new data set (small synthetic images) are
registered here, in this file alone, and each trains a smoke experiment end to end into a results
store. No other file of the repository names them."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gce_lab.datasets import DATASET_INFO, DATASET_LABELS, DatasetInfo, register_dataset
from gce_lab.methods import METHOD_INFO, METHOD_LABELS, PAPER_METHODS, Method, make_loss, register_method
from gce_lab.pipeline.experiments import EXPERIMENTS, ExperimentSpec
from gce_lab.pipeline.planning import Selection, plan
from gce_lab.pipeline.results import EPOCH_COLUMNS, RUN_COLUMNS, load_results
from gce_lab.pipeline.runner import Where, run_experiment


class SymmetricCrossEntropyLoss(nn.Module):
    """Symmetric cross entropy (Wang et al. 2019): ``alpha * CE + beta * RCE``, where the reverse
    cross entropy ``RCE = -sum_k f_k log q_k`` takes ``log 0 = A = -4`` for the one-hot label q, so
    ``RCE = 4 (1 - f_y)``."""

    def __init__(
        self, alpha: float = 0.1, beta: float = 1.0, reduction: str = "mean", check_inputs: bool = True
    ) -> None:
        super().__init__()
        self.alpha, self.beta, self.reduction = alpha, beta, reduction

    def forward(self, logits: Tensor, target: Tensor, index: Tensor | None = None) -> Tensor:
        ce = F.cross_entropy(logits, target, reduction="none")
        rce = 4.0 * (1.0 - torch.softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1))
        per_sample = self.alpha * ce + self.beta * rce
        return {"mean": per_sample.mean, "sum": per_sample.sum}.get(self.reduction, lambda: per_sample)()


@pytest.fixture
def sce():
    method = register_method(
        Method("sce", "SCE", SymmetricCrossEntropyLoss, {"alpha": 0.1, "beta": 1.0}, colour="tab:green")
    )
    yield method
    del METHOD_INFO["sce"]


@pytest.fixture
def stripes():
    info = register_dataset(
        DatasetInfo("stripes", "Stripes", channels=1, size=16, classes=("a", "b", "c"), n_train=256, n_test=128)
    )
    yield info
    del DATASET_INFO["stripes"]


def _experiment(monkeypatch, name: str, datasets: tuple[str, ...], methods: tuple[str, ...]) -> str:
    spec = ExperimentSpec(name, f"{name}: an experiment of this test", datasets, methods, ("uniform0.4",), "sgd")
    monkeypatch.setitem(EXPERIMENTS, name, spec)
    return name


def _trained(experiment: str, tmp_path) -> tuple[pd.DataFrame, pd.DataFrame]:
    where = Where(tmp_path / "results", tmp_path / "checkpoints")
    run_experiment(plan(Selection(experiment, "smoke", device="cpu")), where)
    return load_results(experiment, "smoke", where.root)


def test_a_loss_registered_here_trains_a_smoke_experiment_into_a_results_store(sce, monkeypatch, tmp_path):
    loss = make_loss("sce", q=0.7, k=0.5, beta=0.5)  # its own parameters; the trainer's q and k are ignored
    assert (type(loss), loss.alpha, loss.beta) == (SymmetricCrossEntropyLoss, 0.1, 0.5)
    assert METHOD_LABELS["sce"] == "SCE" and list(METHOD_LABELS)[-1] == "sce"
    assert "sce" not in PAPER_METHODS  # the paper's sweeps list their methods: it joins one only when asked
    assert not any(r.spec.method == "sce" for r in plan(Selection("table1", "smoke")).runs)

    runs, epochs = _trained(_experiment(monkeypatch, "sce_check", ("cifar10",), ("cce", "sce")), tmp_path)
    assert list(runs.columns) == list(RUN_COLUMNS) and list(epochs.columns) == list(EPOCH_COLUMNS)
    assert sorted(runs["run_id"]) == ["cifar10-cce-uniform0.4-s0", "cifar10-sce-uniform0.4-s0"]
    row = runs.set_index("method").loc["sce"]
    assert 0.0 <= row["test_acc_best_val"] <= 100.0 and math.isnan(row["q"]) and math.isnan(row["k"])
    assert (epochs["run_id"] == row["run_id"]).sum() == row["epochs"]


def test_a_data_set_registered_here_trains_a_smoke_experiment_into_a_results_store(stripes, monkeypatch, tmp_path):
    assert DATASET_LABELS["stripes"] == "Stripes" and list(DATASET_LABELS)[-1] == "stripes"
    runs, epochs = _trained(_experiment(monkeypatch, "stripes_check", ("stripes",), ("cce", "lq")), tmp_path)
    assert sorted(runs["run_id"]) == ["stripes-cce-uniform0.4-s0", "stripes-lq-q0.7-uniform0.4-s0"]
    assert set(runs["data_source"]) == {"synthetic"} and runs["test_acc_best_val"].between(0, 100).all()
    assert len(epochs) == runs["epochs"].sum()
