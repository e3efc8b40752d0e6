# The two commands a newcomer needs:
#   make lab    set up (once) and open the course in JupyterLab
#   make test   set up (once) and run the whole test suite
# Both create a virtual environment in .venv with the course and its dependencies.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup lab instructor test lint release bench budget clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[test,bench]"
	touch $(STAMP)

# The learner's view: course/ as the root, no nbgrader instructor tools (lab/learner/).
lab: setup
	$(BIN)/python -m autograder.lab

# The instructor's view: the repository root, with nbgrader's Formgrader and assignment tools.
instructor: setup
	$(BIN)/python -m autograder.lab --instructor

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

release: setup
	$(BIN)/bp-release

# Speed beside hand-fused numpy and PyTorch (torch rows only when torch is installed), the whole
# course's time budget, and grading throughput beside stock nbgrader. Ratios are measured within
# one run; see README "Performance".
bench: setup
	$(BIN)/python benchmarks/bench_mlp.py
	$(BIN)/python benchmarks/bench_conv.py
	$(BIN)/python benchmarks/course_budget.py
	$(BIN)/python benchmarks/bench_throughput.py

# Every solution notebook executed and its reference solution graded, with times.
budget: setup
	$(BIN)/python benchmarks/course_budget.py

clean:
	rm -rf $(VENV) .pytest_cache
