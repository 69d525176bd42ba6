"""The operator console shows each tenant's apps, deployments (steps and logs) and releases,
and its actions call the services."""

import pytest
from django_tenants.utils import tenant_context

from apps.deploy.models import Deployment

from .factories import deployed_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client, world):
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    return client


def test_pick_a_tenant_then_see_its_apps(operator, world):
    deployed_app(world["tenant_a"], world["alice"], name="alpha-shop")
    deployed_app(world["tenant_b"], world["bob"], name="bravo-shop")
    chooser = operator.get("/admin/deploy/app/")
    assert chooser.status_code == 200
    assert "?tenant=alpha" in chooser.content.decode()
    picked = operator.get("/admin/deploy/app/?tenant=alpha")
    assert picked.status_code == 302 and picked["Location"] == "/admin/deploy/app/"
    html = operator.get("/admin/deploy/app/").content.decode()
    assert "alpha-shop" in html and "bravo-shop" not in html
    operator.get("/admin/deploy/app/?tenant=bravo")
    html = operator.get("/admin/deploy/app/").content.decode()
    assert "bravo-shop" in html and "alpha-shop" not in html


def test_deployment_page_shows_steps_and_logs(operator, world):
    objs = deployed_app(world["tenant_a"], world["alice"])
    operator.get("/admin/deploy/deployment/?tenant=alpha")
    assert objs["app"].name in operator.get("/admin/deploy/deployment/").content.decode()
    page = operator.get(f"/admin/deploy/deployment/{objs['deployment'].pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "[build] built" in html and "<td>live</td>" in html


def test_release_rollback_action_calls_the_service(operator, world):
    objs = deployed_app(world["tenant_a"], world["alice"])
    operator.get("/admin/deploy/release/?tenant=alpha")
    response = operator.post(
        "/admin/deploy/release/",
        {"action": "rollback", "_selected_action": [str(objs["release"].pk)]},
    )
    assert response.status_code == 302
    with tenant_context(world["tenant_a"]):
        rollback = Deployment.objects.get(app=objs["app"], kind="rollback")
        assert (
            rollback.release.version == 2 and rollback.release.rollback_of_id == objs["release"].pk
        )
        assert rollback.started_by_label == "operator@example.com"
