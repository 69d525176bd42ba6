from django.core.management.base import BaseCommand

from apps.tenants import schema_template


class Command(BaseCommand):
    help = "Render the tenant schema template for the current migrations (skipped when current)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Render again even if current.")

    def handle(self, *args, force: bool = False, verbosity: int = 1, **options):
        template = schema_template.template_build(force=force, verbosity=max(0, verbosity - 1))
        self.stdout.write(
            f"Tenant schema template {template.fingerprint[:12]}: "
            f"{template.migration_count} migrations, {len(template.sql)} bytes of SQL."
        )
