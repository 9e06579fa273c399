# gce-lab: `make test` and `make book` set up everything they need on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint unit nbval book twins smoke-results clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $(STAMP)

# The chapters (nbval) and the book are checked with the data root pointed at an empty folder:
# they must pass from what the repository holds, as on a fresh clone with nothing beside it.
NO_DATA := $(CURDIR)/book/_build/no-data

test: lint unit nbval book

# Lint and formatting of the package, the tests and the chapters' sources (ruff; pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check gce_lab tests notebooks
	$(BIN)/ruff format --check gce_lab tests notebooks

unit: $(STAMP)
	$(BIN)/python -m pytest -q

# Re-run every committed notebook twin and compare its text outputs (volatile text sanitised).
nbval: $(STAMP)
	rm -rf $(NO_DATA) && mkdir -p $(NO_DATA)
	GCE_LAB_DATA=$(NO_DATA) $(BIN)/python -m pytest -q --nbval --nbval-current-env \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg notebooks/*.ipynb

# Execute the chapters and render the book into book/_build/html (warnings fail the build; every
# page is read again, so a page that failed last time runs again: gce_lab/book/build.py).
# MathJax is served from the book: its files come from the installed django-static-mathjax.
book: $(STAMP)
	rm -rf $(NO_DATA) && mkdir -p $(NO_DATA)
	GCE_LAB_DATA=$(NO_DATA) $(BIN)/python -m gce_lab.book.build

# Regenerate the executed .ipynb twins of notebooks/NN_slug.py: all, or some with NB="04 02".
twins: $(STAMP)
	$(BIN)/python -m gce_lab.book.notebook_twins $(NB)

# Recompute the committed smoke results of every experiment (CPU, about a minute).
EXPERIMENTS := fig1ab fig1c fig2 table1 table2
smoke-results: $(STAMP)
	for e in $(EXPERIMENTS); do rm -rf results/$$e/smoke && \
		$(BIN)/python -m gce_lab run $$e --profile smoke --no-progress || exit 1; done

clean:
	rm -rf book/_build .pytest_cache
