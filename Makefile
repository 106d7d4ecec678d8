# Two entry points: `make run` (the app's main job on its embedded default) and `make test` (the whole suite).
# Both create .venv on a machine that has only the base image and install everything they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run demo screenshots test lint venv bench-embeddings bench-startup clean package install-desktop

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<26.2"
	$(PY) -m pip install -q -e '.[dev,ray]'
	@touch $@

venv: $(STAMP)

# The app on the demo model and the sample images; with no display, the same job on the command line.
# On X11 the platform check names every missing xcb system library and its Debian package before Qt starts.
run: $(STAMP)
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(PY) -m gui.platform_check && $(VENV)/bin/zerolabel-gui --samples; \
	else echo "no display (DISPLAY / WAYLAND_DISPLAY unset): running the command-line demo instead;" \
	  "use 'xvfb-run make run' or a desktop session for the app"; $(VENV)/bin/zerolabel demo --out demo-output; fi

demo: $(STAMP)
	$(VENV)/bin/zerolabel demo --out demo-output

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m gui.screenshots docs/screenshots

lint: $(STAMP)
	$(VENV)/bin/ruff check cli core training gui resources tests bench packaging
	$(VENV)/bin/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench-startup: $(STAMP)
	$(PY) bench/startup.py --repeats 5

bench-embeddings: $(STAMP)
	$(PY) bench/embeddings.py --rows 1000000 --dim 300

# The desktop bundle (PyInstaller one-folder, no torch) in dist/zerolabel/; see docs/packaging.md.
package: $(STAMP)
	packaging/build.sh $(PY)

# The .desktop entry and icons for this user (Exec: the bundle when built, else zerolabel-gui on PATH).
install-desktop:
	packaging/install-desktop.sh

clean:
	rm -rf $(VENV) demo-output .pytest_cache build dist
