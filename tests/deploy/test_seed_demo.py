"""`make run`'s demo data (scripts/run.sh): `seed_demo` makes the operator, the demo tenant and its
owner; deploy's own `seed_demo_app` then creates the app "hello" on a local git repository and
queues its first deployment (tenants knows nothing of deploy, ARCHITECTURE.md §3a)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from apps.deploy.models import App, Deployment
from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_seed_demo_then_seed_demo_app_deploy_hello(settings, tmp_path):
    settings.DEPLOY_ALLOW_LOCAL_GIT = True
    call_command("seed_demo", "--force", stdout=StringIO())
    tenant = Tenant.objects.get(slug="demo")
    with tenant_context(tenant):
        assert not App.objects.exists()  # the app is deploy's part

    out = StringIO()
    call_command("seed_demo_app", "--repo", str(tmp_path / "demo-app"), stdout=out)
    with tenant_context(tenant):
        app = App.objects.get(name="hello")
        deployment = Deployment.objects.get(app=app)
    assert f"deployment {deployment.pk} queued" in out.getvalue()

    call_command("seed_demo", "--force", stdout=StringIO())  # idempotent, both
    call_command("seed_demo_app", "--repo", str(tmp_path / "demo-app"), stdout=StringIO())
    with tenant_context(tenant):
        assert list(App.objects.values_list("name", flat=True)) == ["hello"]
