"""`make run`: the demo tenant's first monitor (Quayside's own /healthz) and a public status page
at /status/demo/ showing it. Idempotent; the demo app's own monitor comes by itself once its
deployment is live (apps/monitoring/app_monitors.py)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from apps.monitoring import services
from apps.monitoring.models import Monitor, StatusPage
from apps.tenants.models import Tenant

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Give the demo tenant a monitor and a public status page (local use only)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo_monitoring is for local demo data; DEBUG is off.")
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None:
            raise CommandError("Run `manage.py seed_demo` first.")
        port = os.environ.get("PORT", "8000")
        with schema_context(tenant.schema_name):
            monitor = Monitor.objects.filter(name="Quayside health").first()
            if monitor is None:
                monitor = services.monitor_create(
                    tenant=tenant, actor=services.SYSTEM, kind="http", name="Quayside health",
                    url=f"http://127.0.0.1:{port}/healthz", keyword="ok", interval_s=30,
                )  # fmt: skip
            if not StatusPage.objects.filter(slug=DEMO_SLUG).exists():
                services.status_page_create(
                    tenant=tenant, actor=services.SYSTEM, slug=DEMO_SLUG, title="Demo status",
                    description="Checked every 30 s by Quayside's own scheduler.",
                    monitor_ids=[monitor.pk],
                )  # fmt: skip
        self.stdout.write(
            self.style.SUCCESS("Demo monitoring ready.")
            + f"\n  Status page: http://{settings.BASE_DOMAIN}:{port}/status/{DEMO_SLUG}/"
        )
