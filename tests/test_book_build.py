"""A page whose execution failed is never hidden by the next build (gce_lab.book.build).

A two-page book in the real book's execution settings: its page reads a data file. Built with
the file missing, the build fails; built again once the file is there, the page shows the
file's text and no traceback (a plain incremental build would skip the page and succeed while
it still showed the failure)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from gce_lab.book.build import build_book, build_command

REPO = Path(__file__).resolve().parents[1]

PAGE = """---
jupytext:
  text_representation: {format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# Page
```{code-cell}
import os
print(open(os.environ["GCE_LAB_TEST_PAGE_DATA"]).read())
```
"""


def _book(tmp_path: Path) -> tuple[Path, Path, Path]:
    execute = yaml.safe_load((REPO / "book" / "_config.yml").read_text())["execute"]
    config = {"title": "mini", "only_build_toc_files": True, "execute": execute}
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: page\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "page.md").write_text(PAGE)
    return tmp_path / "_config.yml", tmp_path / "_toc.yml", tmp_path


def test_a_failed_page_runs_again_on_the_next_build(tmp_path, monkeypatch):
    config, toc, output = _book(tmp_path)
    data = tmp_path / "data.txt"
    monkeypatch.setenv("GCE_LAB_TEST_PAGE_DATA", str(data))
    assert build_book(tmp_path, config, toc, output) != 0  # the data file is missing
    data.write_text("the page's data")
    assert build_book(tmp_path, config, toc, output) == 0
    page = (output / "_build" / "html" / "page.html").read_text()
    assert "the page&#39;s data" in page or "the page's data" in page
    assert "FileNotFoundError" not in page and "Traceback" not in page


def test_the_book_builds_every_page_with_warnings_as_errors():
    command = build_command(REPO, REPO / "book" / "_config.yml", REPO / "book" / "_toc.yml", REPO / "book")
    assert {"--all", "--warningiserror"} <= set(command)
    assert os.path.basename(command[0]) == "jupyter-book" and command[1:3] == ["build", str(REPO)]
