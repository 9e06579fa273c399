"""The rendered book typesets its math with no network: MathJax 3 comes from the book itself.

A small book with the real ``book/_config.yml`` settings is built here and opened in headless
Chromium (Debian's ``chromium``; ``.ci/run`` installs it where it is missing). The test looks for
MathJax's ``mjx-container`` elements and for raw ``\\(`` left in the page; without a browser it
is skipped, and says so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gce_lab.book.assets import MATHJAX_ENTRY, copy_mathjax

REPO = Path(__file__).resolve().parent.parent
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
PAGE = """# Math offline

Inline $f_y^q$ and a display:

$$
\\mathcal{L}_q(f(x), e_j) = \\frac{1 - f_j(x)^q}{q}
$$
"""


def _build(tmp_path: Path) -> Path:
    config = yaml.safe_load((REPO / "book" / "_config.yml").read_text())
    static = copy_mathjax(tmp_path / "assets").parent  # not <book>/_static: Jupyter Book would load every .js there
    sphinx = config["sphinx"]["config"]
    sphinx["html_static_path"] = [str(static)]
    book = {
        "title": "math check",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "parse": config["parse"],
        "sphinx": {"config": {k: sphinx[k] for k in ("html_static_path", "mathjax_path")}},
    }
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(book))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (tmp_path / "index.md").write_text(PAGE)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    subprocess.run(
        [str(jupyter_book), "build", str(tmp_path), "--warningiserror"], check=True, capture_output=True, timeout=300
    )
    return tmp_path / "_build" / "html" / "index.html"


def test_the_book_points_mathjax_at_its_own_copy():
    config = yaml.safe_load((REPO / "book" / "_config.yml").read_text())["sphinx"]["config"]
    assert config["mathjax_path"] == f"mathjax/{MATHJAX_ENTRY}" and not config["mathjax_path"].startswith("http")
    assert config["html_static_path"] == ["book/_static"]


def test_math_is_typeset_in_headless_chromium_with_no_network(tmp_path):
    if BROWSER is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium): math rendering NOT checked")
    page = _build(tmp_path)
    html = page.read_text()
    assert "cdn.jsdelivr" not in html and "_static/mathjax/es5/tex-mml-chtml.js" in html
    dom = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert dom.count("<mjx-container") >= 2, "MathJax did not typeset the page"
    body = dom.split("<body", 1)[1]
    assert "\\(" not in body and "$$" not in body, "raw TeX is left on the page"
