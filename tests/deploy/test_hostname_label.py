"""An app's default hostname `<name>-<tenant slug>.<APPS_DOMAIN>` starts with one DNS label, which
may be at most 63 characters: a name that would make it longer is refused when the app is made."""

import copy

import pytest
from django_tenants.utils import tenant_context

from apps.core.problems import InvalidInput
from apps.deploy import selectors, services

pytestmark = pytest.mark.django_db


def _long_slug_tenant(tenant, length=40):
    """The tenant as seen with a slug of `length` characters (the longest a slug may be)."""
    tenant = copy.copy(tenant)
    tenant.slug = ("s" * length)[:length]
    return tenant


def test_a_name_whose_label_would_pass_63_characters_is_refused(world):
    tenant = _long_slug_tenant(world["tenant_a"])
    with tenant_context(world["tenant_a"]):
        with pytest.raises(InvalidInput) as caught:
            services.app_create(tenant=tenant, actor=services.SYSTEM, name="a" * 23)
        error = caught.value.errors[0]
        assert error["field"] == "name" and error["code"] == "too_long"
        assert "63" in error["message"] and "at most 22 characters" in error["message"]

        app, _secret = services.app_create(tenant=tenant, actor=services.SYSTEM, name="a" * 22)
        label = selectors.app_hostname(app=app, tenant_slug=tenant.slug).split(".")[0]
        assert len(label) == 63


def test_the_api_answers_400_on_name(world, client_for):
    from apps.tenants.services import tenant_create

    tenant = tenant_create(name="Long", slug="l" * 40, owner=world["alice"])
    alice = client_for(world["alice"], tenant)
    response = alice.post("/api/v1/apps", {"name": "b" * 30}, format="json")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "name" and error["code"] == "too_long"
    assert alice.post("/api/v1/apps", {"name": "b" * 22}, format="json").status_code == 201
