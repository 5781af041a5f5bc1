# Two commands do all the set-up on a fresh machine:
#   make demo   creates .venv, installs kerasdl, runs the main job (kerasdl demo)
#   make test   creates .venv with the dev extra, runs the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test install dev benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.dev-installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: $(VENV)/.installed
	$(BIN)/kerasdl demo $(ARGS)

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

benchmark: $(VENV)/.installed
	$(BIN)/python benchmarks/mnist_cnn.py

clean:
	rm -rf $(VENV) runs .pytest_cache
