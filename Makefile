# zhifa — two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)

.PHONY: run test test-unit test-integration bench install broker contracts clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

broker:  ## make sure a RabbitMQ answers at AMQP_URI (installs and starts it when none does)
	bash deploy/local/ensure_broker.sh

run: install broker  ## the whole suite + demo departmental traffic; Ctrl-C stops everything
	$(PY) deploy/local/run.py

test: install  ## unit + integration tests (integration needs RabbitMQ and PostgreSQL on this machine)
	$(PY) -m pytest -q

test-unit: install
	$(PY) -m pytest -q -m "not integration and not browser"

test-integration: install
	$(PY) -m pytest -q -m integration

bench: install broker  ## prints BENCH <name> <value> <unit> lines
	$(PY) bench/run_all.py

contracts: install  ## regenerate docs/contracts (JSON Schema + AsyncAPI) from the marshmallow catalogue
	$(PY) -m services.common.cli contracts
	$(PY) -m services.common.cli docs

clean:
	rm -rf var/*.db var/*.db-* var/blobs
