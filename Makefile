# usm-espnet: `make demo` and `make test` install what they need first.
SHELL := /bin/bash
export USM_VENV ?= $(HOME)/.cache/usm-espnet/venv
PY := $(USM_VENV)/bin/python
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
PYTEST_ARGS ?=

.PHONY: install test demo bench clean-demo help

help:
	@echo "make test   install (if needed) and run the test suite"
	@echo "make demo   install (if needed) and run the FLEURS recipe on its synthetic stand-in"
	@echo "make bench  run the benchmarks under bench/"

install:
	@tools/install.sh

test: install
	$(PY) -m pytest tests $(PYTEST_ARGS)

demo: install
	cd egs/fleurs/asr1 && ./run.sh --config_tag demo

bench: install
	@for b in bench/*.py; do $(PY) $$b || exit 1; done
