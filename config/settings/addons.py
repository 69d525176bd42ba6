"""Add-ons (apps/addons/): PostgreSQL and Redis per app. Imported by base.py; docs/addons.md
explains each one and the README's table lists the environment variables."""

import environ

env = environ.Env()

# Empty (the default): add-on databases live on a PostgreSQL cluster of their own that the local
# runtime makes and runs under <DEPLOY_RUNTIME_DIR>/addons/pg (never Quayside's own server).
# Set: an operator's server (e.g. on the Kubernetes provider), reached with this superuser URL.
ADDONS_POSTGRES_ADMIN_URL = env("ADDONS_POSTGRES_ADMIN_URL", default="")
# External server: the host apps connect to (default: the admin URL's host).
ADDONS_POSTGRES_APP_HOST = env("ADDONS_POSTGRES_APP_HOST", default="")
# Where initdb and postgres are (default: the newest /usr/lib/postgresql/*/bin).
ADDONS_POSTGRES_BIN_DIR = env("ADDONS_POSTGRES_BIN_DIR", default="")
ADDONS_POSTGRES_USER = env("ADDONS_POSTGRES_USER", default="postgres")
ADDONS_POSTGRES_MAX_CONNECTIONS = env.int("ADDONS_POSTGRES_MAX_CONNECTIONS", default=300)
ADDONS_REDIS_SERVER_BIN = env("ADDONS_REDIS_SERVER_BIN", default="/usr/bin/redis-server")
ADDONS_REDIS_USER = env("ADDONS_REDIS_USER", default="redis")
# Sizes where the tenant's plan sets none (entitlements addon_postgres_mb, addon_redis_mb).
ADDONS_DEFAULT_POSTGRES_MB = env.int("ADDONS_DEFAULT_POSTGRES_MB", default=1024)
ADDONS_DEFAULT_REDIS_MB = env.int("ADDONS_DEFAULT_REDIS_MB", default=64)
ADDONS_DEFAULT_BACKUPS_KEPT = env.int("ADDONS_DEFAULT_BACKUPS_KEPT", default=7)
# Over its size an add-on is warned (event addon.size_exceeded), and read-only this many seconds
# later if it is still over.
ADDONS_READ_ONLY_AFTER_S = env.int("ADDONS_READ_ONLY_AFTER_S", default=3600)
# One-off psql sessions: how long their temporary role may log in (minutes).
ADDONS_SESSION_MINUTES = env.int("ADDONS_SESSION_MINUTES", default=15)

ADDONS_BEAT_SCHEDULE = {
    "addons.sizes_check": {"task": "addons.sizes_check", "schedule": 300.0},
}
