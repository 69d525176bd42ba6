# The two commands: `make run` and `make test`. Both need only Python 3.11; PostgreSQL and Redis
# are used if already running, otherwise project-local ones are started under .local/.
#   make test ARGS="-k tenants -x"     extra pytest arguments
#   make test-fast                     the same without the runtime, browser and contract tests
#   make lint                          ruff, ruff format --check, import contracts, private names
#   make run VERBOSE=1                 every request, task and beat tick (quiet otherwise)
#   make run BIND=0.0.0.0              listen beyond loopback (prints a warning: DEBUG is on)

ARGS ?=
PYTHON := .venv/bin/python

.PHONY: run test test-fast lint bootstrap services-up services-down services-status clean-local

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh $(ARGS)

# The markers are registered in pyproject.toml; tests/README.md says what each one costs.
test-fast:
	@QS_BROWSER_DEPS=0 bash scripts/test.sh -m "not runtime and not browser and not contract" $(ARGS)

lint: bootstrap
	@bash scripts/lint.sh

bootstrap:
	@bash scripts/bootstrap.sh

services-status: bootstrap
	@$(PYTHON) scripts/services.py status

# Stops every project-local PostgreSQL/Redis of this checkout (not servers it merely used).
services-down:
	@if [ -x $(PYTHON) ]; then $(PYTHON) scripts/services.py down --all; fi

clean-local:
	@if [ -x $(PYTHON) ]; then $(PYTHON) scripts/services.py down --all --purge; fi
	rm -rf .local
