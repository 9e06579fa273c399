"""The paper's experiments as data: which data sets, losses and noise each figure and table needs.

An :class:`ExperimentSpec` says *what* to train (Sec. 4 of Zhang & Sabuncu 2018); the profile
(:mod:`gce_lab.pipeline.profiles`) says *how long and how big*; :func:`gce_lab.pipeline.planning.plan`
crosses them into the runs, each named by a :class:`RunSpec`.

Noise settings are written ``<kind><eta>``: ``none0``, ``uniform0.4``, ``class_dependent0.2``,
and for Table 2 ``open_set0.4`` (40 % of the CIFAR-10 training images replaced by CIFAR-100
images that keep their CIFAR-10 label, Wang et al. 2018) and ``closed_set0.4`` (uniform noise
η = 0.4 in Wang et al.'s setup). A human label set (:mod:`gce_lab.pipeline.human_noise`) is written by
its name alone, e.g. ``human_worst``: its rate is whatever the people's labels make it (its η
is NaN; the runs record the realised rate).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gce_lab.methods import METHOD_INFO, PAPER_METHODS
from gce_lab.noise import NOISE_KINDS
from gce_lab.pipeline.human_noise import HUMAN_LABEL_SETS, is_human
from gce_lab.validation import check_choice

__all__ = [
    "RUN_NOISE_KINDS",
    "ExperimentSpec",
    "RunSpec",
    "EXPERIMENTS",
    "EXPERIMENT_NAMES",
    "parse_noise",
    "noise_id",
    "check_experiment",
]

#: Noise kinds of run ids: the noise models of :data:`gce_lab.noise.NOISE_KINDS`, Table 2's
#: ``open_set`` and ``closed_set``, and the human label sets of
#: :data:`gce_lab.pipeline.human_noise.HUMAN_LABEL_SETS`.
RUN_NOISE_KINDS = (*NOISE_KINDS, "open_set", "closed_set", *HUMAN_LABEL_SETS)
_NOISE_ID = re.compile(r"^(?P<kind>[a-z_]+?)(?P<eta>\d+(\.\d+)?)$")


def noise_id(kind: str, eta: float) -> str:
    """``("uniform", 0.4)`` -> ``"uniform0.4"``; a human label set is its name alone."""
    check_choice("noise kind", kind, RUN_NOISE_KINDS)
    return kind if is_human(kind) else f"{kind}{eta:g}"


def parse_noise(noise: str) -> tuple[str, float]:
    """``"uniform0.4"`` -> ``("uniform", 0.4)``, ``"human_worst"`` -> ``("human_worst", nan)``;
    the kind must be one of :data:`RUN_NOISE_KINDS`."""
    if isinstance(noise, str) and is_human(noise):
        return noise, math.nan
    match = _NOISE_ID.match(noise) if isinstance(noise, str) else None
    if match is None or match["kind"] not in RUN_NOISE_KINDS:
        kinds = ", ".join(RUN_NOISE_KINDS)
        raise ValueError(f"noise must be <kind><eta> with kind in {kinds} (e.g. 'uniform0.4'), got {noise!r}")
    return match["kind"], float(match["eta"])


@dataclass(frozen=True)
class ExperimentSpec:
    """What one figure or table of the paper trains.

    Attributes:
        name: ``fig1ab``, ``fig1c``, ``fig2``, ``table1``, ``table2`` or ``human``.
        title: what it shows, with the paper's reference.
        datasets: data sets, in the paper's order.
        methods: losses (names in :data:`gce_lab.methods.METHOD_INFO`), listed explicitly.
        noises: noise settings (``<kind><eta>``).
        optimizer: ``"sgd"`` (Sec. 4.2 schedule) or ``"adam"`` (defaults, Sec. 4.1).
        augment: random crops and flips (Sec. 4.2); Table 2 trains without (Sec. 4.3).
        q_values: for ``fig2``, the sweep of q for the ``lq`` method; else the profile's q.
        skip: (method, noise kind) pairs not run (true T is undefined for open-set noise).
        reference_noises: settings outside the paper's figure or table, run only when named
            (Table 1's clean column: the clean accuracy of a profile's recipe).
    """

    name: str
    title: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    noises: tuple[str, ...]
    optimizer: str
    augment: bool = True
    q_values: tuple[float, ...] | None = None
    skip: tuple[tuple[str, str], ...] = ()
    reference_noises: tuple[str, ...] = ()


_TABLE1_NOISES = (
    "uniform0.2",
    "uniform0.4",
    "uniform0.6",
    "uniform0.8",
    "class_dependent0.1",
    "class_dependent0.2",
    "class_dependent0.3",
    "class_dependent0.4",
)

EXPERIMENTS: dict[str, ExperimentSpec] = {
    "fig1ab": ExperimentSpec(
        "fig1ab",
        "Fig. 1a/b: test accuracy of CCE and MAE on clean CIFAR-10 / CIFAR-100 (Adam)",
        ("cifar10", "cifar100"),
        ("cce", "mae"),
        ("none0",),
        "adam",
    ),
    "fig1c": ExperimentSpec(
        "fig1c",
        "Fig. 1c: mean softmax of the given label, correct vs wrong labels, CCE vs L_q (q=0.7), "
        "CIFAR-10, uniform noise 0.4 (Adam)",
        ("cifar10",),
        ("cce", "lq"),
        ("uniform0.4",),
        "adam",
    ),
    "fig2": ExperimentSpec(
        "fig2",
        "Fig. 2: test accuracy and validation loss of L_q for a sweep of q, CIFAR-10, "
        "uniform noise 0 / 0.2 / 0.6 (Adam)",
        # The sweep of q: 0 (CCE), 0.4, 0.7 (the paper's choice), 0.8 (its overfitting-free
        # example at eta = 0.2) and 1 (MAE / 2).
        ("cifar10",),
        ("lq",),
        ("none0", "uniform0.2", "uniform0.6"),
        "adam",
        q_values=(0.0, 0.4, 0.7, 0.8, 1.0),
    ),
    "table1": ExperimentSpec(
        "table1",
        "Table 1: test accuracy at the best-validation epoch, closed-set noise",
        ("fashion_mnist", "cifar10", "cifar100"),
        PAPER_METHODS,
        _TABLE1_NOISES,
        "sgd",
        reference_noises=("none0",),
    ),
    "table2": ExperimentSpec(
        "table2",
        "Table 2: last-epoch test accuracy on CIFAR-10, open-set and closed-set noise 0.4 "
        "(Wang et al. 2018's setup: shallow CNN, no augmentation, 100 epochs)",
        ("cifar10",),
        ("cce", "forward_t", "forward_t_hat", "mae", "lq", "truncated_lq"),
        ("open_set0.4", "closed_set0.4"),
        "sgd",
        augment=False,
        skip=(("forward_t", "open_set"),),
    ),
    "human": ExperimentSpec(
        "human",
        "Beyond the paper: Table 1's losses under real human label noise (CIFAR-10N, CIFAR-100N; "
        "Wei et al. 2022), test accuracy at the best-validation epoch",
        ("cifar10", "cifar100"),
        PAPER_METHODS,
        ("human_aggregate", "human_random1", "human_worst", "human_noisy100"),
        "sgd",
    ),
}
EXPERIMENT_NAMES: tuple[str, ...] = tuple(EXPERIMENTS)


def check_experiment(name: str) -> ExperimentSpec:
    """The spec of experiment ``name``; ValueError listing the experiments otherwise."""
    return EXPERIMENTS[check_choice("experiment", name, EXPERIMENTS)]


@dataclass(frozen=True)
class RunSpec:
    """One training run: experiment, profile label, data set, loss, noise and seed."""

    experiment: str
    profile: str
    dataset: str
    method: str
    q: float
    k: float
    noise: str
    seed: int

    @property
    def noise_kind(self) -> str:
        return parse_noise(self.noise)[0]

    @property
    def eta(self) -> float:
        return parse_noise(self.noise)[1]

    @property
    def run_id(self) -> str:
        """E.g. ``fashion_mnist-lq-q0.7-uniform0.4-s0`` (q only for the L_q family)."""
        q_part = f"-q{self.q:g}" if METHOD_INFO[self.method].uses_q else ""
        return f"{self.dataset}-{self.method}{q_part}-{self.noise}-s{self.seed}"

    def cce_dependency(self) -> RunSpec:
        """The CCE run whose best-validation model estimates this forward_t_hat run's T̂."""
        return RunSpec(self.experiment, self.profile, self.dataset, "cce", self.q, self.k, self.noise, self.seed)
