# LeadRelay — two commands: `make run` and `make test`. Everything bootstraps .venv itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-unit test-fast lint format synth bench layer clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/leadrelay local --demo --port $${LEADRELAY_PORT:-3000} --state-dir $${LEADRELAY_STATE_DIR:-.leadrelay}

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not infra and not e2e"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Third-party wheels for the Lambda layer, built for arm64 without Docker.
layer: $(STAMP)
	$(PY) -m leadrelay.build_layer

synth: $(STAMP) layer
	$(PY) infra/app.py

bench: $(STAMP)
	$(PY) -m bench.run

clean:
	rm -rf build cdk.out .leadrelay .pytest_cache
