# usm-espnet: `make demo` and `make test` install what they need first.
SHELL := /bin/bash
export USM_VENV ?= $(HOME)/.cache/usm-espnet/venv
PY := $(USM_VENV)/bin/python
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
PYTEST_ARGS ?=
# two workers (pytest-xdist): the recipe tests run side by side on a 2-core machine
PYTEST_WORKERS ?= 2

.PHONY: install test demo bench help

help:
	@echo "make test   install (if needed) and run the test suite"
	@echo "make demo   install (if needed) and run the FLEURS recipe on its synthetic stand-in"
	@echo "make bench  run the benchmarks under bench/"

install:
	@tools/install.sh

test: install
	$(PY) -m pytest tests -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

demo: install
	@start=$$(date +%s); cd egs/fleurs/asr1 && ./run.sh --preset demo $(DEMO_ARGS) && \
	  echo "make demo: finished in $$(( $$(date +%s) - start )) s; tables in egs/fleurs/asr1/RESULTS.md"

bench: install
	@for b in bench/*.py; do [ -e "$$b" ] || { echo "no benchmarks yet"; continue; }; $(PY) $$b || exit 1; done
