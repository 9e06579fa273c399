"""Colab and other installs: the repository address in one place, an install cell that can run
twice, downloads allowed on Colab, and a non-editable install that keeps its checkpoints out of
``site-packages`` and names the commit it came from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import gce_lab.pipeline.provenance as provenance
import gce_lab.pipeline.runner as runner
from gce_lab.book import REPOSITORY_URL, colab_install_cell

ROOT = Path(__file__).resolve().parents[1]


def test_the_book_config_and_intro_name_the_one_repository():
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    assert config["repository"]["url"] == REPOSITORY_URL
    assert f"git clone {REPOSITORY_URL} " in (ROOT / "book" / "intro.md").read_text()
    assert f'"{REPOSITORY_URL}"' in colab_install_cell()


def _run_cell(clone: Path, monkeypatch) -> list[list[str]]:
    """Execute the install cell as Colab would (``google.colab`` imported), cloning into ``clone``;
    git and pip are recorded, and the clone is made as git would make it."""
    calls: list[list[str]] = []

    def fake_run(command, check):
        calls.append(list(command))
        if command[:2] == ["git", "clone"]:
            (Path(command[-1]) / ".git").mkdir(parents=True)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setitem(sys.modules, "google.colab", object())
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(colab_install_cell().replace('"/content/gce-lab"', repr(str(clone))), {})
    return calls


def test_the_install_cell_runs_twice_cloning_once_and_installing_editable(tmp_path, monkeypatch):
    clone = tmp_path / "gce-lab"
    first = _run_cell(clone, monkeypatch)
    second = _run_cell(clone, monkeypatch)
    assert [c[:2] for c in first] == [["git", "clone"], [sys.executable, "-m"]]
    assert second == first[1:]  # the clone exists: only the (idempotent) install runs again
    assert first[1][-2:] == ["-e", f"{clone}[book]"] and sys.path.count(str(clone)) == 1


def test_the_install_cell_does_nothing_off_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("ran a command off Colab"))
    exec(colab_install_cell(), {})


def test_colab_is_recognised_in_its_kernel_and_in_commands_started_from_it(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert not provenance.on_colab()
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20250101-060000_RC00")
    assert provenance.on_colab()


def test_a_non_editable_install_checkpoints_in_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(runner.CHECKPOINTS_ENV, raising=False)
    monkeypatch.setenv("GCE_LAB_CACHE", str(tmp_path / "cache"))
    assert runner.checkpoint_root() == provenance.REPO_ROOT / "checkpoints"  # this checkout
    monkeypatch.setattr(runner, "REPO_ROOT", tmp_path / "site-packages")
    monkeypatch.setattr(provenance, "REPO_ROOT", tmp_path / "site-packages")
    assert runner.checkpoint_root() == tmp_path / "cache" / "checkpoints"


class _Distribution:
    def __init__(self, origin):
        self.origin = origin

    def read_text(self, name):
        return json.dumps(self.origin) if name == "direct_url.json" else None


@pytest.mark.parametrize("how", ["pip-install-git-url", "pip-install-clone", "wheel"])
def test_a_non_editable_install_names_the_commit_it_came_from(how, tmp_path, monkeypatch):
    site, clone = tmp_path / "site-packages", tmp_path / "clone"
    clone.mkdir()
    origin, expected = {
        "pip-install-git-url": ({"url": REPOSITORY_URL, "vcs_info": {"vcs": "git", "commit_id": "c0ffee"}}, "c0ffee"),
        "pip-install-clone": ({"url": clone.as_uri(), "dir_info": {}}, f"HEAD of {clone}"),
        "wheel": ({"url": "https://example.org/gce_lab.whl", "archive_info": {}}, "unknown"),
    }[how]

    def git(*args, cwd):  # only the clone is a git checkout
        return None if cwd != clone else (f"HEAD of {cwd}" if args[0] == "rev-parse" else "")

    monkeypatch.setattr(provenance, "REPO_ROOT", site)  # no pyproject.toml there: an installed copy
    monkeypatch.setattr(provenance.metadata, "distribution", lambda name: _Distribution(origin))
    monkeypatch.setattr(provenance, "_git", git)
    monkeypatch.delenv(provenance.COMMIT_ENV, raising=False)
    provenance.git_commit.cache_clear()
    try:
        assert provenance.git_commit() == expected
    finally:
        provenance.git_commit.cache_clear()


def test_run_data_passes_download_for_real_images_only(monkeypatch):
    import gce_lab.pipeline.run_data as run_data
    from gce_lab.pipeline.planning import DataSettings

    calls = []
    monkeypatch.setattr(run_data, "load_dataset", lambda name, **kwargs: calls.append(kwargs) or name)
    monkeypatch.setattr(run_data, "_datasets", {})
    run_data._dataset("cifar10", DataSettings("auto", None, None, 0.1), download=True)
    run_data._dataset("cifar10", DataSettings("synthetic", (8, 4), None, 0.1), download=True)
    run_data._dataset("fashion_mnist", DataSettings("auto", None, None, 0.1))
    assert calls == [
        {"source": "auto", "download": True},
        {"source": "synthetic", "synthetic_size": (8, 4)},
        {"source": "auto"},
    ]


def test_missing_data_asks_for_the_download(tmp_path):
    from gce_lab.pipeline.data import load_dataset

    with pytest.raises(FileNotFoundError, match=r"--download .*download=True"):
        load_dataset("cifar100", root=tmp_path)
