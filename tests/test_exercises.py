"""Every chapter ends with exercises whose hidden solutions check themselves; the theorems are labelled and cited.

* every ``notebooks/NN_slug.py`` ends with an "Exercises" section of 2-4 exercises
  (sphinx-exercise's gated ``exercise-start``/``exercise-end``), each with a label, each followed
  by a ``solution-start <its label>`` of class ``dropdown`` (hidden) that holds at least one code
  cell with an ``assert`` statement, closed by ``solution-end``; nothing else follows;
* chapter 1 states Ghosh et al.'s symmetric-loss theorem and chapter 3 the results of Eq. 7, 8
  and 10 as labelled ``prf:theorem`` blocks, each followed by a ``prf:proof``; every theorem and
  lemma label is cited with ``{prf:ref}`` somewhere in the book and every citation names one.

The solutions' code itself runs where the twins are executed (nbval, ``make book``).
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from gce_lab.book.notebook_twins import read_source, source_paths

SOURCES = source_paths()
EXERCISES = "## Exercises"
DIRECTIVE = re.compile(
    r"^```\{(?P<name>[a-z:-]+)\}[ \t]*(?P<argument>[^\n]*)\n(?P<options>(?::[a-z]+:[^\n]*\n)*)", re.M
)
OPTION = re.compile(r"^:(?P<key>[a-z]+):[ \t]*(?P<value>.*)$", re.M)
PRF_REF = re.compile(r"\{prf:ref\}`([^`]+)`")
THEOREMS = {  # chapter -> labels its prf:theorem / prf:lemma blocks must define
    "01_noisy_labels": {"thm-symmetric-noise-tolerant"},
    "03_bounds": {"thm-eq7", "lem-noisy-risk", "thm-eq8", "thm-eq10"},
}


def _ids(paths):
    return [path.stem for path in paths]


def _directives(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """(name, argument, options) of every MyST directive opened in ``text``, in order."""
    return [
        (match["name"], match["argument"].strip(), dict(OPTION.findall(match["options"])))
        for match in DIRECTIVE.finditer(text)
    ]


def _events(cells) -> list[tuple]:
    """The exercise section as a stream: ("directive", name, argument, options) and ("code", source)."""
    events: list[tuple] = []
    for cell in cells:
        if cell.cell_type == "code":
            events.append(("code", cell.source))
        else:
            events += [("directive", *directive) for directive in _directives(cell.source)]
    return events


def _has_assert(source: str) -> bool:
    return any(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(source)))


def check_exercises(cells) -> list[str]:
    """Problems with the chapter's closing exercises (empty when they are well formed)."""
    starts = [i for i, cell in enumerate(cells) if cell.cell_type == "markdown" and EXERCISES in cell.source]
    if len(starts) != 1:
        return [f"expected one {EXERCISES!r} section, found {len(starts)}"]
    if cells[-1].cell_type != "markdown" or not cells[-1].source.rstrip().endswith("```{solution-end}\n```"):
        return ["the chapter must end with the last exercise's solution-end"]
    problems, labels = [], []
    events = _events(cells[starts[0] :])
    position = 0

    def take(kind: str, name: str | None = None):
        nonlocal position
        if position < len(events) and events[position][0] == kind and (name is None or events[position][1] == name):
            position += 1
            return events[position - 1]
        found = events[position][:2] if position < len(events) else "the end"
        raise LookupError(f"expected {name or kind} after exercise {len(labels)}, found {found}")

    try:
        while position < len(events):
            _, _, _, options = take("directive", "exercise-start")
            label = options.get("label", "")
            labels.append(label)
            if not label:
                problems.append(f"exercise {len(labels)} has no :label:")
            take("directive", "exercise-end")
            _, _, argument, options = take("directive", "solution-start")
            if argument != label:
                problems.append(f"solution {argument!r} follows exercise {label!r}")
            if "dropdown" not in options.get("class", "").split():
                problems.append(f"the solution of {label!r} is not hidden (:class: dropdown)")
            code = []
            while position < len(events) and events[position][0] == "code":
                code.append(take("code")[1])
            if not any(_has_assert(source) for source in code):
                problems.append(f"the solution of {label!r} has no code cell with an assert")
            take("directive", "solution-end")
    except LookupError as error:
        problems.append(str(error))
    if not 2 <= len(labels) <= 4:
        problems.append(f"{len(labels)} exercises, expected 2 to 4")
    return problems


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_chapter_ends_with_exercises_and_hidden_self_checking_solutions(source):
    assert check_exercises(read_source(source).cells) == []


def test_exercise_labels_are_unique_across_the_book():
    labels = [
        options["label"]
        for source in SOURCES
        for cell in read_source(source).cells
        if cell.cell_type == "markdown"
        for name, _, options in _directives(cell.source)
        if name == "exercise-start" and "label" in options
    ]
    assert labels and len(labels) == len(set(labels))


def _markdown(source) -> str:
    return "\n".join(cell.source for cell in read_source(source).cells if cell.cell_type == "markdown")


def test_theorems_are_labelled_proved_and_cited():
    markdown = {source.stem: _markdown(source) for source in SOURCES}
    defined = {}
    for stem, text in markdown.items():
        directives = _directives(text)
        for number, (name, _, options) in enumerate(directives):
            if name in ("prf:theorem", "prf:lemma"):
                assert options.get("label"), f"{stem}: a {name} without a :label:"
                defined[options["label"]] = stem
                following = [later for later, _, _ in directives[number + 1 :] if later.startswith("prf:")]
                if stem == "03_bounds":  # chapter 1's theorem is proved in chapter 3 (below)
                    assert following[:1] == ["prf:proof"], f"{options['label']} is not followed by its proof"
    for stem, labels in THEOREMS.items():
        assert {label for label, where in defined.items() if where == stem} >= labels, stem
    cited = [label for text in markdown.values() for label in PRF_REF.findall(text)]
    assert set(defined) <= set(cited), f"never cited: {sorted(set(defined) - set(cited))}"
    assert set(cited) <= set(defined), f"cited but not defined: {sorted(set(cited) - set(defined))}"
    ghosh_proof = re.search(r"```\{prf:proof\}\n\(Of \{prf:ref\}`thm-symmetric-noise-tolerant`", markdown["03_bounds"])
    assert ghosh_proof, "chapter 3 proves Ghosh et al.'s theorem from lem-noisy-risk"


# --------------------------------------------------------------------------- the checks can fail
def _cells(*specs):
    return [
        nbformat.v4.new_code_cell(text) if kind == "code" else nbformat.v4.new_markdown_cell(text)
        for kind, text in specs
    ]


def _exercise(label="ex-a", solution_label=None, css="dropdown", code="assert 1 + 1 == 2", end=True):
    solution_label = label if solution_label is None else solution_label
    cells = [
        (
            "md",
            f"```{{exercise-start}} A title\n:label: {label}\n```\n\nQuestion.\n\n```{{exercise-end}}\n```\n\n"
            f"```{{solution-start}} {solution_label}\n:class: {css}\n```\n\nAnswer.",
        ),
        ("code", code),
    ]
    return cells + ([("md", "```{solution-end}\n```")] if end else [])


def test_check_exercises_accepts_a_good_section_and_rejects_broken_ones():
    head = [("md", "# Title"), ("md", "## Exercises\n\nIntro.")]
    good = head + _exercise("ex-a") + _exercise("ex-b")
    assert check_exercises(_cells(*good)) == []
    broken = {
        "one exercise only": head + _exercise("ex-a"),
        "five exercises": head + sum((_exercise(f"ex-{i}") for i in range(5)), []),
        "solution shown": head + _exercise("ex-a") + _exercise("ex-b", css="tip"),
        "solution of another exercise": head + _exercise("ex-a") + _exercise("ex-b", solution_label="ex-a"),
        "no assert": head + _exercise("ex-a") + _exercise("ex-b", code="print('assert')  # assert in a string"),
        "no solution-end": head + _exercise("ex-a") + _exercise("ex-b", end=False),
        "prose after the exercises": head + _exercise("ex-a") + _exercise("ex-b") + [("md", "More text.")],
        "no section": [("md", "# Title")] + _exercise("ex-a") + _exercise("ex-b"),
        "no label": head + _exercise("ex-a") + _exercise(""),
    }
    for what, cells in broken.items():
        assert check_exercises(_cells(*cells)), f"not caught: {what}"
