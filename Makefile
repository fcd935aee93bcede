# callvault: `make run` sets everything up and serves; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test test-wheel test-contract install lint typecheck bench-ingest bench-audit bench-access bench-lifecycle bench-webhooks bench-redaction bench-redaction-memory bench-web bench-backup bench-quality bench-training corpus-heldout clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/callvault serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# Builds the wheel, installs it (not editable) into a fresh venv that borrows the dependencies
# already installed here, and runs init, serve, pages, a static file and one ingest (slow).
test-wheel: $(STAMP)
	CALLVAULT_TEST_WHEEL=1 $(PY) -m pytest tests/core/test_wheel.py $(PYTEST_ARGS)

# schemathesis 4 with every check against a running `callvault serve`, as every role, every
# service-token scope and nobody (a few minutes).
test-contract: $(STAMP)
	CALLVAULT_TEST_CONTRACT=1 $(PY) -m pytest tests/contract $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy src

CORPUS ?= ../shared/corpus/sv-calls-dev

bench-ingest: $(STAMP)
	$(PY) -m benchmarks.ingest

bench-audit: $(STAMP)
	$(PY) -m benchmarks.audit

bench-access: $(STAMP)
	$(PY) -m benchmarks.access

bench-lifecycle: $(STAMP)
	$(PY) -m benchmarks.lifecycle

bench-webhooks: $(STAMP)
	$(PY) -m benchmarks.webhooks

bench-redaction: $(STAMP)
	$(PY) -m benchmarks.redaction --corpus $(CORPUS)

# Peak memory of pseudonymising a 4-hour stereo call (a stand-in recogniser; see the module).
bench-redaction-memory: $(STAMP)
	$(PY) -m benchmarks.redaction_memory --hours 4

# A generated held-out corpus (other phrasings, voices and names than sv-calls-dev; needs
# espeak-ng): `make corpus-heldout && make bench-redaction CORPUS=var/heldout` (and var/heldout-8k).
corpus-heldout: $(STAMP)
	$(PY) -m benchmarks.synth_corpus --out var/heldout --calls 24 --seed 7 --telephone

bench-web: $(STAMP)
	$(PY) -m benchmarks.web

# Backup of 100,000 recordings' rows and keys, a restore replaying 10,000 erasures, and the
# retention sweep with key epochs against main's (set MAIN to another checkout to compare).
bench-backup: $(STAMP)
	$(PY) -m benchmarks.backup $(if $(MAIN),--compare-with $(MAIN))

bench-quality: $(STAMP)
	$(PY) -m benchmarks.quality

# Rendering needs nothing; the search half needs PostgreSQL (CALLVAULT_TEST_PG).
bench-training: $(STAMP)
	$(PY) -m benchmarks.training
	$(PY) -m benchmarks.training --search

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
