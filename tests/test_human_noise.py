"""Human label noise (CIFAR-N): the noise kinds, the order check, T from the label pairs, and the
runs' data, on small label files made here (and on the real files where they are present)."""

from __future__ import annotations

import hashlib
import io
import math

import numpy as np
import pytest
import torch

from gce_lab.pipeline.data import load_dataset
from gce_lab.pipeline.experiments import noise_id, parse_noise
from gce_lab.pipeline.human_noise import HUMAN_LABEL_SETS, load_human_labels
from gce_lab.pipeline.planning import Selection, plan
from gce_lab.pipeline.run_data import build_run_data


def _label_file(root, clean, **labels):
    folder = root / "cifar-n"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"clean_label": np.asarray(clean), **{k: np.asarray(v) for k, v in labels.items()}},
        folder / "CIFAR-10_human.pt",
    )


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
    runs = plan(Selection("human", "cpu")).specs
    assert {(r.dataset, r.noise) for r in runs} == {
        ("cifar10", "human_aggregate"),
        ("cifar10", "human_random1"),
        ("cifar10", "human_worst"),
        ("cifar100", "human_noisy100"),
    }
    assert len([r for r in runs if r.dataset == "cifar10"]) == 18
    assert runs[0].run_id == "cifar10-cce-human_aggregate-s0"
    with pytest.raises(ValueError, match="must match at least one run"):
        plan(Selection("human", "cpu", datasets=["cifar10"], noises=["human_noisy100"]))


def test_human_noise_cannot_run_on_synthetic_images():
    run = plan(Selection("human", "smoke", datasets=["cifar10"], methods=["cce"], noises=["human_worst"])).runs[0]
    with pytest.raises(FileNotFoundError, match="only for the real CIFAR training images"):
        build_run_data(run)


def test_real_cifar10n_labels_on_the_snapshot():
    try:
        load_dataset("cifar10", source="snapshot")
        load_human_labels("human_worst", load_dataset("cifar10", source="snapshot").y_train)
    except FileNotFoundError:
        pytest.skip("the CIFAR-10-JPEG snapshot or the CIFAR-10N labels are not on this machine")
    run = plan(Selection("human", "cpu", datasets=["cifar10"], methods=["forward_t"], noises=["human_worst"])).runs[0]
    data, meta = build_run_data(run)
    assert 0.35 < meta["realised_noise_rate"] < 0.45  # about 40 % on the whole set
    T = meta["true_T"]
    assert T.shape == (10, 10) and np.allclose(T.sum(axis=1), 1.0)
    assert (np.diag(T) < 1).all() and len(HUMAN_LABEL_SETS) == 6


# ----------------------------------------------------------------------------- the chapter's analyses
from gce_lab.book import human_report  # noqa: E402
from gce_lab.pipeline.data_files import DataFileError  # noqa: E402
from gce_lab.pipeline.human_noise import (  # noqa: E402
    HUMAN_LABEL_FILES,
    HumanLabels,
    human_label_file,
    human_label_sets,
)
from gce_lab.pipeline.human_stats import human_noise_stats, load_human_stats, write_human_stats  # noqa: E402


def _labels(clean, noisy, kind="human_worst"):
    return HumanLabels(kind, np.asarray(clean), np.asarray(noisy), 3)


def _stats(labels: dict[str, HumanLabels]):
    return human_noise_stats(labels)


def test_confused_pairs_and_per_class_rates():
    human = _labels([0, 0, 0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 2, 1, 2, 2])
    stats = _stats({"human_worst": human})
    pairs = human_report.confused_pairs(stats, "human_worst", ["a", "b", "c"], top=2)
    assert pairs.iloc[0].tolist() == ["a", "b", 0.5, 2] and pairs.iloc[1].tolist() == ["b", "c", 0.5, 1]
    rates = human_report.per_class_rates(stats, ["a", "b", "c"])
    assert rates["human, worst"].tolist() == [0.5, 0.5, 0.0, 0.375]
    assert human_report.label_set_rates(stats).iloc[0, 0] == 0.375


def test_annotator_dependence_finds_errors_that_gather_on_images():
    clean = np.zeros(8, dtype=int)
    wrong_on_the_same = np.array([1, 1, 0, 0, 0, 0, 0, 0])
    together = {k: HumanLabels(k, clean, wrong_on_the_same, 3) for k in ("human_random1", "human_random2")}
    row = human_report.annotator_dependence(_stats(together), ["a", "b", "c"]).loc["a"]
    assert row["both wrong if class-conditional"] == pytest.approx(0.0625) and row["both wrong, observed"] == 0.25
    assert row["observed / class-conditional"] == pytest.approx(4.0)
    apart = {
        "human_random1": HumanLabels("human_random1", clean, np.array([1, 1, 0, 0, 0, 0, 0, 0]), 3),
        "human_random2": HumanLabels("human_random2", clean, np.array([0, 0, 1, 1, 0, 0, 0, 0]), 3),
    }
    assert human_report.annotator_dependence(_stats(apart), ["a", "b", "c"]).loc["a", "both wrong, observed"] == 0.0
    with pytest.raises(ValueError, match="at least two of human_random1..3"):
        human_report.annotator_dependence(_stats({"human_worst": _labels(clean, clean)}), ["a", "b", "c"])


# ----------------------------------------------------------------------------- the committed statistics
def test_statistics_written_and_read_back_equal_the_label_files(tmp_path):
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 10, 400)
    sets = {
        key: np.where(rng.random(400) < rate, rng.integers(0, 10, 400), clean)
        for key, rate in (
            ("aggre_label", 0.1),
            ("random_label1", 0.2),
            ("random_label2", 0.2),
            ("random_label3", 0.2),
            ("worse_label", 0.4),
        )
    }
    _label_file(tmp_path / "data", clean, **sets)
    labels = human_label_sets("cifar10", root=tmp_path / "data")
    written = write_human_stats(human_noise_stats(labels), human_label_file("cifar10", tmp_path / "data"), tmp_path)
    assert written == tmp_path / "human_label_stats" / "cifar10"
    stats = load_human_stats("cifar10", root=tmp_path)
    for kind, human in labels.items():
        assert stats.rate(kind) == pytest.approx(human.rate)
        assert np.allclose(stats.transition_matrix(kind), human.transition_matrix())
    both = stats.wrong_share(lambda p: (p["human_random1"] == 1) & (p["human_random2"] == 1))
    assert both == pytest.approx((labels["human_random1"].is_noisy & labels["human_random2"].is_noisy).mean())
    provenance = (written / "provenance.json").read_text()
    assert "CC BY-NC 4.0" in provenance and "label_file_sha256" in provenance


def test_missing_or_damaged_statistics_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m gce_lab human-stats --dataset cifar10"):
        load_human_stats("cifar10", root=tmp_path)
    folder = tmp_path / "human_label_stats" / "cifar10"
    folder.mkdir(parents=True)
    (folder / "confusions.csv").write_text("a,b\n1,2\n")
    (folder / "error_patterns.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="do not have the expected columns"):
        load_human_stats("cifar10", root=tmp_path)
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_human_stats("mnist", root=tmp_path)


def test_the_committed_cifar10n_statistics_match_the_documented_rates():
    stats = load_human_stats("cifar10")  # committed: no label file needed
    assert stats.counts["human_worst"].sum() == 50000
    assert stats.rate("human_aggregate") == pytest.approx(0.0903, abs=5e-4)
    assert stats.rate("human_worst") == pytest.approx(0.4021, abs=5e-4)
    anyone = stats.wrong_share(lambda p: p[["human_random1", "human_random2", "human_random3"]].max(axis=1) == 1)
    assert anyone == pytest.approx(stats.rate("human_worst"))  # worst: wrong whenever a worker was


def test_download_fetches_checks_and_keeps_nothing_bad(tmp_path, monkeypatch):
    import urllib.request

    payload = b"the label file"
    monkeypatch.setitem(
        HUMAN_LABEL_FILES, "CIFAR-10_human.pt", ("https://example.org/f.pt", hashlib.sha256(payload).hexdigest())
    )
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(payload))
    path = human_label_file("cifar10", tmp_path, download=True)
    assert path.read_bytes() == payload
    path.unlink()
    monkeypatch.setitem(HUMAN_LABEL_FILES, "CIFAR-10_human.pt", ("https://example.org/f.pt", "0" * 64))
    with pytest.raises(DataFileError, match="has SHA-256 .*, not 0000"):
        human_label_file("cifar10", tmp_path, download=True)
    assert not path.exists() and not list(path.parent.iterdir())  # a bad download leaves nothing behind

    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match="could not be downloaded from https://example.org/f.pt"):
        human_label_file("cifar10", tmp_path, download=True)
    assert human_label_file("cifar10", tmp_path) == path  # without download: the path, found or not


def _run_rows(noise, eta, rate, accuracies, profile="cpu"):
    return [
        {
            "dataset": "cifar10",
            "noise": noise,
            "eta": eta,
            "realised_noise_rate": rate,
            "method": m,
            "test_acc_best_val": a,
            "profile": profile,
        }
        for m, a in accuracies.items()
    ]


def test_human_results_beside_synthetic_noise_of_the_nearest_rate():
    import pandas as pd

    human = pd.DataFrame(_run_rows("human_worst", math.nan, 0.402, {"cce": 40.0, "mae": 30.0, "lq": 50.0}))
    synthetic = pd.DataFrame(
        _run_rows("uniform", 0.2, 0.2, {"cce": 70.0, "mae": 60.0, "lq": 65.0})
        + _run_rows("uniform", 0.4, 0.4, {"cce": 45.0, "mae": 35.0, "lq": 55.0})
        + _run_rows("class_dependent", 0.4, 0.4, {"cce": 48.0, "mae": 49.0, "lq": 47.0})
        + _run_rows("class_dependent", 0.3, 0.3, {"cce": 99.0, "mae": 99.0, "lq": 99.0})
    )
    # the nearest columns of Table 1's design, not of what happens to have run
    assert human_report.synthetic_partners(human) == {"human_worst": {"uniform": 0.4, "class_dependent": 0.4}}
    aggregate = pd.DataFrame(_run_rows("human_aggregate", math.nan, 0.09, {"cce": 60.0, "lq": 61.0}))
    assert human_report.synthetic_partners(aggregate) == {"human_aggregate": {"uniform": 0.2, "class_dependent": 0.1}}
    missing = human_report.human_comparison(aggregate, synthetic)
    assert missing[("synthetic (cpu)", "uniform η = 0.2")].tolist() == ["70.0 (1)", "65.0 (2)"]
    assert missing[("synthetic (cpu)", "class-dependent η = 0.1")].tolist() == ["—", "—"]
    table = human_report.human_comparison(human, synthetic)
    assert table[("human (cpu)", "human, worst (40.2 % of training labels wrong)")].tolist() == [
        "40.0 (2)",
        "30.0 (3)",
        "50.0 (1)",
    ]
    assert table[("synthetic (cpu)", "uniform η = 0.4")].tolist() == ["45.0 (2)", "35.0 (3)", "55.0 (1)"]
    order = human_report.ordering_agreement(human, synthetic).loc["human, worst"]
    assert order["order (most accurate first)"] == "Lq > CCE > MAE"
    assert (order["uniform partner"], order["same order as uniform"]) == ("η = 0.4", "3 of 3 pairs")
    assert (order["class-dependent partner"], order["same order as class-dependent"]) == ("η = 0.4", "0 of 3 pairs")
    aggregate_order = human_report.ordering_agreement(aggregate, synthetic).loc["human, aggregate"]
    assert aggregate_order["same order as class-dependent"] == "—"  # its partner, η = 0.1, has not run


def test_synthetic_columns_keep_only_runs_trained_as_the_human_runs_were():
    import pandas as pd

    first = {"optimizer": "adam", "lr": 0.001, "milestones": math.nan, "epochs": 15, "n_train": 11250}
    second = {"optimizer": "sgd", "lr": 0.05, "milestones": "6", "epochs": 14, "n_train": 22500}
    human = pd.DataFrame(_run_rows("human_worst", math.nan, 0.402, {"cce": 40.0, "lq": 50.0})).assign(**first)
    same = pd.DataFrame(_run_rows("uniform", 0.4, 0.4, {"cce": 45.0, "lq": 55.0})).assign(**first)
    other = pd.DataFrame(_run_rows("uniform", 0.4, 0.4, {"cce": 80.0, "lq": 20.0})).assign(**second)
    column = ("synthetic (cpu)", "uniform η = 0.4")
    mixed = human_report.human_comparison(human, pd.concat([same, other]))
    assert mixed[column].tolist() == ["45.0 (2)", "55.0 (1)"]  # the other recipe's runs are not averaged in
    alone = human_report.human_comparison(human, other)
    assert alone[column].tolist() == ["—", "—"]
    order = human_report.ordering_agreement(human, other).loc["human, worst"]
    assert order["same order as uniform"] == "—"
    assert human_report.ordering_agreement(human, same).loc["human, worst", "same order as uniform"] == "1 of 1 pairs"


def test_human_findings_follow_the_numbers():
    import pandas as pd

    runs = pd.DataFrame(_run_rows("human_worst", math.nan, 0.402, {"cce": 40.0, "mae": 30.0, "lq": 50.0}))
    text = repr(human_report.human_findings(runs))
    assert (
        "human, worst (40.2 % of training labels wrong): Lq is the most accurate (50.00 %), MAE the least (30.00 %)"
        in text
    )
    assert "L_q ranks 1 of 3, +10.00 points against CCE" in text
