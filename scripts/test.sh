#!/usr/bin/env bash
# `make test`: lint (scripts/lint.sh, what `make lint` runs: ruff, ruff format --check, the import
# contracts, the private-names check), then pytest (extra arguments go to pytest), against
# PostgreSQL and Redis found or started by scripts/services.py (and stopped again on exit if this
# run started them). Exits with pytest's status, or lint's if only lint failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

export DJANGO_SETTINGS_MODULE=config.settings.test

# Chromium and its driver for the browser tests (installed when missing and running as root).
bash scripts/browser_deps.sh
# The apps' runtime's Debian packages: the sandbox's and socat (installed when missing and running
# as root, else it says what to install).
bash scripts/runtime_deps.sh test

lint_status=0
bash scripts/lint.sh || lint_status=$?

pytest_status=0
.venv/bin/python -m pytest "$@" || pytest_status=$?

if [ "$lint_status" -ne 0 ]; then
  echo "test.sh: lint failed (exit $lint_status)" >&2
fi
if [ "$pytest_status" -ne 0 ]; then
  exit "$pytest_status"
fi
exit "$lint_status"
