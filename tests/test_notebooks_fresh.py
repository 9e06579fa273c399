"""The committed notebook twins match their jupytext sources, and nbval can catch a changed number.

* every ``notebooks/NN_slug.py`` has an ``.ipynb`` twin and every twin a source;
* a twin's cells (type, source, tags) equal those of its parsed source: editing a chapter
  without ``make twins`` fails here;
* a twin is executed and normalised as ``make twins`` writes it (no images, ids, counts);
* every chapter is in the book's table of contents, and the toc lists no missing page;
* every chapter starts with a title cell, the Colab install cell (one text, with the one
  repository address) and the imports cell;
* nbval with the project's sanitiser fails on a changed number and passes on volatile text.
"""

from __future__ import annotations

import ast
import copy
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
import yaml

from gce_lab.book import colab_install_cell
from gce_lab.book.notebook_twins import (
    NOTEBOOKS_DIR,
    STRIPPED_MIME_TYPES,
    input_cells,
    normalise,
    read_source,
    source_paths,
    twin_path,
)

REPO = Path(__file__).resolve().parent.parent
TOC = REPO / "book" / "_toc.yml"
SANITIZE = NOTEBOOKS_DIR / "nbval_sanitize.cfg"
SOURCES = source_paths()
TWINS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def _ids(paths):
    return [path.stem for path in paths]


def _read_twin(source: Path) -> nbformat.NotebookNode:
    return nbformat.read(twin_path(source), as_version=4)


def test_there_are_chapters():
    assert SOURCES, f"no chapter sources in {NOTEBOOKS_DIR}"


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_every_source_has_a_twin(source):
    assert twin_path(source).exists(), f"run `make twins NB={source.stem}` to create it"


@pytest.mark.parametrize("twin", TWINS, ids=_ids(TWINS))
def test_every_twin_has_a_source(twin):
    assert twin.with_suffix(".py").exists(), f"{twin.name} has no source {twin.stem}.py"


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_twin_is_not_stale(source):
    expected = input_cells(read_source(source))
    actual = input_cells(_read_twin(source))
    assert actual == expected, (
        f"{twin_path(source).name} does not match {source.name}: run `make twins NB={source.stem}`"
    )


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_twin_is_executed_and_normalised(source):
    twin = _read_twin(source)
    code = [cell for cell in twin.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    for cell in code:
        for output in cell.outputs:
            assert output.output_type != "error", f"{source.stem}: a cell raised {output.ename}"
            assert not set(output.get("data", {})) & set(STRIPPED_MIME_TYPES)
    assert normalise(copy.deepcopy(twin)) == twin, (
        f"{twin_path(source).name} was not written by `make twins` (saved from Jupyter?)"
    )


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_chapter_opens_with_title_and_colab_setup(source):
    cells = read_source(source).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# "), (
        f"{source.name}: the first cell must be the markdown title"
    )
    colab, imports = cells[1], cells[2]
    assert colab.cell_type == "code" and colab.metadata.get("tags") == ["remove-cell"]
    assert colab.source == colab_install_cell(), (
        f"{source.name}: the Colab install cell must be gce_lab.book.colab_install_cell()'s source"
    )
    assert imports.cell_type == "code" and "from gce_lab.book import setup" in imports.source
    assert "\nsetup()" in imports.source


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_chapter_source_is_valid_python(source):
    ast.parse(source.read_text(), filename=str(source))  # a SyntaxError names the line


def _toc_files(entries) -> list[str]:
    files = []
    for entry in entries:
        if "file" in entry:
            files.append(entry["file"])
        for key in ("parts", "chapters", "sections"):
            files += _toc_files(entry.get(key, []))
    return files


def test_table_of_contents_lists_every_chapter_and_nothing_missing():
    toc = yaml.safe_load(TOC.read_text())
    files = [toc["root"], *_toc_files(toc.get("parts", []) + toc.get("chapters", []))]
    listed = {f for f in files if f.startswith("notebooks/")}
    assert listed == {f"notebooks/{source.stem}" for source in SOURCES}
    for page in files:
        candidates = [REPO / f"{page}{ext}" for ext in (".ipynb", ".md")]
        assert any(path.exists() for path in candidates), f"{TOC.name} lists a missing page {page}"


# --------------------------------------------------------------------------- nbval can fail
def _notebook(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A one-kernel notebook whose code cells have the given (source, stored stdout)."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for count, (source, stdout) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, execution_count=count)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stdout)]
        notebook.cells.append(cell)
    return notebook


def test_nbval_fails_on_a_changed_number_and_ignores_volatile_text(tmp_path):
    cells = [
        ("print(f'test accuracy {2 / 3:.4f}')", "test accuracy 0.6667\n"),
        ("print(object())", "<object object at 0x7f0000000000>\n"),  # address: sanitised
        ("print('Wall time: 1.5 s')", "Wall time: 9.9 s\n"),  # timing: sanitised
    ]
    nbformat.write(_notebook(cells), tmp_path / "good.ipynb")
    changed = [("print(f'test accuracy {2 / 3:.4f}')", "test accuracy 0.6668\n")]
    nbformat.write(_notebook(changed), tmp_path / "changed.ipynb")

    report = tmp_path / "report.xml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(SANITIZE),
            "--rootdir",
            ".",
            f"--junitxml={report}",
            "good.ipynb",
            "changed.ipynb",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outcomes: dict[str, list[str]] = {"good.ipynb": [], "changed.ipynb": []}
    for case in ET.parse(report).iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes.setdefault(case.get("classname"), []).append("failed" if failed else "passed")
    assert result.returncode == 1, result.stdout + result.stderr
    assert outcomes == {"good.ipynb": ["passed"] * 3, "changed.ipynb": ["failed"]}, report.read_text()


def test_show_source_puts_the_package_code_on_the_page():
    from gce_lab.book import show_source
    from gce_lab.losses import lq_loss

    code = show_source(lq_loss)
    assert code.data.startswith("def lq_loss(") and "lq_from_log_prob(" in code.data
    with pytest.raises(ValueError, match="objects must name at least one"):
        show_source()


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_long_plotting_cells_fold_their_code(source):
    """A cell of a dozen lines or more that mostly draws a figure is tagged hide-input, so that
    the paragraph and its figure stand together (the code stays one click away)."""
    import re

    for cell in read_source(source).cells:
        lines = [line for line in cell.source.splitlines() if line.strip()]
        drawing = sum(1 for line in lines if re.search(r"\b(ax|axes|fig|plt)\b[\.\[]", line))
        if cell.cell_type == "code" and len(lines) >= 12 and drawing >= 4 and "show_source" not in cell.source:
            assert "hide-input" in cell.metadata.get("tags", []), f"{source.name}: {lines[0]!r} ... is not folded"
