"""Backups of add-ons: storage (local directory or S3-compatible), streaming encryption at rest,
and the engines that dump and restore PostgreSQL and Redis. See docs/addons-backups.md."""
