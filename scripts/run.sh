#!/usr/bin/env bash
# `make run`: the whole stack (web + celery worker + beat + the apps' runtime: supervisord with
# Caddy) on http://localhost:${PORT:-8000}/ and the apps on http://*.apps.localhost:8080/,
# with PostgreSQL and Redis found or started by scripts/services.py (and stopped again on exit
# if this run started them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.local}"
export PORT="${PORT:-8000}"
base_domain="${BASE_DOMAIN:-localhost}"
# The local runtime (docs/deploy.md): supervisord runs Caddy and the deployed apps; Caddy serves
# the apps on DEPLOY_HTTP_LISTEN at <app>-<tenant>.<APPS_DOMAIN>.
export DEPLOY_RUNTIME_DIR="${DEPLOY_RUNTIME_DIR:-$PWD/.local/runtime}"
export DEPLOY_HTTP_LISTEN="${DEPLOY_HTTP_LISTEN:-127.0.0.1:8080}"
export APPS_DOMAIN="${APPS_DOMAIN:-apps.localhost}"
apps_port="${DEPLOY_PUBLIC_PORT:-${DEPLOY_HTTP_LISTEN##*:}}"

.venv/bin/python manage.py release
.venv/bin/python manage.py seed_demo
# A local git repository with a tiny WSGI app, deployed to the demo tenant by the worker.
.venv/bin/python manage.py seed_demo_app
# A monitor on Quayside's own /healthz and a public status page at /status/demo/.
.venv/bin/python manage.py seed_demo_monitoring
# supervisord's and Caddy's config (routes from the database), for the `runtime` process.
QS_RUNTIME_CONF=$(.venv/bin/python manage.py deploy_runtime render)
export QS_RUNTIME_CONF

cat <<INFO

  Quayside is starting (Ctrl-C stops it):
    Operator admin  http://${base_domain}:${PORT}/admin/
    API docs        http://${base_domain}:${PORT}/api/docs/
    Demo tenant     http://demo.${base_domain}:${PORT}/
    Demo app        http://hello-demo.${APPS_DOMAIN}:${apps_port}/  (deployed in the background)
    Status page     http://${base_domain}:${PORT}/status/demo/
    Apps (Caddy)    http://${DEPLOY_HTTP_LISTEN}/  <app>-<tenant>.${APPS_DOMAIN}

INFO

# Not exec: the EXIT trap must run afterwards to stop the servers this run started.
.venv/bin/honcho start -f Procfile.local -p "$PORT"
