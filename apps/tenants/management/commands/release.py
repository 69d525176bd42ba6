"""The release step: shared migrations, tenant migrations only where pending, template render."""

import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tenants.management.commands.migrate_schemas import Command as MigrateSchemasCommand
from django_tenants.migration_executors import get_executor

from apps.tenants import schema_template
from apps.tenants.models import Tenant, TenantStatus
from apps.tenants.provisioning import schemas_with_pending_migrations, spares_fill


class Command(BaseCommand):
    help = (
        "Apply migrations for a release: the public schema, then only the tenant schemas that "
        "miss a migration (multiprocessing executor), then render the tenant schema template."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--executor",
            default="",
            help="django-tenants executor for tenant schemas (default: multiprocessing when "
            "more than one schema is pending, else standard).",
        )

    def handle(self, *args, executor: str = "", verbosity: int = 1, **options):
        started = time.perf_counter()
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        shared_s = time.perf_counter() - started

        checked = time.perf_counter()
        schemas = list(
            Tenant.objects.exclude(status=TenantStatus.DELETED).values_list(
                "schema_name", flat=True
            )
        )
        pending = schemas_with_pending_migrations(schemas)
        check_s = time.perf_counter() - checked
        self.stdout.write(
            f"Tenant schemas: {len(schemas)}, with pending migrations: {len(pending)} "
            f"(checked in {check_s:.2f} s)."
        )
        if pending:
            codename = executor or ("multiprocessing" if len(pending) > 1 else "standard")
            self._migrate_tenants(pending, codename, verbosity)

        template = schema_template.template_build(verbosity=max(0, verbosity - 1))
        made = spares_fill(target=settings.TENANT_SPARE_SCHEMAS)
        if made:
            self.stdout.write(f"Spare tenant schemas made: {made}.")
        self.stdout.write(
            f"Release migrations done in {time.perf_counter() - started:.2f} s "
            f"(shared {shared_s:.2f} s); tenant template {template.fingerprint[:12]}."
        )

    def _migrate_tenants(self, schemas: list[str], codename: str, verbosity: int) -> None:
        command = MigrateSchemasCommand()
        parser = command.create_parser("manage.py", "migrate_schemas")
        options = vars(parser.parse_args(["--tenant", "--noinput", f"--verbosity={verbosity}"]))
        args = options.pop("args", ())
        get_executor(codename)(args, options).run_migrations(tenants=schemas)
