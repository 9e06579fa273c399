"""Tidy result files (atomic writes, loader), the paper's numbers, and the comparisons."""

from __future__ import annotations

import math
import multiprocessing

import numpy as np
import pandas as pd
import pytest

from gce_lab.book.comparison import compare_with_paper, per_column_ranking, reported_results
from gce_lab.pipeline.results import (
    EPOCH_COLUMNS,
    RUN_COLUMNS,
    ResultsFileError,
    finished_run_ids,
    load_results,
    load_t_hat,
    results_root,
    save_t_hat,
    write_run,
)


def _row(run_id, profile="smoke", **values):
    row = {c: np.nan for c in RUN_COLUMNS}
    row.update(
        {
            "experiment": "table1",
            "profile": profile,
            "run_id": run_id,
            "dataset": "cifar10",
            "method": "cce",
            "noise": "uniform",
            "eta": 0.4,
            "seed": 0,
            "test_acc_best_val": 50.0,
            "test_acc_last": 49.0,
            "git_commit": "abc",
            "finished_at": "2026-12-01T00:00:00+00:00",
        },
        **values,
    )
    return row


def _epochs(run_id, n=2, profile="smoke"):
    return [
        {"experiment": "table1", "profile": profile, "run_id": run_id, "epoch": e, "val_acc": 10.0 * e}
        for e in range(1, n + 1)
    ]


def test_write_and_load_round_trip(tmp_path):
    write_run("table1", "smoke", _row("a", test_acc_best_val=50.0), _epochs("a"), tmp_path)
    write_run("table1", "smoke", _row("b", test_acc_best_val=60.0), _epochs("b", 3), tmp_path)
    write_run("table1", "smoke", _row("a", test_acc_best_val=55.0), _epochs("a", 1), tmp_path)  # a rerun replaces
    runs, epochs = load_results("table1", "smoke", tmp_path)
    assert list(runs.columns) == list(RUN_COLUMNS) and list(epochs.columns) == list(EPOCH_COLUMNS)
    assert sorted(runs["run_id"]) == ["a", "b"]
    assert runs.set_index("run_id").loc["a", "test_acc_best_val"] == 55.0
    assert sorted(epochs.groupby("run_id").size().items()) == [("a", 1), ("b", 3)]
    assert finished_run_ids("table1", "smoke", tmp_path) == {"a", "b"}
    assert not [p for p in (tmp_path / "table1" / "smoke").iterdir() if p.name.endswith(".tmp")]


def test_adding_a_run_leaves_the_lines_of_the_others_as_they_were(tmp_path):
    runs_csv = tmp_path / "table1" / "smoke" / "runs.csv"
    lines = []
    for run_id, prune_start in (("t1", 9), ("c1", None), ("t2", 9), ("c2", None)):  # truncated L_q prunes, CCE not
        write_run("table1", "smoke", _row(run_id, prune_start=prune_start), [], tmp_path)
        lines.append(runs_csv.read_text().splitlines()[1])  # the line of t1
    assert lines == [lines[0]] * 4


def test_epochs_without_a_run_row_are_not_loaded(tmp_path):
    write_run("table1", "smoke", _row("a"), _epochs("a"), tmp_path)
    orphan = pd.DataFrame(_epochs("crashed"), columns=list(EPOCH_COLUMNS))
    path = tmp_path / "table1" / "smoke" / "epochs.csv"
    pd.concat([pd.read_csv(path), orphan]).to_csv(path, index=False)
    _, epochs = load_results("table1", "smoke", tmp_path)
    assert set(epochs["run_id"]) == {"a"}


def test_write_run_needs_every_column(tmp_path):
    row = _row("a")
    del row["git_commit"]
    with pytest.raises(ValueError, match="git_commit"):
        write_run("table1", "smoke", row, [], tmp_path)


def test_cached_reads_the_most_faithful_committed_profile(tmp_path):
    write_run("table1", "smoke", _row("s"), _epochs("s"), tmp_path)
    assert set(load_results("table1", "cached", tmp_path)[0]["profile"]) == {"smoke"}
    write_run("table1", "lab", _row("l", profile="lab"), _epochs("l", profile="lab"), tmp_path)
    assert set(load_results("table1", "cached", tmp_path)[0]["profile"]) == {"lab"}
    with pytest.raises(FileNotFoundError, match="python -m gce_lab run fig2 --profile smoke"):
        load_results("fig2", "cached", tmp_path)


@pytest.mark.parametrize(
    "experiment, profile, message",
    [
        ("table9", "smoke", "experiment must be one of 'fig1ab', 'fig1c', 'fig2', 'table1', 'table2'"),
        ("table1", "quick", "profile must be one of 'smoke', 'cpu', 'lab', 'paper', 'cached'"),
    ],
)
def test_bad_names_list_the_allowed_ones(tmp_path, experiment, profile, message):
    with pytest.raises(ValueError, match=message):
        load_results(experiment, profile, tmp_path)


def test_missing_results_say_how_to_make_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="--profile lab"):
        load_results("table1", "lab_epochs3", tmp_path)


def test_results_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GCE_LAB_RESULTS", str(tmp_path))
    assert results_root() == tmp_path
    assert results_root("elsewhere").name == "elsewhere"


def test_t_hat_round_trip(tmp_path):
    t_hat = np.array([[0.7, 0.3], [1 / 3, 2 / 3]])
    save_t_hat("table1", "smoke", "cifar10-cce-uniform0.4-s0", t_hat, tmp_path)
    loaded = load_t_hat("table1", "smoke", "cifar10-cce-uniform0.4-s0", tmp_path)
    assert np.allclose(loaded, t_hat, rtol=1e-6, atol=0) and not np.array_equal(loaded, t_hat)
    assert load_t_hat("table1", "smoke", "nothing", tmp_path) is None


def test_reported_results_are_the_papers():
    table = reported_results()
    assert len(table) == 156 and list(table.columns) == ["table", "dataset", "method", "noise", "eta", "mean", "std"]
    t1 = reported_results("table1").set_index(["dataset", "method", "noise", "eta"])
    assert t1.loc[("cifar10", "truncated_lq", "uniform", 0.4), "mean"] == 87.62
    assert t1.loc[("cifar100", "mae", "class_dependent", 0.1), "std"] == 1.84
    table2 = reported_results("table2").set_index(["method", "noise"])["mean"]
    assert len(table2) == 12
    assert table2[("forward_t_hat", "open_set")] == 64.18  # no true T exists for open-set noise
    assert table2[("forward_t", "closed_set")] == 77.81
    assert ("forward_t", "open_set") not in table2.index
    with pytest.raises(ValueError, match="table must be one of 'table1', 'table2'"):
        reported_results("table3")


def test_compare_with_paper_table1():
    runs = pd.DataFrame(
        [
            _row("x0", seed=0, test_acc_best_val=80.0, test_acc_last=1.0),
            _row("x1", seed=1, test_acc_best_val=84.0, test_acc_last=1.0),
            _row("y0", method="lq", seed=0, test_acc_best_val=90.0, test_acc_last=1.0),
        ]
    )
    table = compare_with_paper(runs, "table1")
    assert len(table) == 144
    cce = table.set_index(["dataset", "method", "noise", "eta"]).loc[("cifar10", "cce", "uniform", 0.4)]
    assert cce["ours_mean"] == 82.0 and cce["ours_std"] == pytest.approx(math.sqrt(8.0))
    assert cce["n_runs"] == 2 and cce["paper_mean"] == 81.88 and cce["diff"] == pytest.approx(0.12)
    assert cce["profile"] == "smoke"
    lq = table.set_index(["dataset", "method", "noise", "eta"]).loc[("cifar10", "lq", "uniform", 0.4)]
    assert lq["n_runs"] == 1 and math.isnan(lq["ours_std"])
    assert table["ours_mean"].notna().sum() == 2
    assert list(table["dataset"].unique()) == ["fashion_mnist", "cifar10", "cifar100"]


def test_compare_with_paper_table2_uses_last_epoch_and_keeps_unmatched_methods():
    runs = pd.DataFrame(
        [
            _row("a", experiment="table2", noise="open_set", test_acc_best_val=1.0, test_acc_last=70.0),
            _row("b", experiment="table2", method="forward_t_hat", noise="open_set", test_acc_last=60.0),
        ]
    )
    table = compare_with_paper(runs, "table2").set_index(["method", "noise"])
    assert table.loc[("cce", "open_set"), "ours_mean"] == 70.0
    assert table.loc[("cce", "open_set"), "diff"] == pytest.approx(70.0 - 62.92)
    assert math.isnan(table.loc[("wang2018", "open_set"), "ours_mean"])  # the paper's, not run by us
    assert table.loc[("forward_t_hat", "open_set"), "diff"] == pytest.approx(60.0 - 64.18)  # paper's "Forward"


def _comparison(ours, paper, column=("cifar10", "uniform", 0.4)):
    methods = list(ours)
    return pd.DataFrame(
        {
            "dataset": column[0],
            "noise": column[1],
            "eta": column[2],
            "method": methods,
            "ours_mean": [ours[m] for m in methods],
            "paper_mean": [paper[m] for m in methods],
        }
    )


def test_rankings_within_a_column():
    comparison = pd.concat(
        [
            _comparison({"cce": 50.0, "mae": 40.0, "lq": 60.0}, {"cce": 80.0, "mae": 70.0, "lq": 75.0}),
            _comparison({"cce": 1.0, "mae": np.nan}, {"cce": 2.0, "mae": 3.0}, column=("cifar10", "uniform", 0.6)),
        ],
        ignore_index=True,
    )
    ranked = per_column_ranking(comparison).set_index(["eta", "method"])
    assert ranked.loc[0.4, "ours_rank"].tolist() == [2.0, 3.0, 1.0]
    assert ranked.loc[0.4, "paper_rank"].tolist() == [1.0, 3.0, 2.0]
    assert math.isnan(ranked.loc[(0.6, "mae"), "ours_rank"])


def test_atomic_path_leaves_the_old_file_when_writing_fails(tmp_path):
    from gce_lab.files import atomic_path

    target = tmp_path / "sub" / "file.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


# ----------------------------------------------------------------------------- the results store
def test_a_row_cut_mid_write_is_not_a_finished_run(tmp_path):
    write_run("table1", "smoke", _row("a"), [], tmp_path)
    write_run("table1", "smoke", _row("b"), [], tmp_path)
    path = tmp_path / "table1" / "smoke" / "runs.csv"
    text = path.read_text()
    path.write_text(text[: text.rindex("abc,") + 2])  # the last row stops inside its git commit
    with pytest.warns(UserWarning, match=f"{path}: 1 incomplete row"):
        assert finished_run_ids("table1", "smoke", tmp_path) == {"a"}
    with pytest.warns(UserWarning):
        runs, _ = load_results("table1", "smoke", tmp_path)
    assert list(runs["run_id"]) == ["a"]


def test_write_run_refuses_a_row_that_is_not_finished(tmp_path):
    with pytest.raises(ValueError, match="empty: \\['test_acc_last'\\]"):
        write_run("table1", "smoke", _row("a", test_acc_last=np.nan), [], tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "cannot be read \\(EmptyDataError"),
        (b"\x00\xff\xfe\x00binary\xff", "cannot be read"),
        (b"a,b\n1,2\n", "lacks the columns"),
    ],
)
def test_unreadable_runs_csv_is_named(tmp_path, content, message):
    path = tmp_path / "table1" / "smoke" / "runs.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(ResultsFileError, match=message) as info:
        finished_run_ids("table1", "smoke", tmp_path)
    assert str(path) in str(info.value) and "git checkout" in str(info.value)


def _write_rows(root, start, count):
    for i in range(start, start + count):
        write_run("table1", "smoke", _row(f"run{i}"), [{"run_id": f"run{i}", "epoch": 1}], root)


def test_concurrent_writers_lose_nothing(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_rows, args=(tmp_path, 20 * w, 20)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(600)  # spawned workers import torch: minutes on a loaded machine (beside a sweep)
        assert p.exitcode == 0
    runs, epochs = load_results("table1", "smoke", tmp_path)
    assert sorted(runs["run_id"]) == sorted(f"run{i}" for i in range(60)) and runs["run_id"].is_unique
    assert len(epochs) == 60
