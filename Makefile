# usm-espnet: every target installs what it needs first (tools/install.sh).
#   make test       quick tier: unit tests + one tiny recipe run end to end (<= 5 min on 2 cores)
#   make test-all   lint (ruff, shellcheck) + every test, recipes at debug size included (CI runs this)
#   make demo       the FLEURS recipe on its synthetic stand-in
SHELL := /bin/bash
export USM_VENV ?= $(HOME)/.cache/usm-espnet/venv
PY := $(USM_VENV)/bin/python
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
PYTEST_ARGS ?=
# two workers (pytest-xdist): the long tests run side by side on a 2-core machine
PYTEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest tests -n $(PYTEST_WORKERS) --dist worksteal -p no:cacheprovider --durations=15
SHELL_SCRIPTS = $(shell git ls-files 'egs/*.sh' 'tools/*.sh' 'bench/*.sh' .ci/run 2>/dev/null)

.PHONY: help install test test-all lint demo bench

help:
	@echo "make test       install (if needed), then the quick tier: unit tests + one tiny recipe run"
	@echo "make test-all   install (if needed), then ruff + shellcheck + every test (what CI runs)"
	@echo "make lint       ruff and shellcheck only"
	@echo "make demo       install (if needed), then the FLEURS recipe on its synthetic stand-in"
	@echo "make bench      the benchmarks under bench/ (CPU-sized where a GPU is needed)"

install:
	@tools/install.sh

test: install
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

lint: install
	$(USM_VENV)/bin/ruff check .
	$(USM_VENV)/bin/shellcheck -x $(SHELL_SCRIPTS)

test-all: lint
	$(PYTEST) $(PYTEST_ARGS)

demo: install
	@start=$$(date +%s); cd egs/fleurs/asr1 && ./run.sh --preset demo $(DEMO_ARGS) && \
	  echo "make demo: finished in $$(( $$(date +%s) - start )) s; table: egs/fleurs/asr1/exp/asr_demo/RESULTS.md, chart: egs/fleurs/asr1/exp/asr_demo/results/"

bench: install
	@for b in bench/*.py; do [ -e "$$b" ] || { echo "no benchmarks yet"; continue; }; \
	  case "$$b" in bench/gpu_train.py) $(PY) "$$b" --tiny || exit 1 ;; *) $(PY) "$$b" || exit 1 ;; esac; done
