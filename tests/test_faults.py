"""Faults, round 3: the results store, long runs and the command line, tried as a careless user, a
crashed job and a full disk would. Every case must end in a clear error naming the file or flag
(on the command line: exit status 2 and one line), before any long work, and with nothing
finished lost: a damaged file is refused, never rewritten without its rows.

The tables below hold the cases; ``test_round_three_catalogue_size`` counts them.
"""

from __future__ import annotations

import dataclasses
import errno
import io
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from gce_lab import noise
from gce_lab.datasets import dataset_info
from gce_lab.pipeline import cli, cluster, data_files, run_data, runner
from gce_lab.pipeline import train as trainer
from gce_lab.pipeline.bench import lab_run, run_benchmark
from gce_lab.pipeline.models import make_model, tiny_net
from gce_lab.pipeline.planning import Selection, plan
from gce_lab.pipeline.results import (
    RUN_COLUMNS,
    ResultsFileError,
    failed_runs,
    finished_run_ids,
    load_results,
    load_t_hat,
    save_t_hat,
    t_hat_path,
    write_run,
)
from gce_lab.pipeline.runner import Where
from gce_lab.pipeline.train import TrainConfig, TrainingDiverged, train


# ----------------------------------------------------------------------------- a store to damage
def _row(run_id: str, **values) -> dict:
    row = {c: np.nan for c in RUN_COLUMNS}
    row.update(
        experiment="fig1c",
        profile="smoke",
        run_id=run_id,
        dataset="cifar10",
        method="cce",
        noise="uniform",
        eta=0.4,
        seed=0,
        lr=0.001,
        test_acc_best_val=50.0,
        test_acc_last=49.0,
        git_commit="abc",
        finished_at="2026-12-01T00:00:00+00:00",
    )
    row.update(values)
    return row


def _epochs(run_id: str, n: int = 2) -> list[dict]:
    return [
        {"experiment": "fig1c", "profile": "smoke", "run_id": run_id, "epoch": e, "val_acc": 10.0 * e}
        for e in range(1, n + 1)
    ]


@pytest.fixture
def store(tmp_path):
    """A results root with two finished fig1c/smoke runs; returns (root, folder)."""
    root = tmp_path / "results"
    for run_id in ("a", "b"):
        write_run("fig1c", "smoke", _row(run_id), _epochs(run_id), root)
    return root, root / "fig1c" / "smoke"


def _drop_column(column):
    return lambda text: pd.read_csv(io.StringIO(text)).drop(columns=column).to_csv(index=False)


def _set_value(column, value):
    def damage(text):
        frame = pd.read_csv(io.StringIO(text))
        frame[column] = frame[column].astype(object)
        frame.loc[0, column] = value
        return frame.to_csv(index=False)

    return damage


_KEY_COLUMNS = ("experiment", "profile", "dataset", "method", "noise", "eta", "seed")
_REQUIRED = ("run_id", "test_acc_best_val", "test_acc_last", "git_commit", "finished_at")
_NUMERIC = ("q", "k", "eta", "seed", "epochs", "lr", "batch_size", "realised_noise_rate", "wall_time_s")
_ACCURACIES = ("best_val_acc", "test_acc_best_val", "test_acc_last")

RUNS_DAMAGE = [
    *[(f"no column {c}", _drop_column(c), "lacks the columns") for c in (*_KEY_COLUMNS, *_REQUIRED)],
    ("a run twice, same numbers", lambda t: t + t.splitlines()[1] + "\n", "more than once"),
    ("a run twice, other numbers", lambda t: t + t.splitlines()[1].replace(",50,", ",80,") + "\n", "more than once"),
    ("two files put together", lambda t: t + t, "second header line"),
    ("a header line in the middle", lambda t: t.splitlines()[0] + "\n" + t, "second header line"),
    *[(f"text in {c}", _set_value(c, "abc"), f"column {c} must hold a number") for c in _NUMERIC],
    *[(f"text in {c}", _set_value(c, "high"), f"column {c} must hold a percentage") for c in _ACCURACIES],
    *[
        (f"{c} = {v}", _set_value(c, v), f"column {c} must hold a percentage")
        for c in ("test_acc_best_val", "test_acc_last")
        for v in (-1.0, 100.5, 1e9)
    ],
    ("empty file", lambda t: "", "cannot be read"),
    ("binary garbage", lambda t: "\x00\x01\x02", "lacks the columns"),
    ("an unclosed quote", lambda t: t + '"c,\n', "cannot be read"),
]


@pytest.mark.parametrize("what, damage, message", RUNS_DAMAGE, ids=[c[0] for c in RUNS_DAMAGE])
def test_damaged_runs_csv_is_refused_and_kept(store, capsys, what, damage, message):
    root, folder = store
    path = folder / "runs.csv"
    path.write_text(damage(path.read_text()))
    before = path.read_bytes()
    with pytest.raises(ResultsFileError, match=message) as info:
        finished_run_ids("fig1c", "smoke", root)
    assert str(path) in str(info.value)
    with pytest.raises(ResultsFileError, match=message):  # the next write refuses: no row is dropped
        write_run("fig1c", "smoke", _row("c"), _epochs("c"), root)
    assert path.read_bytes() == before
    assert cli.main(["status", "fig1c", "--results-dir", str(root)]) == 2  # status says what is wrong
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0]


def test_a_store_of_an_older_version_keeps_its_rows_on_the_next_write(store):
    root, folder = store
    path = folder / "runs.csv"
    path.write_text(_drop_column("channels_last")(path.read_text()))  # an optional column, missing
    write_run("fig1c", "smoke", _row("c"), _epochs("c"), root)
    assert finished_run_ids("fig1c", "smoke", root) == {"a", "b", "c"}


def test_a_cut_row_of_another_run_stays_in_the_file(store):
    root, folder = store
    path = folder / "runs.csv"
    frame = pd.read_csv(path)
    frame.loc[1, "finished_at"] = np.nan  # b was cut mid-write
    frame.to_csv(path, index=False)
    write_run("fig1c", "smoke", _row("c"), _epochs("c"), root)
    assert set(pd.read_csv(path)["run_id"]) == {"a", "b", "c"}
    with pytest.warns(UserWarning, match="1 incomplete row"):
        assert finished_run_ids("fig1c", "smoke", root) == {"a", "c"}


def test_accuracies_load_as_numbers(store):
    runs, _ = load_results("fig1c", "smoke", store[0])
    assert all(pd.api.types.is_numeric_dtype(runs[c]) for c in ("test_acc_best_val", "test_acc_last", "eta", "seed"))


EPOCHS_DAMAGE = [
    *[(f"no column {c}", _drop_column(c), "lacks the columns") for c in ("experiment", "profile", "run_id", "epoch")],
    ("an epoch twice", lambda t: t + t.splitlines()[1] + "\n", "more than once"),
    ("two files put together", lambda t: t + t, "second header line"),
    ("empty file", lambda t: "", "cannot be read"),
]


@pytest.mark.parametrize("what, damage, message", EPOCHS_DAMAGE, ids=[c[0] for c in EPOCHS_DAMAGE])
def test_damaged_epochs_csv_is_refused_before_training(store, monkeypatch, what, damage, message):
    root, folder = store
    path = folder / "epochs.csv"
    path.write_text(damage(path.read_text()))
    before = path.read_bytes()
    trained = []
    monkeypatch.setattr(runner, "_train_and_record", lambda *a, **k: trained.append(a))
    with pytest.raises(ResultsFileError, match=message) as info:
        runner.run_experiment(plan(Selection("fig1c", "smoke")), Where(root, root.parent / "ckpt"))
    assert str(path) in str(info.value) and not trained and path.read_bytes() == before
    with pytest.raises(ResultsFileError, match=message):
        load_results("fig1c", "smoke", root)


JOBS_DAMAGE = [
    ("foreign columns", "a,b\n1,2\n", "lacks the columns"),
    ("empty", "", "cannot be read"),
    *[
        (f"no column {c}", ",".join(x for x in ("run_id", "job_id", "executor", "folder") if x != c) + "\nx,y,z\n", c)
        for c in ("run_id", "job_id", "executor", "folder")
    ],
    (
        "two files put together",
        "run_id,job_id,executor,folder,submitted_at\nr,1,local,f,t\nrun_id,job_id,executor,folder,submitted_at\n",
        "second header line",
    ),
]


@pytest.mark.parametrize("what, content, message", JOBS_DAMAGE, ids=[c[0] for c in JOBS_DAMAGE])
def test_damaged_jobs_csv_is_named_by_status(store, capsys, what, content, message):
    root, folder = store
    path = folder / "jobs.csv"
    path.write_text(content)
    with pytest.raises(ResultsFileError, match=message):
        cluster.job_states("fig1c", "smoke", root)
    assert cli.main(["status", "fig1c", "--results-dir", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"results file {path}" in err[0]


def test_a_results_file_that_is_a_folder_is_named(store):
    root, folder = store
    (folder / "failed.csv").mkdir()
    with pytest.raises(ResultsFileError, match="must be a file, not a folder"):
        failed_runs("fig1c", "smoke", root)


# ----------------------------------------------------------------------------- T̂
_T_HAT_DAMAGE = [
    ("two rows", pd.DataFrame(np.full((2, 10), 0.1)).to_csv(index=False), "square .* got shape \\(2, 10\\)"),
    ("not square", pd.DataFrame(np.full((10, 9), 1 / 9)).to_csv(index=False), "square"),
    ("rows off", pd.DataFrame(np.full((10, 10), 0.2)).to_csv(index=False), "row-stochastic"),
    ("a NaN", pd.DataFrame(np.eye(10)).replace(1.0, np.nan).to_csv(index=False), "nan or inf"),
    ("negative", pd.DataFrame(np.eye(10) * 2 - np.eye(10, k=1)).to_csv(index=False), "T̂"),
    ("text", "0,1\na,b\n", "T̂"),
    ("empty", "", "T̂"),
]


@pytest.mark.parametrize("what, content, message", _T_HAT_DAMAGE, ids=[c[0] for c in _T_HAT_DAMAGE])
def test_damaged_t_hat_is_named_with_how_to_repair_it(tmp_path, what, content, message):
    path = t_hat_path("table1", "smoke", "cce_run", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(ResultsFileError, match=message) as info:
        load_t_hat("table1", "smoke", "cce_run", tmp_path, num_classes=10)
    assert str(path) in str(info.value) and "delete it" in str(info.value)


def _forward_t_hat_plan():
    return plan(Selection("table1", "smoke", datasets=["cifar10"], methods=["forward_t_hat"], noises=["uniform0.2"]))


def test_a_lost_t_hat_trains_its_finished_cce_run_again(tmp_path):
    planned = _forward_t_hat_plan()
    cce, forward = planned.runs[0].spec, planned.runs[1].spec
    where = Where(tmp_path / "r", tmp_path / "c")
    write_run("table1", "smoke", _row(cce.run_id, experiment="table1"), [], where.root)
    with pytest.warns(UserWarning, match=f"T̂ of the finished CCE run {cce.run_id} is lost"):
        todo = runner.runs_to_train(planned, where)
    assert [r.spec.run_id for r in todo] == [cce.run_id, forward.run_id]
    save_t_hat("table1", "smoke", cce.run_id, np.eye(10), where.root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [r.spec.run_id for r in runner.runs_to_train(planned, where)] == [forward.run_id]


def test_a_lost_t_hat_is_not_submitted_to_jobs_that_cannot_estimate_it(tmp_path):
    planned = _forward_t_hat_plan()
    where = Where(tmp_path / "r", tmp_path / "c")
    write_run("table1", "smoke", _row(planned.runs[0].spec.run_id, experiment="table1"), [], where.root)
    with pytest.warns(UserWarning, match="is lost"), pytest.raises(ValueError, match="estimate it again in this"):
        cluster.submit_runs(planned, where, kind="local", options=cluster.SlurmOptions())
    assert not (where.root / "table1" / "smoke" / "jobs.csv").exists()


def test_a_damaged_t_hat_is_refused_before_training(tmp_path):
    planned = _forward_t_hat_plan()
    cce = planned.runs[0].spec
    where = Where(tmp_path / "r", tmp_path / "c")
    write_run("table1", "smoke", _row(cce.run_id, experiment="table1"), [], where.root)
    t_hat_path("table1", "smoke", cce.run_id, where.root).parent.mkdir(parents=True)
    t_hat_path("table1", "smoke", cce.run_id, where.root).write_text("0,1\n0.5,0.5\n")
    with pytest.raises(ResultsFileError, match="T̂ file .* is damaged"):
        runner.runs_to_train(planned, where)


# ----------------------------------------------------------------------------- long runs
def test_a_checkpoints_path_that_is_a_file_fails_before_training(tmp_path, monkeypatch):
    blocker = tmp_path / "ckpt"
    blocker.write_text("a file")
    trained = []
    monkeypatch.setattr(runner, "_train_and_record", lambda *a, **k: trained.append(a))
    with pytest.raises(ValueError, match=f"checkpoints folder {blocker}/fig1c/smoke must be a writable folder"):
        runner.run_experiment(plan(Selection("fig1c", "smoke")), Where(tmp_path / "r", blocker))
    assert not trained


_ONE_CELL = ["--dataset", "cifar10", "--methods", "cce", "--noise", "uniform0.4", "--seeds", "0"]


def test_a_diverged_run_fails_is_recorded_and_never_a_result(tmp_path, capsys):
    selection = Selection("table1", "smoke", ["cifar10"], ["cce"], ["uniform0.4"], [0])
    planned = plan(selection).runs[0]
    diverging = dataclasses.replace(planned, config=dataclasses.replace(planned.config, lr=1e8))  # SGD
    where = Where(tmp_path / "r", tmp_path / "c")
    with pytest.raises(RuntimeError, match=r"failed: training diverged: the training loss was nan at epoch \d"):
        runner._train_and_record(diverging, where, progress=False, command="test", download=False)
    assert finished_run_ids("table1", "smoke", where.root) == set()
    reason = failed_runs("table1", "smoke", where.root)[planned.spec.run_id]
    assert reason.startswith("diverged at epoch")
    table = runner.experiment_status(plan(selection), where)
    assert table.set_index("run_id").loc[planned.spec.run_id, "state"] == f"failed ({reason})"
    assert cli.main(["status", "table1", *_ONE_CELL, "--results-dir", str(where.root)]) == 0
    assert "1 failed" in capsys.readouterr().out
    write_run("table1", "smoke", _row(planned.spec.run_id, experiment="table1"), [], where.root)
    assert failed_runs("table1", "smoke", where.root) == {}  # finished later: no longer failed


def test_train_names_the_epoch_of_a_non_finite_loss(noisy_synthetic_cifar10, tmp_path):
    path = tmp_path / "run.pt"
    with pytest.raises(TrainingDiverged, match="at epoch 1") as info:
        train(
            tiny_net(10, 3),
            noisy_synthetic_cifar10(40, 16),
            TrainConfig("cce", epochs=2, lr=1e8, batch_size=4),
            checkpoint_path=path,
        )
    assert info.value.epoch == 1 and not math.isfinite(info.value.loss) and not path.exists()


@pytest.mark.parametrize("value", [math.nan, math.inf, -5.0, 250.0])
def test_write_run_refuses_an_accuracy_that_is_no_result(tmp_path, value):
    with pytest.raises(ValueError, match="test_acc_last"):
        write_run("fig1c", "smoke", _row("x", test_acc_last=value), [], tmp_path)
    assert not (tmp_path / "fig1c" / "smoke" / "runs.csv").exists()


def test_a_checkpoint_of_another_network_is_ignored(noisy_synthetic_cifar10, tmp_path):
    data_ = noisy_synthetic_cifar10(40, 16)
    config = TrainConfig("cce", epochs=1, batch_size=18)
    path = tmp_path / "run.pt"
    train(tiny_net(10, 3), data_, config, checkpoint_path=path)
    with pytest.warns(UserWarning, match="belong to another network"):
        result = train(make_model("small_net", 10, 3), data_, config, checkpoint_path=path)
    assert result.resumed_from_epoch == 0


def test_a_full_disk_while_checkpointing_names_the_file(noisy_synthetic_cifar10, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    monkeypatch.setattr(trainer.torch, "save", full)
    path = tmp_path / "run.pt"
    with pytest.raises(OSError, match=f"checkpoint {path} could not be written .*disk full"):
        train(tiny_net(10, 3), noisy_synthetic_cifar10(40, 16), TrainConfig("cce", epochs=1), checkpoint_path=path)
    assert list(tmp_path.iterdir()) == []  # no temporary file left


def test_a_full_disk_while_writing_results_names_the_file_and_keeps_it(store, monkeypatch):
    root, folder = store
    before = (folder / "runs.csv").read_bytes()

    def full(self, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    with pytest.raises(OSError, match="epochs.csv could not be written: No space left"):
        write_run("fig1c", "smoke", _row("c"), _epochs("c"), root)
    assert (folder / "runs.csv").read_bytes() == before


def test_ctrl_c_says_in_one_line_that_the_checkpoint_is_kept(monkeypatch, capsys):
    def interrupt(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run", interrupt)
    assert cli.main(["run", "fig1c"]) == 130
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "checkpoint" in lines[0] and "Traceback" not in captured.err


# ----------------------------------------------------------------------------- the command line
@pytest.mark.parametrize(
    "flag, values, key",
    [
        ("--methods", ("cce", "mae"), "method"),
        ("--dataset", ("cifar10", "fashion_mnist"), "dataset"),
        ("--noise", ("uniform0.2", "uniform0.4"), "noise"),
        ("--seeds", ("0", "1"), "seed"),
    ],
)
def test_list_flags_add_up(flag, values, key):
    args = cli.build_parser().parse_args(["run", "table1", flag, values[0], flag, values[1]])
    assert {str(getattr(r.spec, key)) for r in cli._plan(args).runs} == set(values)


def test_bench_list_flags_add_up():
    args = cli.build_parser().parse_args(["bench", "--models", "tiny_net", "--models", "cpu_net"])
    assert args.models == ["tiny_net", "cpu_net"]
    args = cli.build_parser().parse_args(["bench", "--lab-run", "table1", "--lab-run", "fig1ab"])
    assert args.lab_run == ["table1", "fig1ab"]


_SLURM_ONLY = [["--partition", "gpu"], ["--gpus", "-3"], ["--cpus", "4"], ["--mem-gb", "8"], ["--slurm-config", "x"]]
_JOBS_ONLY = [["--time-min", "10"], ["--parallelism", "2"], ["--jobs-dir", "j"]]
_INLINE_ONLY = [["--no-progress"]]  # --compile/--no-compile reach the jobs too (issue 26)
FLAG_CASES = [
    *[(["--executor", "inline", *f], "not apply to --executor inline") for f in _SLURM_ONLY + _JOBS_ONLY],
    *[(f, "not apply to --executor inline") for f in _SLURM_ONLY + _JOBS_ONLY],  # inline: the default
    *[(["--executor", "local", *f], "not apply to --executor local") for f in _SLURM_ONLY + _INLINE_ONLY],
    *[(["--executor", "slurm", *f], "not apply to --executor slurm") for f in _INLINE_ONLY],
    (["--results-dir", ""], "--results-dir must be a path, got ''"),
    (["--results-dir", "  "], "--results-dir must be a path"),
    (["--checkpoints-dir", ""], "--checkpoints-dir must be a path"),
    (["--executor", "local", "--jobs-dir", ""], "--jobs-dir must be a path"),
    (["--executor", "slurm", "--slurm-config", ""], "--slurm-config must be a path"),
    (["--executor", "local", "--time-min", "0"], "timeout_min must be an integer >= 1"),
    (["--executor", "slurm", "--gpus", "-3"], "gpus_per_node must be an integer >= 0"),
]


@pytest.mark.parametrize("extra, message", FLAG_CASES, ids=[" ".join(c[0]) or "-" for c in FLAG_CASES])
def test_flags_that_do_not_apply_are_refused(extra, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written here
    assert cli.main(["run", "fig1c", *extra]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert list(tmp_path.iterdir()) == []


BENCH_FLAG_CASES = [
    ["--models", "cpu_net"],
    ["--steps", "2"],
    ["--warmup", "1"],
    ["--repeats", "1"],
    ["--batch-size", "8"],
    ["--workers", "0"],
    ["--probe-factor", "0"],
    ["--full-epoch"],
]


@pytest.mark.parametrize("extra", BENCH_FLAG_CASES, ids=[c[0] for c in BENCH_FLAG_CASES])
def test_throughput_flags_are_refused_with_lab_run(extra, capsys):
    assert cli.main(["bench", "--size", "tiny", "--lab-run", *extra]) == 2
    assert "apply only to the throughput benchmark" in capsys.readouterr().err


def test_bench_refuses_an_empty_out(capsys):
    assert cli.main(["bench", "--size", "tiny", "--out", ""]) == 2
    assert "--out must be a path" in capsys.readouterr().err


@pytest.mark.parametrize(
    "call",
    [
        lambda out: run_benchmark("tiny", ["tiny_net"], device="cpu", out=out, quiet=True),
        lambda out: lab_run("tiny", ["table1"], device="cpu", out=out, quiet=True),
    ],
    ids=["throughput", "lab run"],
)
def test_an_existing_bench_output_is_refused_before_timing(tmp_path, call):
    path = tmp_path / "earlier.json"
    path.write_text('{"earlier": true}')
    with pytest.raises(ValueError, match=f"bench output {path} already exists"):
        call(path)
    assert path.read_text() == '{"earlier": true}'
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="bench output folder .* must be a writable folder"):
        call(blocker / "x.json")


# ----------------------------------------------------------------------------- data files
def _fashion_snapshot(folder, n_train=20, n_test=10):
    path = folder / "fashion_mnist.npz"
    np.savez(
        path,
        x_train=np.zeros((n_train, 28, 28), np.uint8),
        y_train=np.arange(n_train) % 10,
        x_test=np.zeros((n_test, 28, 28), np.uint8),
        y_test=np.arange(n_test) % 10,
        classes=np.array(dataset_info("fashion_mnist").classes),
    )
    return path


@pytest.mark.parametrize("sizes, split", [((0, 10), "x_train"), ((20, 0), "x_test"), ((0, 0), "x_train")])
def test_an_empty_snapshot_is_named(tmp_path, sizes, split):
    path = _fashion_snapshot(tmp_path, *sizes)
    with pytest.raises(data_files.DataFileError, match=f"data file {path} holds no images in {split}"):
        data_files.read_snapshot(path, "fashion_mnist")


def test_a_snapshot_smaller_than_the_profile_subset_is_named(tmp_path, monkeypatch):
    path = _fashion_snapshot(tmp_path)
    monkeypatch.setenv("GCE_LAB_DATA", str(tmp_path))
    planned = plan(Selection("table1", "cpu", datasets=["fashion_mnist"], methods=["cce"], noises=["uniform0.4"]))
    with pytest.raises(ValueError, match=f"25000 images of fashion_mnist.*snapshot {path}\\) holds only 20"):
        run_data.build_run_data(planned.runs[0])


def _jpeg_snapshot(folder):
    from PIL import Image

    def jpegs(n):
        chunks = []
        for i in range(n):
            buffer = io.BytesIO()
            Image.fromarray(np.full((32, 32, 3), 20 * i, np.uint8)).save(buffer, format="JPEG")
            chunks.append(np.frombuffer(buffer.getvalue(), np.uint8))
        return np.concatenate(chunks), np.cumsum([0, *(c.size for c in chunks)])

    (jt, ot), (js, os_) = jpegs(10), jpegs(10)
    path = folder / "cifar10_jpeg.npz"
    classes = np.array(dataset_info("cifar10").classes)
    y = np.arange(10)
    np.savez(path, jpeg_train=jt, off_train=ot, y_train=y, jpeg_test=js, off_test=os_, y_test=y, classes=classes)
    return path


def test_an_unwritable_decode_cache_costs_time_not_the_load(tmp_path, monkeypatch):
    path = _jpeg_snapshot(tmp_path)
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GCE_LAB_CACHE", str(blocker))
    with pytest.warns(UserWarning, match="decode cache .* cannot be written"):
        arrays = data_files.read_snapshot(path, "cifar10")
    assert arrays["x_train"].shape == (10, 3, 32, 32)


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 cut", b"not a zip at all"], ids=["empty", "cut", "garbage"])
def test_a_damaged_decode_cache_is_decoded_again(tmp_path, monkeypatch, damage):
    path = _jpeg_snapshot(tmp_path)
    monkeypatch.setenv("GCE_LAB_CACHE", str(tmp_path / "cache"))
    first = data_files.read_snapshot(path, "cifar10")
    (cached,) = (tmp_path / "cache").iterdir()
    cached.write_bytes(damage)
    with pytest.warns(UserWarning, match=f"data file {cached} cannot be read.*decoding cifar10_jpeg.npz again"):
        again = data_files.read_snapshot(path, "cifar10")
    np.testing.assert_array_equal(again["x_train"], first["x_train"])
    assert data_files.read_snapshot(path, "cifar10")["x_train"].shape == (10, 3, 32, 32)  # the cache is whole again


# ----------------------------------------------------------------------------- types and sizes
NUMPY_CONFIG_CASES = [
    ("batch_size", np.int64(64)),
    ("lr", np.float32(0.05)),
    ("epochs", np.int32(1)),
    ("seed", np.int64(3)),
    ("q", np.float64(0.5)),
    ("k", np.float16(0.5)),
    ("momentum", np.float32(0.8)),
    ("weight_decay", np.float64(0.0)),
    ("eval_batch_size", np.uint16(512)),
    ("lr_decay", torch.tensor(0.5)),
]


@pytest.mark.parametrize("field, value", NUMPY_CONFIG_CASES, ids=[c[0] for c in NUMPY_CONFIG_CASES])
def test_numpy_numbers_in_a_config_become_python_numbers(field, value):
    config = TrainConfig(**{"method": "cce", "epochs": 1, field: value})
    assert type(getattr(config, field)) in (int, float)
    assert trainer.fingerprint  # the settings are hashed as JSON: this must not fail
    import json

    json.dumps(dataclasses.asdict(config))


def test_train_accepts_numpy_numbers(noisy_synthetic_cifar10, tmp_path):
    config = TrainConfig("cce", epochs=np.int64(1), batch_size=np.int64(18), lr=np.float32(0.05))
    result = train(tiny_net(10, 3), noisy_synthetic_cifar10(40, 16), config, checkpoint_path=tmp_path / "run.pt")
    assert len(result.history) == 1


def test_selection_takes_numpy_seeds_and_epochs():
    selection = Selection("fig1c", "smoke", seeds=[np.int64(1)], epochs=np.int64(2))
    assert selection.seeds == (1,) and type(selection.seeds[0]) is int and selection.label == "smoke_epochs2"


def test_corrupting_an_empty_list_gives_empty_labels():
    result = noise.make_noise("uniform", 0.2, "cifar10").corrupt([], 0)
    assert result.labels.shape == (0,) and result.labels.dtype == np.int64 and result.realised_rate == 0.0


@pytest.mark.parametrize(
    "labels",
    [np.array([0.0, 1.0, 2.0]), np.array([0, -1, 2]), np.array([True, False, True]), np.array(["a", "b", "c"])],
    ids=["float", "negative", "bool", "text"],
)
def test_training_subset_refuses_labels_that_are_not_class_indices(labels):
    with pytest.raises(ValueError, match="labels must hold integer class indices >= 0"):
        noise.training_subset(labels, 2)


@pytest.mark.parametrize(
    "kind, eta, dataset, classes",
    [("uniform", 0.4, None, 7), ("uniform", 0.9, "cifar10", 10), ("class_dependent", 0.3, "fashion_mnist", 10)],
)
def test_row_by_row_noise_draws_the_labels_of_the_dense_matrix(kind, eta, dataset, classes):
    model = (
        noise.make_noise(kind, eta, dataset, num_classes=classes)
        if dataset is None
        else noise.make_noise(kind, eta, dataset)
    )
    labels = np.random.default_rng(1).integers(0, classes, 5000)
    cdf = np.cumsum(model.transition_matrix(), axis=1)
    cdf[:, -1] = 1.0
    uniforms = np.random.default_rng(7).random(labels.size)
    dense = np.array([np.searchsorted(cdf[y], u, side="right") for y, u in zip(labels, uniforms)])
    np.testing.assert_array_equal(model.corrupt(labels, 7).labels, dense)


def test_uniform_noise_over_21841_classes_needs_no_dense_matrix(monkeypatch):
    import tracemalloc

    model = noise.make_noise("uniform", 0.4, num_classes=21841)
    monkeypatch.setattr(noise.NoiseModel, "transition_matrix", lambda self: pytest.fail("dense matrix built"))
    tracemalloc.start()
    result = model.corrupt(np.arange(21841 * 2) % 21841, 0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20 and 0.38 < result.realised_rate < 0.42


# ----------------------------------------------------------------------------- the count
def test_round_three_catalogue_size():
    tables = [RUNS_DAMAGE, EPOCHS_DAMAGE, JOBS_DAMAGE, _T_HAT_DAMAGE, FLAG_CASES, BENCH_FLAG_CASES, NUMPY_CONFIG_CASES]
    assert sum(map(len, tables)) >= 100  # with the parametrised and single tests above: 150 cases
