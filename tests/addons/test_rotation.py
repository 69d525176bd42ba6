"""Rotation revokes the old credentials only once the deployment carrying the new ones is live:
not while it is queued or running, and never when it failed (the previous release, with the old
credentials, still serves). The live path is tests/addons/test_runtime.py's."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from apps.addons import services
from apps.addons.models import Addon
from apps.core.actor import Actor
from apps.deploy.models import Deployment
from tests.deploy.factories import deployed_app

pytestmark = pytest.mark.django_db


def test_old_credentials_outlive_a_queued_or_failed_deployment(world):
    alpha, alice = world["tenant_a"], world["alice"]
    rows = deployed_app(alpha, alice)
    with tenant_context(alpha):
        deployment = Deployment.objects.get(app=rows["app"])
        addon = services.addon_create(
            app=rows["app"], tenant=alpha, actor=Actor(user=alice), kind="postgres"
        )
        Addon.objects.filter(pk=addon.pk).update(
            previous_credentials_encrypted=addon.credentials_encrypted,
            rotation_deployment_id=deployment.pk,
        )
        for state in ("queued", "building", "switching"):
            Deployment.objects.filter(pk=deployment.pk).update(state=state)
            assert services.addon_rotation_finish(addon_id=addon.pk) is False
        Deployment.objects.filter(pk=deployment.pk).update(state="failed")
        # Nothing is revoked (no server is even asked: there is none in this test).
        assert services.addon_rotation_finish(addon_id=addon.pk) is True
        addon.refresh_from_db()
        assert addon.previous_credentials_encrypted == "" and addon.rotation_deployment_id is None
        assert "old ones still work" in addon.status_detail
