"""Status pages in the tenant console: members add and edit them through the services (the
public slug index follows), viewers only look."""

import pytest
from django.contrib.auth import get_user_model

from apps.core.models import AuditEvent
from apps.monitoring.models import StatusPage, StatusPageMonitor
from apps.monitoring.schedule.models import StatusPageRoute
from apps.tenants.models import Membership, Role
from tests.monitoring.factories import create, in_tenant

HOST = "alpha.localhost"


def _person(tenant, email, role):
    user = get_user_model().objects.create_user(username=email, email=email, password="pw")
    Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def alpha(world):
    return world["tenant_a"]


def test_member_adds_and_edits_a_page(client, alpha, world):
    web = create(alpha, kind="http", name="Website", url="https://example.com/")
    api = create(alpha, kind="http", name="API", url="https://api.example.com/")
    client.force_login(_person(alpha, "erin@example.com", Role.MEMBER))
    form = {"slug": "alpha-status", "title": "Alpha status", "description": "",
            "announcement": "", "public": "on", "monitor_ids": [str(web.pk)]}  # fmt: skip
    response = client.post("/console/monitoring/statuspage/add/", form, HTTP_HOST=HOST)
    assert response.status_code == 302, response.content.decode()[:2000]
    route = StatusPageRoute.objects.get(slug="alpha-status")
    assert route.tenant_id == alpha.pk
    assert AuditEvent.objects.filter(action="status_page.created").exists()

    listing = client.get("/console/monitoring/statuspage/", HTTP_HOST=HOST)
    assert listing.status_code == 200 and "Alpha status" in listing.content.decode()
    edited = {**form, "title": "Alpha, edited", "monitor_ids": [str(api.pk), str(web.pk)]}
    change = client.post(f"/console/monitoring/statuspage/{route.page_id}/change/", edited,
                         HTTP_HOST=HOST)  # fmt: skip
    assert change.status_code == 302
    with in_tenant(alpha):
        assert StatusPage.objects.get(pk=route.page_id).title == "Alpha, edited"
        order = StatusPageMonitor.objects.filter(page_id=route.page_id).values_list(
            "monitor_id", flat=True
        )
        assert list(order) == [web.pk, api.pk]  # kept first, added after

    # A taken or reserved slug is refused with a message, nothing written.
    bad = client.post("/console/monitoring/statuspage/add/", {**form, "slug": "admin"},
                      HTTP_HOST=HOST, follow=True)  # fmt: skip
    assert "reserved" in bad.content.decode()
    assert StatusPageRoute.objects.count() == 1


def test_viewer_sees_but_may_not_add(client, alpha):
    client.force_login(_person(alpha, "frank@example.com", Role.VIEWER))
    assert client.get("/console/monitoring/statuspage/", HTTP_HOST=HOST).status_code == 200
    response = client.post(
        "/console/monitoring/statuspage/add/", {"slug": "v-page", "title": "t"}, HTTP_HOST=HOST
    )
    assert response.status_code == 403
    assert not StatusPageRoute.objects.filter(slug="v-page").exists()
