#!/usr/bin/env bash
# `make run`: the whole stack (web + celery worker + beat + the apps' runtime: supervisord with
# Caddy) on http://localhost:${PORT:-8000}/ and the apps on http://*.apps.localhost:8080/,
# with PostgreSQL and Redis found or started by scripts/services.py (and stopped again on exit
# if this run started them).
#
# The web server listens on 127.0.0.1 unless BIND says otherwise (local mode has DEBUG on and
# demo logins with public passwords). Quiet: warnings and errors only, unless VERBOSE=1 or
# LOG_LEVEL=INFO. The URLs and demo logins are printed once everything has started (the `ready`
# process of Procfile.local). scripts/runlocal.py decides all three.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.local}"
export PORT="${PORT:-8000}"
export BASE_DOMAIN="${BASE_DOMAIN:-localhost}"
# honcho gives each process type its own PORT, so mailed links (sent by the worker) would not
# point at the web server without this.
export ROOT_URL="${ROOT_URL:-http://${BASE_DOMAIN}:${PORT}}"
# The local runtime (docs/deploy.md): supervisord runs Caddy and the deployed apps; Caddy serves
# the apps on DEPLOY_HTTP_LISTEN at <app>-<tenant>.<APPS_DOMAIN>.
export DEPLOY_HTTP_LISTEN="${DEPLOY_HTTP_LISTEN:-127.0.0.1:8080}"
export APPS_DOMAIN="${APPS_DOMAIN:-apps.localhost}"
# BIND/QS_WEB_BIND, VERBOSE, LOG_LEVEL and the QS_* options of Procfile.local, and
# DEPLOY_RUNTIME_DIR: in the checkout's .local/runtime, or /var/tmp/quayside-<hash>/runtime when
# the apps' user could not reach that (a checkout under a 0700 home directory).
run_env=$(.venv/bin/python scripts/runlocal.py env)
# The apps' runtime's Debian packages: the sandbox's and socat (for apps that listen on $PORT).
# Installed when missing and running as root; otherwise it says what to install, and that
# DEPLOY_SANDBOX=off runs apps unsandboxed (development only).
bash scripts/runtime_deps.sh run
eval "$run_env"

quietly() {
  if [ "$VERBOSE" = 1 ]; then "$@"; else "$@" >/dev/null; fi
}

echo "Quayside: migrating the database and making the demo data…"
if [ "$VERBOSE" = 1 ]; then
  .venv/bin/python manage.py release
else
  .venv/bin/python manage.py release --verbosity 0 >/dev/null
fi
# The demo logins, printed again by the `ready` process once everything has started.
demo_output=$(.venv/bin/python manage.py seed_demo --no-color)
if [ "$VERBOSE" = 1 ]; then printf '%s\n' "$demo_output"; fi
QS_DEMO_LOGINS=$(printf '%s\n' "$demo_output" | grep -E '^ +(Operator|Demo tenant owner):' || true)
export QS_DEMO_LOGINS
# A local git repository with a tiny WSGI app, deployed to the demo tenant by the worker.
quietly .venv/bin/python manage.py seed_demo_app
# A monitor on Quayside's own /healthz and a public status page at /status/demo/.
quietly .venv/bin/python manage.py seed_demo_monitoring
# supervisord's and Caddy's config (routes from the database), for the `runtime` process.
QS_RUNTIME_CONF=$(.venv/bin/python manage.py deploy_runtime render)
export QS_RUNTIME_CONF

echo "Quayside: starting the web server, workers, beat and the app runtime" \
  "(apps' files in $DEPLOY_RUNTIME_DIR); the URLs follow once they answer."
# Not exec: the EXIT trap must run afterwards to stop the servers this run started.
.venv/bin/honcho start -f Procfile.local -p "$PORT"
