"""Provenance: the commit comes from git, and from $GCE_LAB_GIT_COMMIT only where git cannot say."""

import gce_lab.pipeline.provenance as provenance


def _git_commit_with(monkeypatch, git_answer):
    provenance.git_commit.cache_clear()
    monkeypatch.setattr(provenance, "_git", lambda *args, **kwargs: git_answer)
    try:
        return provenance.git_commit()
    finally:
        provenance.git_commit.cache_clear()


def test_commit_comes_from_the_environment_only_outside_git(monkeypatch):
    monkeypatch.setenv(provenance.COMMIT_ENV, "abc123")
    assert _git_commit_with(monkeypatch, None) == "abc123"
    assert _git_commit_with(monkeypatch, "f00d") == "f00d+dirty"


def test_commit_is_unknown_outside_git_without_the_variable(monkeypatch):
    monkeypatch.delenv(provenance.COMMIT_ENV, raising=False)
    assert _git_commit_with(monkeypatch, None) == "unknown"


def test_provenance_names_the_profile_seed_and_torch():
    row = provenance.provenance("cpu", profile="smoke", seed=3, wall_time_s=1.23456, command="cmd")
    assert row["profile"] == "smoke" and row["seed"] == 3 and row["command"] == "cmd"
    assert row["wall_time_s"] == 1.235 and row["torch_version"]


def test_rewritten_results_do_not_make_the_code_dirty(tmp_path, monkeypatch):
    import subprocess

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "runs.csv").write_text("a\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    monkeypatch.setattr(provenance, "REPO_ROOT", tmp_path)
    provenance.git_commit.cache_clear()
    try:
        (tmp_path / "results" / "runs.csv").write_text("b\n")
        clean = provenance.git_commit()
        provenance.git_commit.cache_clear()
        (tmp_path / "code.py").write_text("x = 2\n")
        dirty = provenance.git_commit()
    finally:
        provenance.git_commit.cache_clear()
    assert not clean.endswith("+dirty") and len(clean) == 40
    assert dirty == clean + "+dirty"
