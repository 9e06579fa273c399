"""Plan an experiment's runs once, each with every setting resolved in the trainer's own names.

A :class:`Selection` says which runs (an experiment under a profile, optionally filtered);
:func:`plan` crosses the experiment's spec (:mod:`gce_lab.pipeline.experiments`: what to
train) with the profile (:mod:`gce_lab.pipeline.profiles`: how long and how big) into one
:class:`PlannedRun` per training run: its identity (:class:`RunSpec`), its
:class:`~gce_lab.pipeline.train.TrainConfig`, its network and how its data are built.
Nothing downstream reads a profile again: the runner, the status table and the cluster jobs
take the plan; the benchmark and the book's protocol table resolve single runs with
:func:`planned_run`.

Order: every CCE run comes first within its (data set, noise, seed) cell, so that the
``forward_t_hat`` runs that estimate their T̂ from it follow it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from gce_lab.methods import METHOD_INFO
from gce_lab.pipeline.device import DEVICE_CHOICES, PRECISION_CHOICES
from gce_lab.pipeline.experiments import RunSpec, check_experiment, noise_id, parse_noise
from gce_lab.pipeline.human_noise import HUMAN_LABEL_SETS, is_human
from gce_lab.pipeline.profiles import base_profile, check_profile, profile_label, run_settings
from gce_lab.pipeline.train import TrainConfig
from gce_lab.validation import check_bool, check_choice, check_int

__all__ = ["Selection", "DataSettings", "PlannedRun", "Plan", "plan", "planned_run"]


def _names(name: str, values: Iterable[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):  # one name where a list belongs: never read it letter by letter
        raise ValueError(f"{name} must be a list of names (e.g. [{values!r}]), got the string {values!r}")
    return tuple(values)


@dataclass(frozen=True)
class Selection:
    """Which runs: ``experiment`` under ``profile``, filtered by data sets, methods, noise
    settings (``"uniform0.4"``) and seeds (None: all of the experiment's, the profile's seeds);
    ``epochs`` overrides the profile's epoch count (results filed under ``<profile>_epochs<N>``).
    ``device``, ``precision`` and ``compile`` (None: the profile's) say how the runs train, not
    what: they are the caller's switches, written into each run's
    :class:`~gce_lab.pipeline.train.TrainConfig` here, and checked against the device before
    anything trains (:func:`gce_lab.pipeline.runner.run_experiment`)."""

    experiment: str
    profile: str = "smoke"
    datasets: Sequence[str] | None = None
    methods: Sequence[str] | None = None
    noises: Sequence[str] | None = None
    seeds: Sequence[int] | None = None
    epochs: int | None = None
    device: str = "auto"
    precision: str | None = None
    compile: bool | None = None

    def __post_init__(self) -> None:
        check_experiment(self.experiment)
        check_profile(self.profile)
        if self.epochs is not None:  # validated, and a numpy integer stored as a Python one
            object.__setattr__(self, "epochs", check_int("epochs", self.epochs, 1))
        for name in ("datasets", "methods", "noises"):
            object.__setattr__(self, name, _names(name[:-1], getattr(self, name)))
        if self.seeds is not None:
            seeds = tuple(self.seeds)
            for seed in seeds:
                if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                    raise ValueError(f"seeds must be integers >= 0, got {seed!r}")
            seeds = tuple(int(seed) for seed in seeds)  # numpy integers as Python ones (run ids, JSON)
            if len(set(seeds)) != len(seeds):
                raise ValueError(f"seeds must be distinct, got {list(seeds)}")
            object.__setattr__(self, "seeds", seeds)
        check_choice("device", self.device, DEVICE_CHOICES)
        if self.precision is not None:
            check_choice("precision", self.precision, PRECISION_CHOICES)
        if self.compile is not None:
            check_bool("compile", self.compile)

    @property
    def label(self) -> str:
        """The results label: the profile, or ``<profile>_epochs<N>``."""
        return profile_label(self.profile, self.epochs)

    def how(self) -> dict[str, Any]:
        """The trainer settings the caller sets: ``device``, and ``precision`` and ``compile`` unless None."""
        switches = {"precision": self.precision, "compile": self.compile}
        return {"device": self.device, **{name: value for name, value in switches.items() if value is not None}}

    def filters(self) -> dict[str, list]:
        """The filters that are set, for messages."""
        names = ("datasets", "methods", "noises", "seeds")
        return {name: list(getattr(self, name)) for name in names if getattr(self, name) is not None}


@dataclass(frozen=True)
class DataSettings:
    """How a run's data are built (:func:`gce_lab.pipeline.run_data.build_run_data`).

    Attributes:
        source: where the images come from (:data:`gce_lab.pipeline.data.SOURCES`).
        synthetic_size: (train, test) images when ``source`` is ``"synthetic"``.
        train_subset: the size of the fixed class-balanced training subset (None: all images).
        val_fraction: the share of the (noisy) training images held out for validation.
    """

    source: str
    synthetic_size: tuple[int, int] | None
    train_subset: int | None
    val_fraction: float


@dataclass(frozen=True)
class PlannedRun:
    """One training run with every setting resolved.

    Attributes:
        spec: what the run is (experiment, results label, data set, method, q, k, noise, seed).
        config: the trainer's settings.
        model: the network (:data:`gce_lab.pipeline.models.MODELS`).
        data: how its data are built.
        cpu_threads: torch threads while it trains (None: torch's default).
    """

    spec: RunSpec
    config: TrainConfig
    model: str
    data: DataSettings
    cpu_threads: int | None

    @property
    def run_id(self) -> str:
        return self.spec.run_id


@dataclass(frozen=True)
class Plan:
    """The runs of a selection, in dependency order, under its results label."""

    selection: Selection
    runs: tuple[PlannedRun, ...]

    @property
    def label(self) -> str:
        return self.selection.label

    @property
    def specs(self) -> list[RunSpec]:
        return [run.spec for run in self.runs]


def _selected(name: str, values: Sequence, wanted: Sequence | None, allowed_note: str) -> list:
    if wanted is None:
        return list(values)
    if not wanted:
        raise ValueError(
            f"{name} must name at least one of {', '.join(str(v) for v in values)} ({allowed_note}), got none"
        )
    for value in wanted:
        if value not in values:
            listed = ", ".join(str(v) for v in values)
            raise ValueError(f"{name} must be among {listed} ({allowed_note}), got {value!r}")
    return [v for v in values if v in wanted]


#: The fields of TrainConfig that a profile sets (method, q, k and seed are the run's own).
_PROFILE_TRAINER_SETTINGS = tuple(f.name for f in fields(TrainConfig) if f.name not in ("method", "q", "k", "seed"))


def _planned(spec: RunSpec, settings: dict[str, Any]) -> PlannedRun:
    source = settings["data_source"]
    data = DataSettings(
        source=source,
        synthetic_size=tuple(settings["synthetic_size"]) if source == "synthetic" else None,
        train_subset=settings["train_subset"],
        val_fraction=settings["val_fraction"],
    )
    # The profile's trainer settings by their own names; the run's identity gives the rest, and
    # only the pruning method has a pruning schedule.
    trainer = {name: settings[name] for name in _PROFILE_TRAINER_SETTINGS if name in settings}
    if not METHOD_INFO[spec.method].prunes:
        trainer.update(prune_start=None, prune_every=None)
    config = TrainConfig(method=spec.method, q=spec.q, k=spec.k, seed=spec.seed, **trainer)
    return PlannedRun(spec, config, settings["model"], data, settings["cpu_threads"])


def plan(selection: Selection) -> Plan:
    """The runs of ``selection``, ordered for dependencies; at least one.

    A ``forward_t_hat`` run pulls in its ``cce`` run even when the selection's methods leave CCE
    out (T̂ is estimated from it). A reference noise setting (Table 1's clean column) runs only
    when the selection names it. A human label set runs on its own data set only.
    """
    spec = check_experiment(selection.experiment)
    note = f"experiment {selection.experiment!r}"
    noises = selection.noises
    if noises is not None:  # any spelling of eta: uniform0.40 -> uniform0.4
        noises = [noise_id(*parse_noise(n)) for n in noises]
    datasets = _selected("dataset", spec.datasets, selection.datasets, note)
    methods = _selected("method", spec.methods, selection.methods, note)
    noises = (
        _selected("noise", spec.noises + spec.reference_noises, noises, note)
        if noises is not None
        else list(spec.noises)
    )
    if any(METHOD_INFO[m].estimates_T for m in methods) and "cce" not in methods:
        methods.insert(0, "cce")
    methods.sort(key=lambda m: m != "cce")  # CCE first: forward_t_hat depends on it
    runs: list[PlannedRun] = []
    for dataset in datasets:
        settings = run_settings(selection.profile, selection.experiment, dataset, epochs=selection.epochs)
        settings |= selection.how()  # the caller's device, precision and compile switches
        seeds = selection.seeds if selection.seeds is not None else tuple(settings["seeds"])
        q_values = spec.q_values if spec.q_values is not None else (settings["q"],)
        for noise in noises:
            kind = parse_noise(noise)[0]
            if is_human(kind) and HUMAN_LABEL_SETS[kind][0] != dataset:
                continue  # a human label set belongs to one data set
            for seed in seeds:
                for method in methods:
                    if (method, kind) in spec.skip:
                        continue
                    for q in q_values:
                        run = RunSpec(
                            selection.experiment,
                            selection.label,
                            dataset,
                            method,
                            float(q),
                            float(settings["k"]),
                            noise,
                            seed,
                        )
                        runs.append(_planned(run, settings))
    if not runs:
        chosen = ", ".join(f"{k}={v}" for k, v in selection.filters().items()) or "none"
        raise ValueError(
            f"the selection must match at least one run of {selection.experiment!r}; filters {chosen} match none "
            f"(`python -m gce_lab status {selection.experiment} --profile {selection.profile} --runs` lists them)"
        )
    return Plan(selection, tuple(runs))


def planned_run(run: RunSpec) -> PlannedRun:
    """One run resolved outside a plan, e.g. a benchmark's run on clean data or a protocol table's
    example run: its profile label's settings (``lab``, ``smoke_epochs3``) for its experiment and data set."""
    profile, epochs = base_profile(run.profile)
    return _planned(run, run_settings(profile, run.experiment, run.dataset, epochs=epochs))
