"""A tenant's page in the operator console links every page of its things, each of which opens
on that tenant's rows; tenant members never see it."""

from __future__ import annotations

import re

import pytest

from apps.billing import services as billing_services
from apps.core.audit import audit_record

pytestmark = pytest.mark.django_db

EXPECTED = {
    # In its schema (the operator console picks the tenant: ?tenant=<slug>)
    "Apps", "Deployments", "Releases", "Monitors", "Incidents", "Webhook endpoints",
    # Public schema, filtered on the tenant
    "Api keys", "Invitations", "Domains", "Billing accounts", "Invoices", "Transactions",
    "Audit events", "Members",
}  # fmt: skip


def test_the_tenant_page_links_everything_of_it(client, world):
    tenant = world["tenant_a"]
    billing_services.billing_account_ensure(tenant=tenant)
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    html = client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()
    links = dict(re.findall(r'href="([^"]+)" data-link="([^"]+)"', html))
    by_label = {label: url.replace("&amp;", "&") for url, label in links.items()}
    missing = {label.lower() for label in EXPECTED} - {label.lower() for label in by_label}
    assert not missing, sorted(by_label)
    assert by_label["Apps"].endswith(f"?tenant={tenant.slug}")
    assert by_label["Audit events"].endswith(f"?tenant_id={tenant.pk}")
    for label, url in by_label.items():
        if url.startswith("/admin/"):
            response = client.get(url)
            assert response.status_code in (200, 302), (label, url, response.status_code)
            if response.status_code == 302:  # the tenant pick, remembered, then the list
                assert client.get(response["Location"]).status_code == 200, (label, url)
    # The audit list is filtered: the other tenant's events are not on it.
    audit_record(action="dm.bravo_only", tenant=world["tenant_b"])
    assert b"dm.bravo_only" not in client.get(by_label["Audit events"]).content


def test_a_member_cannot_open_the_tenant_page(client, world):
    client.force_login(world["alice"])
    response = client.get(f"/admin/tenants/tenant/{world['tenant_a'].pk}/change/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
