# gce-lab: `make test` and `make book` set up everything they need on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test unit nbval book twins clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $(STAMP)

test: unit nbval

unit: $(STAMP)
	$(BIN)/python -m pytest -q

nbval: $(STAMP)
	@echo "nbval: no notebooks yet"

book: $(STAMP)
	@echo "book: not yet"

clean:
	rm -rf book/_build .pytest_cache
