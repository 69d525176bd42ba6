# Sourced by run.sh and test.sh: the virtualenv, then PostgreSQL and Redis (found or started by
# scripts/services.py) exported as DATABASE_URL/REDIS_URL, stopped on exit if this script started
# them. Expects to be sourced from the repo root with `set -euo pipefail`.

bash scripts/bootstrap.sh

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  .venv/bin/python scripts/services.py down --owner-pid $$ || true
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Two steps rather than eval "$(...)" so that a failing `up` stops the script (set -e).
service_env=$(.venv/bin/python scripts/services.py up --owner-pid $$)
eval "$service_env"
