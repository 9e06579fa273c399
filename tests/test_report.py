"""Chapter results (cached / run), the profile notice, and the tables beside the paper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gce_lab.book import protocol, report
from gce_lab.book.comparison import reported_results
from gce_lab.pipeline import runner
from gce_lab.pipeline.planning import Selection, plan
from gce_lab.pipeline.results import RUN_COLUMNS, write_run


def _run_row(
    experiment, profile, dataset="cifar10", method="cce", noise="uniform", eta=0.2, seed=0, acc=50.0, q=np.nan, **values
):
    row = {c: np.nan for c in RUN_COLUMNS}
    noise_id = f"{noise}{eta:g}"
    q_part = f"-q{q:g}" if method in ("lq", "truncated_lq") else ""
    run_id = f"{dataset}-{method}{q_part}-{noise_id}-s{seed}"
    row.update(
        {
            "experiment": experiment,
            "profile": profile,
            "run_id": run_id,
            "dataset": dataset,
            "data_source": "synthetic",
            "model": "tiny_net",
            "method": method,
            "q": q,
            "noise": noise,
            "eta": eta,
            "seed": seed,
            "epochs": 3,
            "test_acc_best_val": acc,
            "test_acc_last": acc - 1.0,
            "git_commit": "abc",
            "finished_at": "2026-12-01T00:00:00+00:00",
        },
        **values,
    )
    return row


def _write(tmp_path, experiment, profile, **kwargs):
    row = _run_row(experiment, profile, **kwargs)
    epochs = [
        {"experiment": experiment, "profile": profile, "run_id": row["run_id"], "epoch": e, "test_acc": 10.0 * e}
        for e in (1, 2, 3)
    ]
    write_run(experiment, profile, row, epochs, tmp_path)
    return row


def _frame(rows):
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS))


# ----------------------------------------------------------------------------- chapter_results
def test_cached_reads_the_most_faithful_committed_profile(tmp_path):
    _write(tmp_path, "fig1c", "smoke")
    assert report.chapter_results("fig1c", root=tmp_path).label == "smoke"
    _write(tmp_path, "fig1c", "lab", method="lq", q=0.7)
    results = report.chapter_results("fig1c", "cached", root=tmp_path)
    assert (results.label, results.profile, results.requested) == ("lab", "lab", "cached")
    assert list(results.runs["method"]) == ["lq"] and len(results.epochs) == 3


def test_profile_must_be_a_chapter_profile(tmp_path):
    with pytest.raises(ValueError, match="PROFILE must be one of 'cached', 'smoke', 'cpu', 'lab', 'paper'; got 'fast'"):
        report.chapter_results("fig1c", "fast", root=tmp_path)
    with pytest.raises(ValueError, match="experiment"):
        report.chapter_results("fig3", root=tmp_path)


def test_cached_without_results_runs_smoke_and_says_so(tmp_path, monkeypatch):
    calls = []

    def fake_run(planned, where, *, progress, **how):
        experiment, profile, root = planned.selection.experiment, planned.label, where.root
        datasets, noises = list(planned.selection.datasets), list(planned.selection.noises)
        calls.append((experiment, profile, tuple(datasets), tuple(noises)))
        for run in planned.specs:
            kind, eta = run.noise_kind, run.eta
            _write(
                root,
                experiment,
                profile,
                dataset=run.dataset,
                method=run.method,
                noise=kind,
                eta=eta,
                q=run.q if run.method == "lq" else np.nan,
            )

    monkeypatch.setattr(runner, "run_experiment", fake_run)  # the runner trains, cell by cell
    results = report.chapter_results("fig1c", root=tmp_path)
    assert calls == [("fig1c", "smoke", ("cifar10",), ("uniform0.4",))]
    assert results.label == "smoke" and len(results.runs) == 2
    assert "ran the smoke profile just now" in " ".join(results.notes)
    assert not list(tmp_path.iterdir())  # a reading page never writes into the results root


def test_a_data_set_that_cannot_run_is_a_note_not_an_error(tmp_path, monkeypatch):
    def fake_run(planned, where, *, progress, **how):
        experiment, profile, root = planned.selection.experiment, planned.label, where.root
        datasets = list(planned.selection.datasets)
        if datasets == ["cifar100"]:
            raise FileNotFoundError("CIFAR-100 images are not available offline\nmore detail")
        for run in planned.specs:
            _write(root, experiment, profile, dataset=run.dataset, method=run.method, noise=run.noise_kind, eta=run.eta)

    monkeypatch.setattr(runner, "run_experiment", fake_run)  # the runner trains, cell by cell
    results = report.chapter_results("fig1ab", "lab", root=tmp_path)
    assert set(results.runs["dataset"]) == {"cifar10"}
    assert results.notes == [
        "CIFAR-100 (all noise settings): not run here: CIFAR-100 images are not available offline more detail"
    ]


# ----------------------------------------------------------------------------- notice
def test_smoke_notice_says_the_numbers_mean_nothing():
    runs = _frame([_run_row("fig1c", "smoke"), _run_row("fig1c", "smoke", method="lq", q=0.7, seed=1)])
    runs["run_id"] = ["cifar10-cce-uniform0.4-s0", "cifar10-lq-q0.7-uniform0.4-s0"]
    results = report.ChapterResults("fig1c", "cached", "smoke", runs, pd.DataFrame())
    note = report.notice(results)
    assert note.title == "Smoke-test numbers"
    assert "`smoke` profile (CIFAR-10: synthetic images; network tiny_net; 3 epochs; 2 seeds; 2 runs)" in note.body
    assert "say nothing about the paper's claims" in note.body
    assert "All 2 runs this profile plans are here." in note.body
    assert note._repr_markdown_().startswith("> **Smoke-test numbers.** These numbers come from the `smoke`")
    assert "`" not in repr(note) and max(len(line) for line in repr(note).splitlines()) <= 88


def test_lab_notice_lists_missing_runs_and_the_cifar100_caveat():
    planned = plan(Selection("fig1ab", "lab")).specs
    rows = [
        _run_row(
            "fig1ab",
            "lab",
            dataset=r.dataset,
            method=r.method,
            noise="none",
            eta=0.0,
            data_source="snapshot:cifar10_jpeg",
            model="small_net",
            epochs=15,
        )
        for r in planned
        if r.dataset == "cifar10"
    ]
    results = report.ChapterResults("fig1ab", "cached", "lab", _frame(rows), pd.DataFrame())
    body = report.notice(results).body
    assert "CIFAR-10: real images, lossy JPEG snapshot" in body
    assert "Not run yet under this profile: 2 of 4 planned runs (CIFAR-100: 2 runs)" in body
    assert "only available where torchvision can download them" in body
    assert "CIFAR-100: 2 runs)" in body  # every noise setting of the data set: none named
    assert "not the paper's protocol" in body
    missing = report.missing_runs("fig1ab", "lab", results.runs)
    assert list(missing["run_id"]) == ["cifar100-cce-none0-s0", "cifar100-mae-none0-s0"]


def test_notice_of_a_shortened_run_says_so():
    runs = _frame([_run_row("fig1c", "lab_epochs3", data_source="snapshot:cifar10_jpeg", model="small_net")])
    results = report.ChapterResults("fig1c", "lab", "lab_epochs3", runs, pd.DataFrame())
    assert results.profile == "lab"
    body = report.notice(results).body
    assert "overridden (3 epochs)" in body and "most faithful" not in body


# ----------------------------------------------------------------------------- tables
def test_format_mean_std():
    assert report.format_mean_std(93.244, 0.1249) == "93.24\u00a0±\u00a00.12"  # never wraps in a table
    assert report.format_mean_std(93.0) == "93.00"
    assert report.format_mean_std(float("nan"), 1.0) == "—"
    assert report.format_mean_std(1.25, decimals=1) == "1.2"


def _table1_runs():
    """CIFAR-10, uniform 0.2: CCE over two seeds (80, 84), MAE 90, Lq 70; the paper says
    CCE 86.98, MAE 83.72, Lq 89.83, so we order MAE > CCE > Lq and the paper Lq > CCE > MAE."""
    rows = [
        _run_row("table1", "lab", method="cce", seed=0, acc=80.0),
        _run_row("table1", "lab", method="cce", seed=1, acc=84.0),
        _run_row("table1", "lab", method="mae", acc=90.0),
        _run_row("table1", "lab", method="lq", q=0.7, acc=70.0),
    ]
    return _frame(rows)


def _column(table, noise, eta):
    """The rows of one (noise, η) column of a one-data-set comparison table, indexed by method."""
    flat = table.reset_index()
    chosen = flat[(flat["noise"] == noise) & (flat["η"] == eta)]
    return chosen.set_index("method")


def test_comparison_table_puts_ours_beside_the_paper():
    table = report.comparison_table(_table1_runs(), "table1")
    ours = "ours (lab profile)"
    assert list(table.columns) == [
        (ours, "accuracy (%)"),
        (ours, "runs"),
        (ours, "rank"),
        ("paper", "accuracy (%)"),
        ("paper", "rank"),
        ("ours (lab) − paper", ""),
    ]
    assert list(table.index.names) == ["data set", "noise", "η", "method"]
    assert len(table) == len(reported_results("table1"))
    table = report.comparison_table(_table1_runs(), "table1", dataset="cifar10")
    assert list(table.index.names) == ["noise", "η", "method"]
    assert len(table) == len(reported_results("table1").query("dataset == 'cifar10'"))
    cce = table.loc[("uniform", "0.2", "CCE")]
    std = np.std([80.0, 84.0], ddof=1)
    assert cce[(ours, "accuracy (%)")] == f"82.00\u00a0±\u00a0{std:.2f}" and cce[(ours, "runs")] == 2
    assert cce[("paper", "accuracy (%)")] == "86.98\u00a0±\u00a00.44" and cce[("ours (lab) − paper", "")] == "-4.98"
    ranks = _column(table, "uniform", "0.2")[[(ours, "rank"), ("paper", "rank")]]
    assert ranks.loc["MAE"].tolist() == ["1", "3"] and ranks.loc["CCE"].tolist() == ["2", "2"]
    assert ranks.loc["Lq"].tolist() == ["3", "1"]
    assert ranks.loc["Forward\u00a0T"].tolist() == ["—", "—"]  # not run: no rank, no number
    assert table.loc[("uniform", "0.2", "Forward\u00a0T"), (ours, "accuracy (%)")] == "—"


def test_table2_ranks_only_methods_both_report():
    rows = [
        _run_row("table2", "smoke", method=m, noise="closed_set", eta=0.4, acc=a)
        for m, a in (("cce", 60.0), ("forward_t_hat", 99.0), ("truncated_lq", 70.0))
    ]
    table = report.comparison_table(_frame(rows), "table2", dataset="cifar10")
    closed = _column(table, "closed-set", "0.4")
    ours = "ours (smoke profile)"
    closed.index = closed.index.str.replace("\u00a0", " ").str.replace("\u2011", "-")
    assert closed.loc["Trunc Lq", (ours, "rank")] == "1" and closed.loc["Trunc Lq", ("paper", "rank")] == "1"
    assert closed.loc["CCE", ("paper", "rank")] == "2"
    assert closed.loc["Forward T-hat", (ours, "rank")] == "—"  # the paper has no Forward T-hat column
    assert closed.loc["Wang et al.", ("paper", "accuracy (%)")] == "78.15"
    assert closed.loc["Wang et al.", ("paper", "rank")] == "—"
    # Table 2 reports the last epoch
    assert closed.loc["CCE", (ours, "accuracy (%)")] == "59.00"


def test_agreement_table_counts_pairs_ordered_as_in_the_paper():
    runs = _table1_runs()
    more = [_run_row("table1", "lab", dataset="fashion_mnist", method=m, acc=a) for m, a in (("cce", 1.0), ("lq", 2.0))]
    table = report.agreement_table(pd.concat([runs, _frame(more)], ignore_index=True), "table1")
    assert list(table.columns.get_level_values(0).unique()) == ["ours (lab profile) vs paper"]
    table = table["ours (lab profile) vs paper"]
    # CIFAR-10: (CCE, MAE) disagrees, (CCE, Lq) disagrees, (MAE, Lq) disagrees -> 0 of 3
    # and none beyond the noise: no column has two seeds of two methods, so no spread is measured
    assert table.loc[("CIFAR-10", "uniform", "0.2")].tolist() == [3, 0, "0.0", 0, 0]
    # Fashion-MNIST: paper Lq 93.35 > CCE 93.24, ours 2 > 1 -> 1 of 1
    assert table.loc[("Fashion-MNIST", "uniform", "0.2"), "same order"] == 1
    overall = table.loc[("all", "all", "")]
    assert overall["pairs"] == 4 and overall["same order"] == 1 and overall["same order (%)"] == "25.0"
    assert list(table.index.get_level_values(0)) == ["Fashion-MNIST", "CIFAR-10", "Fashion-MNIST", "CIFAR-10", "all"]


def test_tables_refuse_mixed_profiles_and_unknown_tables():
    runs = _table1_runs()
    runs.loc[0, "profile"] = "smoke"
    with pytest.raises(ValueError, match="one profile"):
        report.comparison_table(runs, "table1")
    with pytest.raises(ValueError, match="table must be one of"):
        report.agreement_table(_table1_runs(), "table3")


def test_notes_name_the_noise_settings_that_could_not_run(tmp_path, monkeypatch):
    def fake_run(planned, where, *, progress, **how):
        experiment, profile, root = planned.selection.experiment, planned.label, where.root
        noises = list(planned.selection.noises)
        if noises == ["open_set0.4"]:
            raise FileNotFoundError("open-set noise needs CIFAR-100 images")
        for run in planned.specs:
            q = run.q if run.method in ("lq", "truncated_lq") else np.nan
            _write(
                root,
                experiment,
                profile,
                dataset=run.dataset,
                method=run.method,
                noise=run.noise_kind,
                eta=run.eta,
                q=q,
            )

    monkeypatch.setattr(runner, "run_experiment", fake_run)  # the runner trains, cell by cell
    results = report.chapter_results("table2", "lab", root=tmp_path, progress=False)
    assert set(results.runs["noise"]) == {"closed_set"}
    assert results.notes == ["CIFAR-10 (open_set0.4): not run here: open-set noise needs CIFAR-100 images"]
    body = report.notice(results).body
    assert "5 of 11 planned runs (CIFAR-10: 5 runs, noise open_set0.4)" in body
    assert "needed for CIFAR-100 and for open-set noise" in body


def test_settings_table_one_column_per_data_set():
    rows = [
        _run_row(
            "table1",
            "lab",
            dataset=d,
            method=m,
            seed=s,
            optimizer="sgd",
            lr=0.01,
            milestones="5;10",
            batch_size=128,
            n_train=45000,
            prune_start=5 if m == "truncated_lq" else np.nan,
        )
        for d in ("fashion_mnist", "cifar10")
        for m in ("cce", "truncated_lq")
        for s in (0, 1)
    ]
    table = protocol.settings_table(_frame(rows))["lab profile"]
    assert list(table.columns) == ["Fashion-MNIST", "CIFAR-10"]
    cifar = table["CIFAR-10"]
    assert cifar["images"] == "synthetic images" and cifar["optimizer"] == "sgd" and cifar["lr"] == "0.01"
    assert cifar["lr drops after epoch"] == "5;10"
    assert cifar["pruning from epoch"] == "5" and cifar["augment"] == "—"
    assert cifar["runs"] == "4" and cifar["seeds"] == "2" and cifar["epochs"] == "3"


def test_protocol_differences_list_only_what_differs_from_the_paper():
    paper_like = dict(
        data_source="torchvision",
        model="resnet34",
        optimizer="sgd",
        lr=0.01,
        milestones="40;80",
        batch_size=128,
        epochs=120,
        augment=True,
        n_train=45000,
        n_val=5000,
        n_test=10000,
    )
    rows = [
        _run_row(
            "table1",
            "paper",
            method=m,
            seed=s,
            **paper_like,
            prune_start=40 if m == "truncated_lq" else np.nan,
            prune_every=10 if m == "truncated_lq" else np.nan,
        )
        for m in ("cce", "truncated_lq")
        for s in range(5)
    ]
    differences = protocol.protocol_differences(_frame(rows))
    assert list(differences.index.get_level_values("setting")) == ["images"]  # torchvision's words differ only
    cpu_like = {
        **paper_like,
        "model": "cpu_net",
        "optimizer": "adam",
        "lr": 0.001,
        "milestones": "",
        "epochs": 15,
        "augment": False,
        "n_train": 11250,
        "n_val": 1250,
    }
    rows = [_run_row("table1", "cpu", method="truncated_lq", prune_start=5, prune_every=2, **cpu_like)]
    table = protocol.protocol_differences(_frame(rows)).xs("CIFAR-10")
    assert table.loc["network"].tolist() == ["cpu_net", "resnet34"]
    assert table.loc["optimizer"].tolist() == ["adam", "sgd"]
    assert table.loc["pruning from epoch"].tolist() == ["5", "40"] and table.loc["seeds"].tolist() == ["1", "5"]
    assert table.loc["train"].tolist() == ["11250", "45000"] and "batch" not in table.index
    assert not table["paper protocol"].str.contains("assumed").any()  # Table 1's protocol is the paper's own
    table2 = protocol.protocol_differences(_frame([_run_row("table2", "cpu", method="cce", **cpu_like)])).xs("CIFAR-10")
    assert table2.loc["optimizer"].tolist() == ["adam", "sgd (assumed: the paper does not say)"]
    assert table2.loc["lr drops after epoch", "paper protocol"] == "40;80 (assumed: the paper does not say)"
    assert "assumed" not in table2.loc["network", "paper protocol"]


def test_the_seed_count_is_said_per_column():
    from gce_lab.book.report import describe_seeds

    def rows(noise, eta, seeds):
        return [{"dataset": "cifar10", "noise": noise, "eta": eta, "seed": s, "method": "cce"} for s in seeds]

    one_column = pd.DataFrame(rows("uniform", 0.4, [0, 1, 2]))
    assert describe_seeds(one_column) == "3 seeds"
    even = pd.DataFrame(rows("uniform", 0.4, [0]) + rows("uniform", 0.8, [0]))
    assert describe_seeds(even) == "1 seed in every column"
    mixed = pd.DataFrame(rows("uniform", 0.4, [0, 1, 2]) + rows("uniform", 0.8, [0]) + rows("uniform", 0.2, [0]))
    assert describe_seeds(mixed) == "1 seed per column, except 1 of 3 columns: CIFAR-10 uniform η = 0.4 (3)"
