# Two commands do all the set-up on a fresh machine:
#   make demo   creates .venv, installs kerasdl, runs the main job (kerasdl demo)
#   make test   creates .venv with the dev extra, runs the test suite
# The test environment installs the versions in constraints.txt (the stack the suite was last
# green with), so every machine tests the same stack; setup.cfg keeps ranges for users.
#   make test-fast         unit tests only (no slow, end-to-end or learned tests), about 3.5 minutes
#   make lint              ruff check and ruff format --check (settings in pyproject.toml)
#   make format            ruff format (the house style) and ruff check --fix
#   make test-onednn-off   the suite with TensorFlow's oneDNN kernels off (TF_ENABLE_ONEDNN_OPTS=0)
#   make test-both         the suite with oneDNN on, then off (what CI runs)
#   make test-margins      the learned-threshold tests over seeds and kernel settings
#   make constraints       re-pin constraints.txt from .venv after a dependency change
#   make docs              docs/benchmarks.md from benchmarks/results/*.json, then the site into site/
#                          (mkdocs build --strict; guides in smoke mode unless KERASDL_GUIDE_FULL=1)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test test-fast lint format test-onednn-off test-both test-margins constraints install dev benchmark clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.dev-installed: $(BIN)/python setup.cfg pyproject.toml constraints.txt
	$(BIN)/python -m pip install -e ".[dev]" -c constraints.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: $(VENV)/.installed
	$(BIN)/kerasdl demo $(ARGS)

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -m "not slow and not e2e and not learned" $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check kerasdl apps tests benchmarks tools
	$(BIN)/ruff format --check kerasdl apps tests benchmarks tools

format: $(VENV)/.dev-installed
	$(BIN)/ruff format kerasdl apps tests benchmarks tools
	$(BIN)/ruff check --fix kerasdl apps tests benchmarks tools

test-onednn-off: $(VENV)/.dev-installed
	TF_ENABLE_ONEDNN_OPTS=0 $(BIN)/python -m pytest $(PYTEST_ARGS)

test-both: $(VENV)/.dev-installed
	TF_ENABLE_ONEDNN_OPTS=1 $(BIN)/python -m pytest $(PYTEST_ARGS)
	TF_ENABLE_ONEDNN_OPTS=0 $(BIN)/python -m pytest $(PYTEST_ARGS)

test-margins: $(VENV)/.dev-installed
	$(BIN)/python tools/margin_sweep.py $(ARGS)

constraints: $(VENV)/.dev-installed
	{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^kerasdl'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

docs: $(VENV)/.dev-installed
	$(BIN)/python tools/benchmark_page.py
	$(BIN)/mkdocs build --strict

benchmark: $(VENV)/.installed
	$(BIN)/python benchmarks/mnist_cnn.py

clean:
	rm -rf $(VENV) runs .pytest_cache
