# Two commands on a fresh machine:  `make run` (whole pipeline on the sample corpus), `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# Stage commands say `python`: make it the venv's.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export NUMBA_CACHE_DIR := $(CURDIR)/.numba_cache
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test venv bench clean

$(STAMP): requirements.txt constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -c constraints.txt -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

# params.yaml and data.root are checked first: a bad key or root is one line, before DVC runs.
run: $(STAMP)
	$(BIN)/python -m stages.check
	$(BIN)/dvc repro

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf data features models dvclive .dvc/tmp
