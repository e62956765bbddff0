# zhifa — two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)

.PHONY: run test test-unit test-integration bench chaos alert-soak install broker contracts clean oidc-provider

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# a real OpenID provider (npm oidc-provider) for the sign-in tests and the demo; never deployed
OIDC_DIR := tools/oidc-provider
$(OIDC_DIR)/node_modules/.installed: $(OIDC_DIR)/package.json $(OIDC_DIR)/package-lock.json
	cd $(OIDC_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

oidc-provider: $(OIDC_DIR)/node_modules/.installed

broker:  ## make sure a RabbitMQ answers at AMQP_URI (installs and starts it when none does)
	bash deploy/local/ensure_broker.sh

run: install broker oidc-provider  ## the whole suite + demo departmental traffic; Ctrl-C stops everything
	$(PY) deploy/local/run.py

test: install oidc-provider  ## unit + integration tests (integration needs RabbitMQ and PostgreSQL on this machine)
	$(PY) -m pytest -q

test-unit: install
	$(PY) -m pytest -q -m "not integration and not browser"

test-integration: install oidc-provider
	$(PY) -m pytest -q -m integration

bench: install broker  ## prints BENCH <name> <value> <unit> lines
	$(PY) bench/run_all.py

alert-soak: install broker oidc-provider  ## make run watched by Prometheus with the shipped alert rules (ZHIFA_ALERT_SOAK_MINUTES, 10); fails if any alert fires
	$(PY) tools/alert_soak.py

chaos: install broker  ## seeded rounds of every fault (ZHIFA_CHAOS_ROUNDS, 20; ZHIFA_CHAOS_SEED); fails on any loss or duplicate
	$(PY) tools/chaos.py

contracts: install  ## regenerate docs/contracts (JSON Schema + AsyncAPI) from the marshmallow catalogue
	$(PY) -m services.common.cli contracts
	$(PY) -m services.common.cli docs

clean:
	rm -rf var/*.db var/*.db-* var/blobs
