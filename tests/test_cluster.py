"""Sweeps through submitit's local executor: real processes writing one results folder, a job
killed mid-run and the sweep submitted again, Forward T-hat after its CCE run, the options."""

from __future__ import annotations

import time

import pandas as pd
import pytest
import submitit

from gce_lab.pipeline import cli
from gce_lab.pipeline.cluster import RunJob, SlurmOptions, job_states, submit_runs
from gce_lab.pipeline.planning import Plan, Selection, plan
from gce_lab.pipeline.runner import Where, checkpoint_path


@pytest.fixture
def dirs(tmp_path):
    return {"root": tmp_path / "results", "checkpoints": tmp_path / "ckpt"}


def _submit(runs, dirs, parallelism=3):
    return submit_runs(runs, Where(**dirs), kind="local", options=SlurmOptions(parallelism=parallelism))


def test_jobs_at_once_into_one_folder_and_forward_t_hat_after_its_cce(dirs):
    runs = plan(
        Selection(
            "table1",
            "smoke",
            datasets=["cifar10"],
            methods=["cce", "mae", "lq", "forward_t_hat"],
            noises=["uniform0.2", "uniform0.4"],
            device="cpu",
        )
    )
    jobs = _submit(runs, dirs)
    assert len(jobs) == 8
    frame = pd.read_csv(dirs["root"] / "table1" / "smoke" / "runs.csv")
    assert sorted(frame["run_id"]) == sorted(r.run_id for r in runs.runs) and frame["run_id"].is_unique
    assert frame["job_id"].nunique() == 8 and frame["host"].notna().all()
    by_id = frame.set_index("run_id")
    for noise in ("uniform0.2", "uniform0.4"):
        cce, t_hat = by_id.loc[f"cifar10-cce-{noise}-s0"], by_id.loc[f"cifar10-forward_t_hat-{noise}-s0"]
        assert cce["finished_at"] <= t_hat["finished_at"] and pd.notna(t_hat["t_hat_error"])
    states = job_states("table1", "smoke", dirs["root"])
    assert set(states["state"]) == {"finished"} and len(states) == 8
    assert _submit(runs, dirs) == []  # everything finished: nothing submitted again


def test_a_job_killed_mid_run_resumes_when_the_sweep_is_submitted_again(dirs):
    runs = plan(Selection("fig1c", "smoke", epochs=40, device="cpu"))
    label = runs.label
    executor = submitit.LocalExecutor(folder=dirs["root"] / "jobs")
    victim = runs.runs[0]
    job = executor.submit(RunJob(), Plan(runs.selection, (victim,)), Where(**dirs))
    ckpt = checkpoint_path(victim.spec, dirs["checkpoints"])
    deadline = time.time() + 120
    while not ckpt.is_file() and time.time() < deadline:
        time.sleep(0.2)
    assert ckpt.is_file(), "the job never checkpointed"
    job.cancel()  # killed mid-run: its checkpoint stays, its row was never written
    deadline = time.time() + 30
    while not job.done() and time.time() < deadline:
        time.sleep(0.2)
    assert not (dirs["root"] / "fig1c" / label / "runs.csv").is_file()
    _submit(runs, dirs)
    frame = pd.read_csv(dirs["root"] / "fig1c" / label / "runs.csv")
    assert sorted(frame["run_id"]) == sorted(r.run_id for r in runs.runs) and frame["run_id"].is_unique
    epochs = pd.read_csv(dirs["root"] / "fig1c" / label / "epochs.csv")
    assert (epochs.groupby("run_id")["epoch"].apply(list) == [list(range(1, 41))] * 2).all()
    assert not ckpt.exists()  # removed once the run was recorded


def test_slurm_options_from_a_file_and_the_command_line(tmp_path):
    config = tmp_path / "slurm.toml"
    config.write_text('partition = "gpu"\ngpus_per_node = 2\ntimeout_min = 600\n')
    options = SlurmOptions.from_toml(config, timeout_min=90, mem_gb=None)
    assert (options.partition, options.gpus_per_node, options.timeout_min, options.mem_gb) == ("gpu", 2, 90, 32)
    config.write_text('queue = "gpu"\n')
    with pytest.raises(ValueError, match="unknown keys \\['queue'\\]"):
        SlurmOptions.from_toml(config)
    with pytest.raises(ValueError, match="parallelism must be an integer >= 1"):
        SlurmOptions(parallelism=0)


def test_command_line_executors(tmp_path, capsys):
    argv = [
        "run",
        "fig1c",
        "--profile",
        "smoke",
        "--results-dir",
        str(tmp_path / "r"),
        "--checkpoints-dir",
        str(tmp_path / "c"),
    ]
    assert cli.main([*argv, "--executor", "cluster"]) == 2
    assert "executor must be one of 'inline', 'local', 'slurm'" in capsys.readouterr().err
    assert cli.main([*argv, "--executor", "local", "--parallelism", "2"]) == 0
    assert "2 jobs of fig1c (smoke) finished with the local executor" in capsys.readouterr().out
    assert cli.main(["status", "fig1c", "--profile", "smoke", "--results-dir", str(tmp_path / "r")]) == 0
    assert "jobs: 2 finished" in capsys.readouterr().out
