"""Operators manage users from the admin: every change goes through an audited service."""

import pytest
from django.contrib.auth import get_user_model

from apps.core.models import AuditEvent
from apps.tenants.models import Membership, Role, Tenant, TenantStatus
from apps.tenants.services import tenant_create

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def operator_client(client, world):
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    return client


def make_user(email):
    return User.objects.create_user(username=email, email=email, password="x")


def act(client, action, users):
    return client.post(
        "/admin/accounts/user/",
        {"action": action, "_selected_action": [str(u.pk) for u in users]},
    )


def test_search_finds_users_by_email(operator_client, world):
    page = operator_client.get("/admin/accounts/user/?q=alice").content.decode()
    assert "alice@example.com" in page and "bob@example.com" not in page


@pytest.mark.parametrize(
    ("action", "field", "value", "audit"),
    [
        ("deactivate", "is_active", False, "user.deactivated"),
        ("make_staff", "is_staff", True, "user.staff_granted"),
    ],
)
def test_actions_change_the_user_and_are_audited(operator_client, action, field, value, audit):
    user = make_user("target@example.com")
    assert act(operator_client, action, [user]).status_code == 302
    user.refresh_from_db()
    assert getattr(user, field) is value
    assert AuditEvent.objects.filter(action=audit, target_id=str(user.pk)).exists()


def test_operator_cannot_deactivate_themselves(operator_client, world):
    act(operator_client, "deactivate", [world["operator"]])
    world["operator"].refresh_from_db()
    assert world["operator"].is_active


def test_change_form_does_not_edit_status_flags_directly(operator_client):
    user = make_user("flags@example.com")
    page = operator_client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    assert 'name="is_staff"' not in page and 'name="is_active"' not in page


def test_delete_preflight_lists_owned_tenants_and_requires_a_successor(operator_client):
    owner, helper = make_user("leaving@example.com"), make_user("staying@example.com")
    tenant = tenant_create(name="Leaving Co", slug="leaving-co", owner=owner)
    Membership.objects.create(tenant=tenant, user=helper, role=Role.MEMBER)
    path = f"/admin/accounts/user/{owner.pk}/delete/"
    page = operator_client.get(path).content.decode()
    assert "Leaving Co" in page and "staying@example.com" in page

    refused = operator_client.post(path, {})
    assert refused.status_code == 200
    assert User.objects.filter(pk=owner.pk).exists()

    done = operator_client.post(path, {f"successor_{tenant.pk}": str(helper.pk)})
    assert done.status_code == 302
    assert not User.objects.filter(pk=owner.pk).exists()
    assert Membership.objects.get(tenant=tenant, user=helper).role == Role.OWNER
    assert AuditEvent.objects.filter(action="user.deleted", target_id=str(owner.pk)).exists()


def test_delete_may_take_the_tenant_with_it(operator_client):
    owner = make_user("solo@example.com")
    tenant = tenant_create(name="Solo", slug="solo-co", owner=owner)
    response = operator_client.post(
        f"/admin/accounts/user/{owner.pk}/delete/", {f"successor_{tenant.pk}": "delete"}
    )
    assert response.status_code == 302
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.DELETED


def test_successor_must_be_a_member_of_that_tenant(operator_client, world):
    owner = make_user("owner2@example.com")
    tenant = tenant_create(name="Two", slug="two-co", owner=owner)
    response = operator_client.post(
        f"/admin/accounts/user/{owner.pk}/delete/",
        {f"successor_{tenant.pk}": str(world["bob"].pk)},
    )
    assert response.status_code == 200
    assert User.objects.filter(pk=owner.pk).exists()
