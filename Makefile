# Switchboard: `make run` starts everything on this machine; `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
INFRA  := PYTHON=$(abspath $(PY)) bash deploy/local/infra.sh
# HELPDESK_TEST_INFRA=testcontainers runs the tests on Kafka and MongoDB containers (needs Docker).
HELPDESK_TEST_INFRA ?= local

.PHONY: install infra-up infra-down infra-status infra-reset lint test unit run bench token schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

infra-up: install
	$(INFRA) up

infra-down:
	$(INFRA) down

infra-status:
	$(INFRA) status

infra-reset:
	$(INFRA) reset

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

unit: install
	$(PY) -m pytest tests/unit -q

ifeq ($(HELPDESK_TEST_INFRA),testcontainers)
test: install lint
	HELPDESK_TEST_INFRA=testcontainers $(PY) -m pytest
else
test: install lint infra-up
	$(PY) -m pytest
endif

run: install infra-up
	$(PY) -m shared.devstack run

bench: install infra-up
	$(PY) tests/bench/bench_flow.py

schemas: install
	$(PY) -m shared.events.schemas docs/schemas

token: install
	@$(PY) -m shared.auth_cli

clean: infra-down
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache
