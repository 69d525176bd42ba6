"""The deploy pipeline and the reconciler drive the Kubernetes provider (DEPLOY_PROVIDER=
kubernetes) on the emulator: a scale of an app whose build is an image goes live in the cluster,
and the reconciler repairs what was changed there by hand."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import transaction
from django_tenants.utils import tenant_context

from apps.deploy import pipeline, reconcile, services
from apps.deploy.models import Build
from tests.deploy.factories import deployed_app
from tests.k8s.emulator.controller import DEPLOYMENT

pytestmark = pytest.mark.django_db

IMAGE = "registry.test/shop@sha256:" + "c" * 64


@pytest.fixture
def image_app(world, provider, settings, monkeypatch):
    settings.DEPLOY_PROVIDER = "kubernetes"
    monkeypatch.setattr(services, "enqueue_deployment", lambda pk: None)
    monkeypatch.setattr(services, "enqueue_reconcile", lambda pk: None)
    objs = deployed_app(world["tenant_a"], world["alice"])
    with tenant_context(world["tenant_a"]):
        Build.objects.filter(pk=objs["build"].pk).update(
            kind="image", source_dir="", run_needs={"image": IMAGE}
        )
    return objs


def test_a_scale_goes_live_in_the_cluster_and_the_reconciler_repairs_drift(image_app, world, k8s):
    tenant = world["tenant_a"]
    app = image_app["app"]
    with tenant_context(tenant):
        with transaction.atomic():
            deployment = services.app_scale(
                app=app, tenant=tenant, actor=services.SYSTEM, formation={"web": 2}
            )
        outcome = pipeline.deployment_execute(deployment.pk)
        deployment.refresh_from_db()
        assert outcome == "live", deployment.failure_reason
        deployment.refresh_from_db()
        key = pipeline.deployment_key(deployment)
    ns = f"qs-{tenant.slug}"
    [web] = k8s.store.find("Deployment", ns, **{"quayside.dev/process-type": "web"})
    assert web["spec"]["replicas"] == 2
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == IMAGE
    # The app sets no health path: the operator's (DEPLOY_HEALTH_PATH, which a runtime test
    # session may have changed).
    assert container["readinessProbe"]["httpGet"]["path"] == settings.DEPLOY_HEALTH_PATH
    [secret] = k8s.store.find("Secret", ns)
    assert set(secret["data"]) == {"SECRET_KEY"}
    [service] = k8s.store.find("Service", ns)
    assert service["spec"]["selector"]["quayside.dev/deployment"] == key

    # Someone scales it down by hand: the reconciler puts it back and says so.
    k8s.store.patch(DEPLOYMENT, ns, web["metadata"]["name"], {"spec": {"replicas": 0}},
                    manager="kubectl-edit")  # fmt: skip
    with tenant_context(tenant):
        actions = reconcile.reconcile_app(app.pk)
    assert actions == [
        f"repaired drift: Deployment {ns}/{web['metadata']['name']} had spec.replicas changed"
    ]
    assert k8s.store.get(DEPLOYMENT, ns, web["metadata"]["name"])["spec"]["replicas"] == 2
