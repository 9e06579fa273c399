"""Human label noise (CIFAR-N): the noise kinds, the order check, T from the label pairs, and the
runs' data, on small label files made here (and on the real files where they are present)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gce_lab.data import load_dataset
from gce_lab.experiments import noise_id, parse_noise, plan_runs
from gce_lab.human_noise import HUMAN_LABEL_SETS, load_human_labels
from gce_lab.profiles import run_settings
from gce_lab.runner import build_run_data


def _label_file(root, clean, **labels):
    folder = root / "cifar-n"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"clean_label": np.asarray(clean), **{k: np.asarray(v) for k, v in labels.items()}},
               folder / "CIFAR-10_human.pt")


def test_human_labels_measure_their_rate_and_transition_matrix(tmp_path):
    clean = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    worse = np.array([0, 1, 1, 0, 1, 2, 2, 2])
    _label_file(tmp_path, clean, worse_label=worse, aggre_label=clean)
    human = load_human_labels("human_worst", clean, root=tmp_path)
    assert human.rate == pytest.approx(3 / 8)
    assert human.is_noisy.tolist() == [False, True, True, False, False, True, False, False]
    T = human.transition_matrix()
    assert T.shape == (10, 10) and T[0, 1] == 0.5 and T[0, 0] == 0.5 and T[1, 2] == 0.5 and T[2, 2] == 1.0
    assert load_human_labels("human_aggregate", clean, root=tmp_path).rate == 0.0


def test_labels_in_another_order_are_refused(tmp_path):
    clean = np.array([0, 1, 2, 3])
    _label_file(tmp_path, clean, worse_label=clean)
    with pytest.raises(ValueError, match="must equal the clean_label .* different at 2 of 4 positions"):
        load_human_labels("human_worst", np.array([1, 0, 2, 3]), root=tmp_path)
    with pytest.raises(ValueError, match="of another length"):
        load_human_labels("human_worst", np.array([0, 1, 2]), root=tmp_path)


def test_missing_damaged_and_incomplete_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="CIFAR-10_human.pt not found"):
        load_human_labels("human_worst", [0], root=tmp_path)
    _label_file(tmp_path, [0, 1], aggre_label=[0, 1])
    with pytest.raises(ValueError, match=r"lacks \['worse_label'\]"):
        load_human_labels("human_worst", [0, 1], root=tmp_path)
    (tmp_path / "cifar-n" / "CIFAR-10_human.pt").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot be read"):
        load_human_labels("human_worst", [0, 1], root=tmp_path)
    with pytest.raises(ValueError, match="kind must be one of"):
        load_human_labels("human_best", [0, 1], root=tmp_path)


def test_human_noise_ids_and_plans():
    assert parse_noise("human_random1")[0] == "human_random1" and math.isnan(parse_noise("human_random1")[1])
    assert noise_id("human_worst", math.nan) == "human_worst"
    runs = plan_runs("human", "cpu")
    assert {(r.dataset, r.noise) for r in runs} == {("cifar10", "human_aggregate"), ("cifar10", "human_random1"),
                                                     ("cifar10", "human_worst"), ("cifar100", "human_noisy100")}
    assert len([r for r in runs if r.dataset == "cifar10"]) == 18
    assert runs[0].run_id == "cifar10-cce-human_aggregate-s0"
    with pytest.raises(ValueError, match="must match at least one run"):
        from gce_lab.runner import run_experiment
        run_experiment("human", "cpu", datasets=["cifar10"], noises=["human_noisy100"])


def test_human_noise_cannot_run_on_synthetic_images():
    run = plan_runs("human", "smoke", datasets=["cifar10"], methods=["cce"], noises=["human_worst"])[0]
    with pytest.raises(FileNotFoundError, match="only for the real CIFAR training images"):
        build_run_data(run, run_settings("smoke", "human", "cifar10"))


def test_real_cifar10n_labels_on_the_snapshot():
    try:
        load_dataset("cifar10", source="snapshot")
        load_human_labels("human_worst", load_dataset("cifar10", source="snapshot").y_train)
    except FileNotFoundError:
        pytest.skip("the CIFAR-10-JPEG snapshot or the CIFAR-10N labels are not on this machine")
    run = plan_runs("human", "cpu", datasets=["cifar10"], methods=["forward_t"], noises=["human_worst"])[0]
    data, meta = build_run_data(run, run_settings("cpu", "human", "cifar10"))
    assert 0.35 < meta["realised_noise_rate"] < 0.45  # about 40 % on the whole set
    T = meta["true_T"]
    assert T.shape == (10, 10) and np.allclose(T.sum(axis=1), 1.0)
    assert (np.diag(T) < 1).all() and len(HUMAN_LABEL_SETS) == 6
