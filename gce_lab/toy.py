"""A 2-D toy problem for chapters 1 and 4: noisy spirals, a small MLP, any loss of the paper.

The data are ``num_classes`` interleaved spiral arms in the plane. Training and validation labels
are corrupted with uniform noise through :mod:`gce_lab.noise` (Sec. 3.1: a label is kept with
probability 1 - η, otherwise replaced by one of the other c - 1 classes); the test labels stay
clean, as in Sec. 4. A three-layer ReLU MLP is trained with mini-batch Adam on one of the losses of
:func:`gce_lab.methods.make_loss`. A run's settings are a :class:`ToyConfig` (:func:`toy_config`
gives the toy's defaults) and its history follows the image trainer's conventions: epochs numbered
from 1, accuracies in percent, the pruned count as ``n_pruned``. For truncated L_q the weights ``w``
are updated by the pruning step of Algorithm 1 (Eq. 11-12) on the paper's schedule scaled to the
toy: train on everything for the first third of the epochs (paper: 40 of 120), then prune every
twelfth (paper: every 10 epochs), each time with the model of the best validation accuracy so far.
Every pruning step is recorded together with how many of the pruned samples really were mislabelled.
One model trains in a few seconds on one CPU core; the plots of the chapters are in
:mod:`gce_lab.book.toy_plots`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from gce_lab.losses import TruncatedLqLoss
from gce_lab.methods import METHOD_INFO, make_loss
from gce_lab.noise import NoiseModel, make_noise, train_val_split
from gce_lab.schedules import check_pruning_schedule, pruning_epochs
from gce_lab.validation import check_choice, check_in_range, check_int

__all__ = [
    "TOY_METHODS",
    "CLASS_COLOURS",
    "ToyData",
    "PruneStep",
    "ToyRun",
    "make_spirals",
    "make_toy_data",
    "make_mlp",
    "ToyConfig",
    "toy_config",
    "train_toy",
]

#: Losses the toy can train with ("forward_t" uses the true transition matrix of the toy's noise).
TOY_METHODS = tuple(name for name, method in METHOD_INFO.items() if not method.estimates_T)

#: One colour per class (colour-blind safe, from the Okabe-Ito palette), shared by all toy plots.
CLASS_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


# --------------------------------------------------------------------------- data
def make_spirals(
    num_samples: int, num_classes: int = 4, *, turns: float = 1.0, arm_noise: float = 0.3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``num_samples`` points on ``num_classes`` interleaved spiral arms (balanced, in class order).

    Arm ``k`` at radius ``r`` in [0, 1] has angle ``2 pi (k / c + turns r) + N(0, arm_noise^2)``,
    so the arms overlap near the centre and the best possible accuracy is below 100 %.

    Returns:
        ``(x, y)``: float32 points ``(num_samples, 2)`` in the unit disc and int64 labels.
    """
    num_samples = check_int("num_samples", num_samples, 1)
    num_classes = check_int("num_classes", num_classes, 2, len(CLASS_COLOURS))
    turns = check_in_range("turns", turns, 0.0, math.inf)
    arm_noise = check_in_range("arm_noise", arm_noise, 0.0, math.inf)
    seed = check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    y = np.arange(num_samples, dtype=np.int64) % num_classes
    y.sort()
    radius = np.sqrt(rng.random(num_samples))  # uniform density over the disc
    angle = 2 * np.pi * (y / num_classes + turns * radius) + rng.normal(0.0, arm_noise, num_samples)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return x.astype(np.float32), y


@dataclass(frozen=True)
class ToyData:
    """Noisy training/validation labels and a clean test set, as in the paper's setup (Sec. 4).

    Attributes:
        x_train: (n, 2) float32 training points.
        y_train: (n,) int64 noisy training labels (what the model is trained on).
        y_train_true: (n,) int64 true training labels (never shown to the model).
        x_val: (m, 2) validation points; y_val: their noisy labels (model selection only).
        x_test: (t, 2) test points; y_test: their clean labels.
        noise: the :class:`~gce_lab.noise.NoiseModel` that corrupted the labels.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    y_train_true: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    noise: NoiseModel

    @property
    def num_classes(self) -> int:
        return self.noise.num_classes

    @property
    def is_noisy(self) -> np.ndarray:
        """(n,) bool: True where the training label is wrong."""
        return self.y_train != self.y_train_true

    @property
    def realised_rate(self) -> float:
        """Fraction of training labels that are wrong."""
        return float(self.is_noisy.mean())


def make_toy_data(
    num_train: int = 600,
    num_test: int = 2000,
    num_classes: int = 4,
    eta: float = 0.4,
    *,
    turns: float = 1.0,
    arm_noise: float = 0.3,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> ToyData:
    """Spirals with uniform label noise at rate ``eta`` (Sec. 3.1) on the training and validation part.

    ``num_train`` points are drawn and corrupted, then ``val_fraction`` of them are held out for
    validation with their noisy labels (Sec. 4 holds out 10 %); ``num_test`` further points keep
    clean labels. Everything is reproducible from ``seed``.
    """
    num_train = check_int("num_train", num_train, 2)
    num_test = check_int("num_test", num_test, 1)
    num_classes = check_int("num_classes", num_classes, 2, len(CLASS_COLOURS))
    seed = check_int("seed", seed, 0)
    noise = make_noise("none" if eta == 0 else "uniform", eta, num_classes=num_classes)
    # Independent streams for points, test points, label noise and the split: sharing one seed
    # would tie the noise draws to the radii and make the "noise" learnable.
    train_seed, test_seed, noise_seed, split_seed = (
        int(s) for s in np.random.SeedSequence(seed).generate_state(4) % (2**31)
    )
    x, y_true = make_spirals(num_train, num_classes, turns=turns, arm_noise=arm_noise, seed=train_seed)
    x_test, y_test = make_spirals(num_test, num_classes, turns=turns, arm_noise=arm_noise, seed=test_seed)
    y_noisy = noise.corrupt(y_true, seed=noise_seed).labels
    train_idx, val_idx = train_val_split(num_train, val_fraction, seed=split_seed)
    return ToyData(
        x_train=x[train_idx],
        y_train=y_noisy[train_idx],
        y_train_true=y_true[train_idx],
        x_val=x[val_idx],
        y_val=y_noisy[val_idx],
        x_test=x_test,
        y_test=y_test,
        noise=noise,
    )


# --------------------------------------------------------------------------- model and training
def make_mlp(num_classes: int, hidden: int = 128, depth: int = 3, seed: int = 0) -> nn.Sequential:
    """A ``depth``-hidden-layer ReLU MLP from the plane to ``num_classes`` logits, seeded init."""
    num_classes = check_int("num_classes", num_classes, 2)
    hidden = check_int("hidden", hidden, 1)
    depth = check_int("depth", depth, 1)
    seed = check_int("seed", seed, 0)
    widths = [2] + [hidden] * depth
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), nn.ReLU()]
        layers.append(nn.Linear(hidden, num_classes))
        return nn.Sequential(*layers)


@dataclass(frozen=True)
class ToyConfig:
    """The settings of one toy run, in the image trainer's names (:class:`gce_lab.pipeline.train.TrainConfig`).

    The toy trains with Adam (Kingma & Ba 2014, as in Sec. 4.1) at the constant learning rate
    ``lr``, without augmentation (the inputs are points, not images), on the CPU in float32, and
    tests every epoch.

    Attributes:
        method: the loss, one of :data:`TOY_METHODS`.
        epochs: training epochs (>= 1).
        lr: Adam's learning rate (> 0).
        batch_size: training batch size (>= 1).
        q, k: the L_q parameter (Eq. 6) and truncated L_q's threshold (Eq. 9), in [0, 1].
        prune_start, prune_every: Algorithm 1's schedule (:func:`gce_lab.schedules.pruning_epochs`);
            None for the methods that do not prune.
        seed: seeds the network's initialisation and the batch order.
    """

    optimizer: ClassVar[str] = "adam"

    method: str
    epochs: int = 240
    lr: float = 5e-3
    batch_size: int = 128
    q: float = 0.7
    k: float = 0.5
    prune_start: int | None = None
    prune_every: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("method", self.method, TOY_METHODS)
        check_int("epochs", self.epochs, 1)
        check_in_range("lr", self.lr, 0.0, math.inf, low_open=True)
        check_int("batch_size", self.batch_size, 1)
        check_in_range("q", self.q, 0.0, 1.0)
        check_in_range("k", self.k, 0.0, 1.0)
        check_pruning_schedule(self.prune_start, self.prune_every)
        check_int("seed", self.seed, 0)


def toy_config(method: str, **settings: Any) -> ToyConfig:
    """The toy's run settings.

    Defaults: 240 epochs of Adam (Kingma & Ba 2014, as in Sec. 4.1) at a constant ``lr = 5e-3``,
    batches of 128 (Sec. 4), the paper's ``q = 0.7`` and ``k = 0.5``, ``seed = 0``. For truncated
    L_q the schedule of Algorithm 1 is the paper's CIFAR-10 one (120 epochs: all samples for the
    first 40, then a pruning step every 10) scaled to the epochs (at least 12):
    ``prune_start = epochs // 3``, ``prune_every = epochs // 12``. Keyword ``settings`` replace
    any of these (the fields of :class:`ToyConfig`).
    """
    method = check_choice("method", method, TOY_METHODS)
    known = {f.name for f in fields(ToyConfig)} - {"method"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(
            "the toy trains with Adam at a constant learning rate, without augmentation: its settings are "
            f"{', '.join(sorted(known))}; got {', '.join(unknown)}"
        )
    if METHOD_INFO[method].prunes:
        epochs = check_int("epochs", settings.get("epochs", 240), 12)
        settings = {"prune_start": epochs // 3, "prune_every": epochs // 12, **settings}
    return ToyConfig(method, **settings)


@dataclass(frozen=True)
class PruneStep:
    """One pruning step of Algorithm 1 (Eq. 11): which training samples got ``w_i = 0``.

    Attributes:
        epoch: the step ran before the training of epoch ``epoch`` (from 1, as in
            :func:`~gce_lab.schedules.pruning_epochs`).
        model_epoch: the epoch whose model (best validation accuracy so far) decided.
        label_probability: (n,) softmax output of the given label, ``f_{y_i}(x_i)``, under that
            model; a sample is pruned when it is at most ``k``.
        pruned: (n,) bool mask of the pruned training samples.
        mislabelled: (n,) bool mask of the training samples whose label is wrong.
    """

    epoch: int
    model_epoch: int
    label_probability: np.ndarray
    pruned: np.ndarray
    mislabelled: np.ndarray

    @property
    def n_pruned(self) -> int:
        return int(self.pruned.sum())

    @property
    def n_pruned_mislabelled(self) -> int:
        return int((self.pruned & self.mislabelled).sum())

    @property
    def precision(self) -> float:
        """Fraction of the pruned samples that really were mislabelled (nan if none pruned)."""
        return self.n_pruned_mislabelled / self.n_pruned if self.n_pruned else math.nan

    @property
    def recall(self) -> float:
        """Fraction of the mislabelled samples that got pruned (nan if none is mislabelled)."""
        total = int(self.mislabelled.sum())
        return self.n_pruned_mislabelled / total if total else math.nan


@dataclass
class ToyRun:
    """A trained toy model and what happened on the way.

    Attributes:
        config: the settings used (:func:`toy_config`).
        model: the MLP after the last epoch.
        history: one row per epoch, as the trainer's history (epochs from 1, accuracies in
            percent): ``epoch``, ``train_loss`` (mean batch loss), ``val_acc`` (against noisy
            validation labels), ``test_acc`` (clean test labels), ``memorised`` (percentage of the
            mislabelled training samples predicted as their wrong label) and ``n_pruned`` (samples
            with ``w_i = 0``; 0 for methods other than truncated L_q).
        prunes: the pruning steps, in order (empty for methods other than truncated L_q).
    """

    config: ToyConfig
    model: nn.Module
    history: pd.DataFrame
    prunes: list[PruneStep] = field(default_factory=list)

    @property
    def method(self) -> str:
        """The loss (one of :data:`TOY_METHODS`)."""
        return self.config.method

    @property
    def final(self) -> pd.Series:
        """The last row of :attr:`history`."""
        return self.history.iloc[-1]

    def pruning_table(self) -> pd.DataFrame:
        """One row per pruning step: pruned count, how many were mislabelled, precision, recall."""
        columns = ["epoch", "model_epoch", "n_pruned", "n_pruned_mislabelled", "precision", "recall"]
        return pd.DataFrame([[getattr(step, name) for name in columns] for step in self.prunes], columns=columns)


def _accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """Accuracy in percent."""
    with torch.no_grad():
        return 100.0 * float((model(x).argmax(dim=1) == y).float().mean())


def train_toy(method: str, data: ToyData, *, hidden: int = 128, depth: int = 3, **settings: Any) -> ToyRun:
    """Train the toy MLP (:func:`make_mlp`) on ``data``'s noisy labels with the loss ``method``.

    ``settings`` change the defaults of :func:`toy_config`, e.g. ``train_toy("lq", data, q=0.3)``;
    ``hidden`` and ``depth`` size the network. For ``"truncated_lq"`` the loss is Eq. 12 with
    per-sample weights ``w`` that start at 1 (so until ``prune_start`` it is plain L_q, minus a
    constant) and are reset by the pruning step of Algorithm 1 (Eq. 11) before each epoch of
    :func:`~gce_lab.schedules.pruning_epochs`, using the model of the best validation
    accuracy so far (Sec. 4.2). Deterministic for a given ``data`` and settings.
    """
    config = toy_config(method, **settings)
    model = make_mlp(data.num_classes, hidden, depth, seed=config.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the net is too small to gain from threads; they only contend
    try:
        return _train(config, data, model)
    finally:
        torch.set_num_threads(threads)


def _train(config: ToyConfig, data: ToyData, model: nn.Module) -> ToyRun:
    x = torch.from_numpy(data.x_train)
    y = torch.from_numpy(data.y_train)
    x_val, y_val = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    x_test, y_test = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    num_samples = len(y)
    mislabelled = data.is_noisy
    mislabelled_t = torch.from_numpy(mislabelled)
    all_ids = torch.arange(num_samples)

    transition = data.noise.transition_matrix() if METHOD_INFO[config.method].needs_T else None
    loss_fn = make_loss(config.method, q=config.q, k=config.k, T=transition, num_samples=num_samples)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    shuffler = torch.Generator().manual_seed(config.seed)

    best_val, best_epoch, best_state = -1.0, 0, copy.deepcopy(model.state_dict())
    rows, prunes = [], []
    prune_before = pruning_epochs(config.epochs, config.prune_start, config.prune_every)
    for epoch in range(1, config.epochs + 1):
        if isinstance(loss_fn, TruncatedLqLoss) and epoch in prune_before:
            prunes.append(_prune(loss_fn, model, best_state, best_epoch, x, y, all_ids, epoch, mislabelled))
        model.train()
        batch_losses = []
        for ids in torch.randperm(num_samples, generator=shuffler).split(config.batch_size):
            loss = loss_fn(model(x[ids]), y[ids], ids)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            batch_losses.append(float(loss.detach()))
        model.eval()
        val_acc = _accuracy(model, x_val, y_val)
        if val_acc > best_val:
            best_val, best_epoch, best_state = val_acc, epoch, copy.deepcopy(model.state_dict())
        with torch.no_grad():
            predicted = model(x).argmax(dim=1)
        fitted = (predicted == y)[mislabelled_t]
        rows.append(
            {
                "epoch": epoch,
                "train_loss": float(np.mean(batch_losses)),
                "val_acc": val_acc,
                "test_acc": _accuracy(model, x_test, y_test),
                "memorised": 100.0 * float(fitted.float().mean()) if mislabelled.any() else math.nan,
                "n_pruned": loss_fn.n_pruned if isinstance(loss_fn, TruncatedLqLoss) else 0,
            }
        )
    return ToyRun(config, model, pd.DataFrame(rows), prunes)


def _prune(
    loss_fn: TruncatedLqLoss,
    model: nn.Module,
    best_state: dict,
    best_epoch: int,
    x: Tensor,
    y: Tensor,
    ids: Tensor,
    epoch: int,
    mislabelled: np.ndarray,
) -> PruneStep:
    """Pruning step of Algorithm 1 (Eq. 11) with the best-validation model (Sec. 4.2), before ``epoch``."""
    judge = copy.deepcopy(model)
    judge.load_state_dict(best_state)
    judge.eval()
    with torch.no_grad():
        logits = judge(x)
        loss_fn.prune(logits, y, ids)
        label_probability = torch.softmax(logits, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)
    return PruneStep(
        epoch=epoch,
        model_epoch=best_epoch,
        label_probability=label_probability.numpy(),
        pruned=loss_fn.pruned_mask().numpy().copy(),
        mislabelled=mislabelled,
    )
