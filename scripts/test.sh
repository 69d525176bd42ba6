#!/usr/bin/env bash
# `make test`: ruff, then pytest (extra arguments go to pytest), against PostgreSQL and Redis found
# or started by scripts/services.py (and stopped again on exit if this run started them).
# Exits with pytest's status, or ruff's if only ruff failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

export DJANGO_SETTINGS_MODULE=config.settings.test

# Chromium and its driver for the browser tests (installed when missing and running as root).
bash scripts/browser_deps.sh

ruff_status=0
.venv/bin/ruff check . || ruff_status=$?

pytest_status=0
.venv/bin/python -m pytest "$@" || pytest_status=$?

if [ "$ruff_status" -ne 0 ]; then
  echo "test.sh: ruff check failed (exit $ruff_status)" >&2
fi
if [ "$pytest_status" -ne 0 ]; then
  exit "$pytest_status"
fi
exit "$ruff_status"
