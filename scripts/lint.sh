#!/usr/bin/env bash
# `make lint`, and the lint half of `make test` (scripts/test.sh): ruff, ruff's formatter, the
# import contracts (pyproject.toml [tool.importlinter]: ARCHITECTURE.md §3a) and the private-names
# check. Every step runs even after one fails; exits 1 if any failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

failed=()
step() {
  local name=$1
  shift
  "$@" || failed+=("$name")
}

step "ruff check" .venv/bin/ruff check .
step "ruff format --check" .venv/bin/ruff format --check .
step "lint-imports" .venv/bin/lint-imports --no-cache --no-logo
step "check_private_names" .venv/bin/python scripts/check_private_names.py

if [ "${#failed[@]}" -ne 0 ]; then
  echo "lint: failed: ${failed[*]}" >&2
  exit 1
fi
