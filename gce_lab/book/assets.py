"""Files the rendered book serves itself, so that it works with no network: MathJax 3.

``python -m gce_lab.book.assets book/_static`` (run by ``make book``) copies MathJax 3 from the
installed PyPI package ``django-static-mathjax`` (MathJax 3.2, Apache-2.0; it needs no Django)
into ``book/_static/mathjax``; ``book/_config.yml`` points Sphinx's ``mathjax_path`` at its
``es5/tex-mml-chtml.js``. A well-kept package of known version, not a hand-copied file.
"""

from __future__ import annotations

import argparse
import shutil
from importlib import resources
from pathlib import Path

__all__ = ["MATHJAX_ENTRY", "mathjax_source", "copy_mathjax"]

#: The MathJax component the book loads, relative to the copied ``mathjax`` folder.
MATHJAX_ENTRY = "es5/tex-mml-chtml.js"


def mathjax_source() -> Path:
    """The ``mathjax`` folder of the installed ``django-static-mathjax`` package."""
    try:
        folder = Path(str(resources.files("mathjax"))) / "static" / "mathjax"
    except ModuleNotFoundError as err:
        raise FileNotFoundError(
            "MathJax 3 is not installed: pip install 'django-static-mathjax>=3.2,<4' (make install does)"
        ) from err
    if not (folder / MATHJAX_ENTRY).is_file():
        raise FileNotFoundError(f"{folder / MATHJAX_ENTRY} is missing: reinstall django-static-mathjax")
    return folder


def copy_mathjax(static_dir: str | Path) -> Path:
    """Copy MathJax's ``es5`` bundles into ``<static_dir>/mathjax`` (replacing an older copy)."""
    target = Path(static_dir) / "mathjax"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(mathjax_source() / "es5", target / "es5")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("static_dir", help="the book's static folder, e.g. book/_static")
    print(f"MathJax copied to {copy_mathjax(parser.parse_args().static_dir)}")


if __name__ == "__main__":
    main()
