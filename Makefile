# The two commands a newcomer needs:
#   make lab    set up (once) and open the course in JupyterLab
#   make test   set up (once) and run the whole test suite
# Both create a virtual environment in .venv with the course and its dependencies.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup lab test lint release bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[test]"
	touch $(STAMP)

lab: setup
	$(BIN)/jupyter lab course/

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

release: setup
	$(BIN)/bp-release

bench: setup
	$(BIN)/python benchmarks/bench_mlp.py
	$(BIN)/python benchmarks/bench_conv.py

clean:
	rm -rf $(VENV) .pytest_cache
