# LeadRelay — two commands: `make run` and `make test`. Everything bootstraps .venv itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# One stamp per extra: `make run` installs only what the local stack needs (`.[local]`, ~1/10 of
# the whole); the targets that test, synthesize or benchmark install everything (`.[dev]`).
STAMP := $(VENV)/.installed
LOCAL_STAMP := $(VENV)/.installed-local
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-unit test-fast lint format synth bench soak soak-dashboard fuzz layer clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP) $(LOCAL_STAMP)

$(LOCAL_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[local]'
	@touch $(LOCAL_STAMP)

# LEADRELAY_START_AT (an ISO time with offset) starts the stack's clock there: see docs/local-stack.md.
run: $(LOCAL_STAMP)
	$(VENV)/bin/leadrelay local --demo --port $${LEADRELAY_PORT:-3000} --state-dir $${LEADRELAY_STATE_DIR:-.leadrelay}

# Two workers (TEST_WORKERS=0 runs in one process): see tests/conftest.py for what stays together.
test: $(STAMP)
	$(PY) -m pytest -q -n $${TEST_WORKERS:-2} --dist loadgroup

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not infra and not e2e"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The Lambda layer (leadrelay + third-party wheels for arm64/cp313, no Docker) in build/layer,
# to inspect it and check its size. `synth` builds the same layer itself (local bundling).
layer: $(STAMP)
	$(PY) infra/build_layer.py --out build/layer

# Synthesize LeadRelay-<STAGE, default dev> into cdk.out with cdk-nag; SKIP_LAYER=1 skips the layer build.
synth: $(STAMP)
	LEADRELAY_SKIP_BUNDLING=$${SKIP_LAYER:-} CDK_CONTEXT_JSON='{"stage":"'$${STAGE:-dev}'"}' $(PY) infra/app.py

bench: $(STAMP)
	$(PY) -m bench.run

# 10,000 leads through the local stack with injected faults (SOAK_LEADS=N to change); checks every invariant.
soak: $(STAMP)
	$(PY) -m bench.soak

# The follow-up tick at full size: 10,000 due follow-ups in ticks of 1,000, each reminded once (FOLLOWUP_SCALE=N).
.PHONY: soak-followups
soak-followups: $(STAMP)
	FOLLOWUP_SCALE=$${FOLLOWUP_SCALE:-10000} $(PY) -m pytest -q tests/integration/test_followup_scale.py -k thousands

# Item 6 of #14 at full size: 10,000 leads, 16 consumers on the moto server, counters == recount (DASHBOARD_SCALE_LEADS=N).
soak-dashboard: $(STAMP)
	$(PY) -m bench.dashboard_scale

# Coverage-guided fuzzing of every webhook adapter with atheris (FUZZ_RUNS=N inputs, default 2,000).
fuzz: $(STAMP)
	$(PY) -m pip install --quiet -e '.[fuzz]'
	$(PY) -m bench.fuzz_capture

# The AWS bill per month in rupees (docs/deploy.md): the synthesized template (STAGE, default dev)
# and the per-lead units of the last `make bench`; COST_ARGS=--production-options prices the options.
.PHONY: cost
cost: $(STAMP)
	$(PY) -m bench.cost --stage $${STAGE:-dev} $(COST_ARGS)

clean:
	rm -rf build cdk.out .leadrelay .pytest_cache
