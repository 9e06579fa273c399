"""Build the book: ``python -m gce_lab.book.build`` (what ``make book`` runs).

MathJax is copied into ``book/_static`` (:mod:`gce_lab.book.assets`), then Jupyter Book executes
and renders every page into ``book/_build/html``. Warnings fail the build.

Every page is read again on every build (``--all``). Jupyter Book's execution cache keeps what
ran without error, so a page whose code did not change is not executed again; but Sphinx, left
to itself, re-reads only the pages whose source changed, so a page whose execution *failed*
would be skipped by the next build, which would then report success while the page still
showed the traceback. Reading every page makes such a page execute again: it renders, or the
build fails again.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from gce_lab.book.assets import copy_mathjax

__all__ = ["build_command", "build_book", "main"]


def build_command(source: Path, config: Path, toc: Path, output: Path) -> list[str]:
    """The ``jupyter-book build`` command line of the book under ``source``."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return [
        str(jupyter_book),
        "build",
        str(source),
        "--config",
        str(config),
        "--toc",
        str(toc),
        "--path-output",
        str(output),
        "--all",  # read every page: a page that failed last time executes again
        "--warningiserror",
        "--keep-going",
    ]


def build_book(source: Path, config: Path, toc: Path, output: Path) -> int:
    """Run the build; return Jupyter Book's exit status (0: every page executed and rendered)."""
    return subprocess.run(build_command(source, config, toc, output), check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="the repository root (default: .)")
    root = Path(parser.parse_args(argv).root)
    copy_mathjax(root / "book" / "_static")
    book = root / "book"
    return build_book(root, book / "_config.yml", book / "_toc.yml", book)


if __name__ == "__main__":
    raise SystemExit(main())
