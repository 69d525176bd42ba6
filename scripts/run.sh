#!/usr/bin/env bash
# `make run`: the whole stack (web + celery worker + beat) on http://localhost:${PORT:-8000}/,
# with PostgreSQL and Redis found or started by scripts/services.py (and stopped again on exit
# if this run started them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

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

export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.local}"
export PORT="${PORT:-8000}"
base_domain="${BASE_DOMAIN:-localhost}"

.venv/bin/python manage.py release
.venv/bin/python manage.py seed_demo

cat <<INFO

  Quayside is starting (Ctrl-C stops it):
    Operator admin  http://${base_domain}:${PORT}/admin/
    API docs        http://${base_domain}:${PORT}/api/docs/
    Demo tenant     http://demo.${base_domain}:${PORT}/

INFO

# Not exec: the EXIT trap must run afterwards to stop the servers this run started.
.venv/bin/honcho start -f Procfile.local -p "$PORT"
