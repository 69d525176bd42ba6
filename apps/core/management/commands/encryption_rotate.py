"""Re-encrypt every encrypted column with the first key of FIELD_ENCRYPTION_KEYS.

    manage.py encryption_rotate [--dry-run]

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then drop the old keys (a day later: idempotent replies kept in Redis are
encrypted too). Encrypted columns are found by name (`…_encrypted`) in every installed model, so
an app adding one needs nothing here: public-schema models are visited once, tenant models in
every tenant schema. Encrypted values inside JSON columns are named in
settings.FIELD_ENCRYPTION_JSON (MFA secrets). Idempotent (values the first key already opens are
left alone)."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import models, transaction
from django_tenants.utils import get_tenant_model, schema_context, schema_exists

from apps.core import crypto

SUFFIX = "_encrypted"


def encrypted_columns(app_names) -> list[tuple[type[models.Model], list[str]]]:
    """(model, [column attnames]) of the installed apps named in `app_names`."""
    out = []
    for config in apps.get_app_configs():
        if config.name not in app_names:
            continue
        for model in config.get_models():
            fields = [
                f.attname
                for f in model._meta.concrete_fields
                if f.name.endswith(SUFFIX) and isinstance(f, models.TextField | models.CharField)
            ]
            if fields and not model._meta.proxy:
                out.append((model, fields))
    return out


def rotate_json(model, column: str, keys: list[str], *, dry_run: bool) -> tuple[int, int]:
    """Tokens kept under `keys` of a JSON column (a token, or a list of tokens)."""
    rotated = checked = 0
    for pk, data in model._base_manager.values_list("pk", column).iterator():
        if not isinstance(data, dict):
            continue
        changed = False
        for key in keys:
            value = data.get(key)
            items = value if isinstance(value, list) else [value]
            out = []
            for item in items:
                if isinstance(item, str) and crypto.is_token(item):
                    checked += 1
                    if crypto.needs_rotation(item):
                        item, changed, rotated = crypto.rotate(item), True, rotated + 1
                out.append(item)
            if key in data:
                data[key] = out if isinstance(value, list) else out[0]
        if changed and not dry_run:
            model._base_manager.filter(pk=pk).update(**{column: data})
    return rotated, checked


def rotate_rows(model, fields: list[str], *, dry_run: bool) -> tuple[int, int]:
    rotated = checked = 0
    for row in model._base_manager.values("pk", *fields).iterator():
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
            if not dry_run:  # update(): immutable models (releases) refuse save()
                model._base_manager.filter(pk=row["pk"]).update(**changes)
    return rotated, checked


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column (every tenant schema too) with the newest key."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        shared = encrypted_columns(settings.SHARED_APPS)
        per_tenant = encrypted_columns(settings.TENANT_APPS)
        rotated = checked = tenants = 0
        public = settings.PUBLIC_SCHEMA_NAME
        with schema_context(public), transaction.atomic():
            for model, fields in shared:
                done, seen = rotate_rows(model, fields, dry_run=dry_run)
                rotated, checked = rotated + done, checked + seen
            for label, columns in getattr(settings, "FIELD_ENCRYPTION_JSON", {}).items():
                model = apps.get_model(label)
                for column, keys in columns.items():
                    done, seen = rotate_json(model, column, keys, dry_run=dry_run)
                    rotated, checked = rotated + done, checked + seen
        schemas = (
            get_tenant_model()
            .objects.exclude(schema_name=public)
            .order_by("schema_name")
            .values_list("schema_name", flat=True)
        )
        for schema in schemas:
            if not schema_exists(schema):  # purged
                continue
            tenants += 1
            with schema_context(schema), transaction.atomic():
                for model, fields in per_tenant:
                    done, seen = rotate_rows(model, fields, dry_run=dry_run)
                    rotated, checked = rotated + done, checked + seen
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(f"{verb} {rotated} of {checked} encrypted values in {tenants} tenants")
