"""The layers of ARCHITECTURE.md hold: no import loops, nothing imports a layer above it, and the
book trains nothing itself (no trainer, no jobs: it asks the pipeline's runner). (A module's size
is a judgement, its single job the rule: there is no line cap, issue 28.)"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gce_lab"
LAYERS = {"": 0, "pipeline": 1, "book": 2}  # the paper's mathematics and foundations, the pipeline, the book
#: Top-level, but it starts the pipeline's command line.
BESIDE_THE_PIPELINE = {"gce_lab.__main__"}
#: The modules that train or send runs to jobs: the book reaches them only through the runner.
TRAINING = {"gce_lab.pipeline.train", "gce_lab.pipeline.cluster"}


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gce_lab"):
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            while name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules:
                found.add(name)
    return found


def _graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    paths = {_module_name(p, package): p for p in package.rglob("*.py")}
    return {name: _imports(path, set(paths)) - {name} for name, path in paths.items()}


def _layer(module: str) -> int:
    if module in BESIDE_THE_PIPELINE:
        return LAYERS["pipeline"]
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 and parts[1] in LAYERS else LAYERS[""]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _upward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((m, t) for m, targets in graph.items() for t in targets if _layer(t) > _layer(m))


def _book_trains(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted(
        (m, t) for m, targets in graph.items() for t in targets if m.startswith("gce_lab.book") and t in TRAINING
    )


def test_no_import_loops():
    assert _cycle(_graph()) is None


def test_nothing_imports_a_layer_above_it():
    assert _upward(_graph()) == []


def test_the_book_trains_nothing_itself():
    assert _book_trains(_graph()) == []


def test_the_checks_can_fail(tmp_path):
    package = tmp_path / "gce_lab"
    (package / "book").mkdir(parents=True)
    (package / "losses.py").write_text("from gce_lab.book import report\n")
    (package / "book" / "report.py").write_text("import gce_lab.losses\nfrom gce_lab.pipeline.train import train\n")
    (package / "pipeline").mkdir()
    (package / "pipeline" / "train.py").write_text("")
    graph = _graph(package)
    assert _cycle(graph) == ["gce_lab.book.report", "gce_lab.losses", "gce_lab.book.report"]
    assert ("gce_lab.losses", "gce_lab.book.report") in _upward(graph)
    assert _book_trains(graph) == [("gce_lab.book.report", "gce_lab.pipeline.train")]
