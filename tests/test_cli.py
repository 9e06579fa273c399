"""``python -m gce_lab``: run a smoke cell end to end, status, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gce_lab.pipeline.cli import main
from gce_lab.pipeline.provenance import REPO_ROOT
from gce_lab.pipeline.results import load_results


def test_run_smoke_cell_then_status(tmp_path, capsys):
    results, checkpoints = tmp_path / "results", tmp_path / "checkpoints"
    command = [
        sys.executable,
        "-m",
        "gce_lab",
        "run",
        "table1",
        "--profile",
        "smoke",
        "--dataset",
        "fashion_mnist",
        "--noise",
        "uniform0.4",
        "--results-dir",
        str(results),
        "--checkpoints-dir",
        str(checkpoints),
        "--no-progress",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "6 runs of table1 (smoke) finished" in done.stdout
    assert done.stderr == ""  # --no-progress: no bars
    runs, epochs = load_results("table1", "smoke", results)
    assert sorted(runs["method"]) == sorted(["cce", "mae", "lq", "truncated_lq", "forward_t", "forward_t_hat"])
    assert runs["command"].str.startswith("python -m gce_lab run table1 --profile smoke").all()
    assert len(epochs) == 6 * 3

    assert (
        main(
            [
                "status",
                "table1",
                "--profile",
                "smoke",
                "--results-dir",
                str(results),
                "--checkpoints-dir",
                str(checkpoints),
                "--dataset",
                "fashion_mnist",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "table1 (smoke): 6 done, 0 partial, 42 to do, of 48 runs" in out
    assert "1/8" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "table5"], "experiment must be one of"),
        (["status", "table1", "--profile", "fast"], "profile must be one of 'smoke', 'cpu', 'lab', 'paper'"),
        (["status", "table1", "--noise", "uniform"], "noise must be <kind><eta>"),
        (["status", "table1", "--seeds", "x"], "seeds must be integers"),
    ],
)
def test_bad_arguments_exit_2_with_the_allowed_values(argv, message, capsys, tmp_path):
    assert main([*argv, "--results-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_list_shows_experiments_and_profiles(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("fig1ab", "fig1c", "fig2", "table1", "table2", "smoke", "cpu", "lab", "paper"):
        assert name in out


def test_status_with_epoch_override_uses_its_label(capsys, tmp_path):
    assert main(["status", "fig1c", "--epochs", "2", "--results-dir", str(tmp_path), "--runs"]) == 0
    out = capsys.readouterr().out
    assert "fig1c (smoke_epochs2): 0 done, 0 partial, 2 to do, of 2 runs" in out
    assert "cifar10-lq-q0.7-uniform0.4-s0" in out


# ----------------------------------------------------------------------------- as a newcomer meets it
def test_help_is_plain_text_and_names_the_valid_choices(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    run = " ".join(capsys.readouterr().out.split())
    for text in (top, run):
        assert "``" not in text and "::" not in text and ":data:" not in text  # no reStructuredText
    assert "examples:" in top and "human-stats" in top
    assert "cce, mae, lq, truncated_lq, forward_t, forward_t_hat" in run
    assert "data sets among cifar10, cifar100, fashion_mnist" in run and "uniform, class_dependent" in run


def test_a_closed_pipe_ends_the_listing_quietly():
    listing = subprocess.Popen(
        [sys.executable, "-m", "gce_lab", "list"], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    listing.stdout.close()  # the reader is gone before anything is written, as after `| head -0`
    assert listing.wait(timeout=60) == 0
    assert listing.stderr.read() == b""


def test_human_stats_without_the_label_file_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GCE_LAB_DATA", str(tmp_path))
    assert main(["human-stats", "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert "CIFAR-10_human.pt not found" in err and "--download" in err and "Traceback" not in err
    assert main(["human-stats", "--dataset", "mnist"]) == 2
    assert "dataset must be one of" in capsys.readouterr().err
