"""Regenerate the executed ``.ipynb`` twins of the book's jupytext sources.

The chapters are written as jupytext percent-format scripts ``notebooks/NN_slug.py`` (the
source of truth). Each has a committed twin ``notebooks/NN_slug.ipynb``: the same cells,
executed top to bottom, with text outputs kept (nbval compares them, ``make nbval``), images
stripped (they are large and not compared) and everything volatile normalised (cell ids,
execution counts, timing metadata, kernel versions), so regenerating an unchanged chapter gives
a byte-identical file. The book renders the twins and Colab opens them.

Usage (needs the ``dev`` extra: jupytext, nbclient, ipykernel)::

    python -m gce_lab.book.notebook_twins              # every notebooks/NN_*.py
    python -m gce_lab.book.notebook_twins 04 02_losses # chosen chapters, by number, name or path
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

__all__ = [
    "NOTEBOOKS_DIR",
    "SOURCE_FORMAT",
    "STRIPPED_MIME_TYPES",
    "source_paths",
    "twin_path",
    "read_source",
    "input_cells",
    "normalise",
    "build_twin",
    "main",
]

#: Where the chapters live: ``notebooks/`` next to the package in a source checkout.
NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
#: The jupytext format of the sources.
SOURCE_FORMAT = "py:percent"
#: Output types dropped from the twins (binary or bulky, and not compared by nbval).
STRIPPED_MIME_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "application/pdf")
_SOURCE_GLOB = "[0-9][0-9]_*.py"
_KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def source_paths(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The chapter sources ``NN_slug.py`` in ``directory``, in reading order."""
    return sorted(Path(directory).glob(_SOURCE_GLOB))


def twin_path(source: Path) -> Path:
    """``notebooks/NN_slug.py`` -> ``notebooks/NN_slug.ipynb``."""
    return Path(source).with_suffix(".ipynb")


def read_source(source: Path) -> NotebookNode:
    """Parse a percent-format source into a notebook (magics such as ``# %pip`` restored)."""
    return jupytext.read(source, fmt=SOURCE_FORMAT)


def input_cells(notebook: NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    """What a notebook's inputs are: ``(cell_type, source, tags)`` per cell.

    A twin is up to date when this equals the same for its parsed source.
    """
    return [(cell.cell_type, cell.source, tuple(cell.get("metadata", {}).get("tags", ()))) for cell in notebook.cells]


def _coalesce_streams(outputs: list[NotebookNode]) -> list[NotebookNode]:
    """Merge consecutive stream outputs of the same stream (their split depends on timing)."""
    merged: list[NotebookNode] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def _strip_output(output: NotebookNode, execution_count: int) -> NotebookNode | None:
    """Drop images and metadata from one output; ``None`` if nothing is left."""
    if output.output_type in ("display_data", "execute_result"):
        data = {key: value for key, value in output.data.items() if key not in STRIPPED_MIME_TYPES}
        if not data:
            return None
        output.data = data
        output.metadata = {}
        if output.output_type == "execute_result":
            output.execution_count = execution_count
    return output


def normalise(notebook: NotebookNode) -> NotebookNode:
    """Make an executed notebook diff-stable: ids, counts, metadata, images (in place; returned).

    Cell ids become ``cell-NN``, execution counts 1, 2, ... over the code cells, cell metadata
    keeps only ``tags``, notebook metadata only the kernelspec, the language name and the
    jupytext pairing; consecutive stream outputs are merged and images dropped.
    """
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    notebook.metadata = NotebookNode(
        kernelspec=dict(_KERNELSPEC),
        language_info={"name": "python"},
        jupytext={"formats": "ipynb," + SOURCE_FORMAT},
    )
    count = 0
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number:02d}"
        tags = cell.get("metadata", {}).get("tags")
        cell.metadata = NotebookNode(tags=list(tags)) if tags else NotebookNode()
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            stripped = (_strip_output(output, count) for output in cell.outputs)
            cell.outputs = _coalesce_streams([output for output in stripped if output is not None])
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            cell.pop("attachments", None)
    return notebook


def build_twin(source: Path, timeout: int = 600) -> Path:
    """Execute ``source`` (working directory: its folder) and write its normalised twin.

    ``timeout`` is the limit per cell in seconds. A cell that raises stops the build with the
    error, and no twin is written.
    """
    source = Path(source).resolve()
    notebook = read_source(source)
    notebook.metadata["kernelspec"] = dict(_KERNELSPEC)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=_KERNELSPEC["name"],
        resources={"metadata": {"path": str(source.parent)}},
        record_timing=False,
    )
    client.execute()
    target = twin_path(source)
    nbformat.validate(normalise(notebook))
    nbformat.write(notebook, target)
    return target


def _resolve(names: Sequence[str], directory: Path) -> list[Path]:
    """Map ``04``, ``04_truncated_lq``, ``notebooks/04_truncated_lq.py`` or ``.ipynb`` to sources."""
    available = source_paths(directory)
    if not names:
        return available
    chosen = []
    for name in names:
        stem = Path(name).stem
        matches = [path for path in available if path.stem == stem or path.stem.split("_", 1)[0] == stem]
        if len(matches) != 1:
            listed = ", ".join(path.stem for path in available)
            raise ValueError(f"notebook must name one of {listed} (or its number), got {name!r}")
        chosen.append(matches[0])
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gce_lab.book.notebook_twins",
        description="Execute jupytext chapter sources into their committed .ipynb twins.",
    )
    parser.add_argument("notebooks", nargs="*", help="chapters to rebuild (number, name or path); default: all")
    parser.add_argument("--dir", type=Path, default=NOTEBOOKS_DIR, help="folder of the NN_slug.py sources")
    parser.add_argument("--timeout", type=int, default=600, help="limit per cell, seconds (default 600)")
    args = parser.parse_args(argv)
    try:
        sources = _resolve(args.notebooks, args.dir)
    except ValueError as err:
        parser.error(str(err))
    if not sources:
        parser.error(f"no {_SOURCE_GLOB} sources in {args.dir}")
    for source in sources:
        print(f"executing {source.name} ...", flush=True)
        target = build_twin(source, timeout=args.timeout)
        print(f"wrote {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
