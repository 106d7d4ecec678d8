# Two entry points: `make run` (the app's main job on its embedded default) and `make test` (the whole suite).
# Both create .venv on a machine that has only the base image and install everything they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint venv bench-embeddings clean

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<26.2"
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/zerolabel demo --out demo-output

lint: $(STAMP)
	$(VENV)/bin/ruff check core training gui resources tests bench
	$(VENV)/bin/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench-embeddings: $(STAMP)
	$(PY) bench/embeddings.py --rows 1000000 --dim 300

clean:
	rm -rf $(VENV) demo-output .pytest_cache
