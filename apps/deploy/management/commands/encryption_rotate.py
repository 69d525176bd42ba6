"""Re-encrypt every secret of the deploy app with the first key of FIELD_ENCRYPTION_KEYS.

    manage.py encryption_rotate [--dry-run]

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then drop the old keys. Visits every tenant schema; idempotent (values the first
key already opens are left alone)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from django_tenants.utils import tenant_context

from apps.core import crypto
from apps.deploy import selectors
from apps.deploy.models import App, EnvVar, Release
from apps.tenants.models import Tenant

# (model, encrypted columns). Releases are immutable, so rows are rewritten with update().
ENCRYPTED = [
    (EnvVar, ["value_encrypted"]),
    (Release, ["config_encrypted"]),
    (App, ["git_url_encrypted", "webhook_secret_encrypted"]),
]


class Command(BaseCommand):
    help = "Re-encrypt env vars, release configs and app secrets with the newest key."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        ids = [schema.tenant_id for schema in selectors.tenant_schemas()]
        rotated = checked = 0
        for tenant in Tenant.objects.filter(pk__in=ids).order_by("schema_name"):
            with tenant_context(tenant), transaction.atomic():
                for model, fields in ENCRYPTED:
                    for row in model.objects.values("pk", *fields).iterator():
                        changes = {}
                        for field in fields:
                            token = row[field]
                            if not token:
                                continue
                            checked += 1
                            if crypto.needs_rotation(token):
                                changes[field] = crypto.rotate(token)
                        if changes:
                            rotated += len(changes)
                            if not dry_run:
                                model.objects.filter(pk=row["pk"]).update(**changes)
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(f"{verb} {rotated} of {checked} encrypted values in {len(ids)} tenants")
