# Two commands set everything up on a fresh machine with python3 and make:
#   make demo   creates .venv, installs the hub, runs `hub demo`
#   make test   creates .venv, installs with test extras, runs the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-postgres bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's own dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# IATI's own 2.03 schema, which the tests check the IATI export against: pyIATI carries it.
	# Its code is never imported and its pins are years old, so it comes without dependencies.
	$(BIN)/python -m pip install --quiet --no-deps 'pyIATI==0.4.1'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/hub demo

# Two pytest workers (pytest-xdist): most of a test's time is spent waiting on the subprocesses
# and servers it starts, so two share two cores well. `make test PYTEST_WORKERS=0` runs in one.
PYTEST_WORKERS ?= 2

test: $(VENV)/.installed
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The whole suite again, every hub command on PostgreSQL (the tests start a throwaway cluster
# from the machine's postgresql package).
test-postgres: $(VENV)/.installed
	WASL_TEST_STORE=postgresql $(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/reconcile.py
	$(BIN)/python bench/reconcile_store.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/browse.py
	$(BIN)/python bench/schedule.py

clean:
	rm -rf $(VENV) .hub .pytest_cache
