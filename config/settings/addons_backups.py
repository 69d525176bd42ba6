"""Backups of add-ons (apps/addons/backups/, docs/addons-backups.md). Imported by base.py.

Every name here lands in base.py's namespace (star import); the README's table lists the
environment variables."""

from pathlib import Path

import environ

env = environ.Env()
_BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Where backups are kept: "local" (a directory on this host, made 0700) or "s3" (any
# S3-compatible object storage, through boto3).
ADDONS_BACKUP_STORAGE = env("ADDONS_BACKUP_STORAGE", default="local")
ADDONS_BACKUP_DIR = env("ADDONS_BACKUP_DIR", default=str(_BASE_DIR / ".local" / "addon-backups"))
ADDONS_BACKUP_S3_ENDPOINT_URL = env("ADDONS_BACKUP_S3_ENDPOINT_URL", default="")
ADDONS_BACKUP_S3_BUCKET = env("ADDONS_BACKUP_S3_BUCKET", default="")
ADDONS_BACKUP_S3_ACCESS_KEY = env("ADDONS_BACKUP_S3_ACCESS_KEY", default="")
ADDONS_BACKUP_S3_SECRET_KEY = env("ADDONS_BACKUP_S3_SECRET_KEY", default="")
ADDONS_BACKUP_S3_REGION = env("ADDONS_BACKUP_S3_REGION", default="")
# Object names start with this prefix (one bucket shared by several installations).
ADDONS_BACKUP_S3_PREFIX = env("ADDONS_BACKUP_S3_PREFIX", default="")
# Multipart upload part size (MiB, at least 5): what an upload holds in memory.
ADDONS_BACKUP_S3_PART_MB = env.int("ADDONS_BACKUP_S3_PART_MB", default=8)
# Encryption at rest (apps/addons/backups/crypto.py): url-safe base64 of 32 random bytes each,
# newest first; the first encrypts, all decrypt. Empty: a key derived from SECRET_KEY (fine
# locally and in tests, not in production).
ADDONS_BACKUP_KEYS = env.list("ADDONS_BACKUP_KEYS", default=[])
# pg_dump's compression level (0-9) for PostgreSQL add-on backups.
ADDONS_BACKUP_PG_COMPRESS = env.int("ADDONS_BACKUP_PG_COMPRESS", default=6)
# Scheduled backups: each add-on gets one when its last scheduled one is older than this many
# hours (the beat task looks every hour, so a missed day catches up). Retention: the tenant's
# `addon_backups_kept` entitlement (ADDONS_DEFAULT_BACKUPS_KEPT without one) per add-on; the
# final backup taken before an add-on is destroyed is kept this many days.
ADDONS_BACKUP_INTERVAL_H = env.int("ADDONS_BACKUP_INTERVAL_H", default=24)
ADDONS_BACKUP_FINAL_KEEP_DAYS = env.int("ADDONS_BACKUP_FINAL_KEEP_DAYS", default=30)
# A backup or restore still running after this many hours was left by a crashed worker: failed.
ADDONS_BACKUP_STALE_H = env.int("ADDONS_BACKUP_STALE_H", default=6)

ADDONS_BACKUPS_BEAT_SCHEDULE = {
    "addons.backups_scheduled": {"task": "addons.backups_scheduled", "schedule": 3600.0},
}
