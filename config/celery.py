"""Celery application. Tasks are tenant-aware (tenant-schemas-celery): a task sent while a tenant's
schema is active runs in that schema; beat runs on django-celery-beat's DatabaseScheduler."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = CeleryApp("quayside")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
