"""Operators list, search and revoke keys in the admin; no secret is ever entered or shown."""

import pytest

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/apikey/"


@pytest.fixture
def operator_client(client, world):
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    return client


@pytest.fixture
def keys(world):
    alpha, alpha_raw = api_key_create(tenant=world["tenant_a"], name="alpha ci", authority="admin")
    bravo, _ = api_key_create(tenant=world["tenant_b"], name="bravo ci", authority="member")
    return alpha, bravo, alpha_raw


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("", ["alpha ci", "bravo ci"], []),
        ("?q=bravo", ["bravo ci"], ["alpha ci"]),
        ("?authority__exact=admin", ["alpha ci"], ["bravo ci"]),
        ("?status=revoked", [], ["alpha ci", "bravo ci"]),
        ("?status=active", ["alpha ci", "bravo ci"], []),
    ],
)
def test_the_list_filters_and_searches(operator_client, keys, query, shown, hidden):
    html = operator_client.get(CHANGELIST + query).content.decode()
    for name in shown:
        assert name in html
    for name in hidden:
        assert name not in html


def test_search_by_prefix(operator_client, keys):
    alpha, _, _ = keys
    html = operator_client.get(f"{CHANGELIST}?q={alpha.prefix}").content.decode()
    assert "alpha ci" in html and "bravo ci" not in html


def test_the_revoke_action_revokes_through_the_service(operator_client, keys, world):
    alpha, bravo, _ = keys
    response = operator_client.post(
        CHANGELIST,
        {"action": "revoke_selected", "_selected_action": [str(alpha.pk), str(bravo.pk)]},
    )
    assert response.status_code == 302
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 2
    events = AuditEvent.objects.filter(action="api_key.revoked")
    assert {e.actor_user_id for e in events} == {world["operator"].pk}
    assert {e.tenant_label for e in events} == {"alpha", "bravo"}


def test_no_add_edit_or_delete_and_no_secret_on_the_page(operator_client, keys):
    alpha, _, alpha_raw = keys
    assert operator_client.get(CHANGELIST + "add/").status_code == 403
    page = operator_client.get(f"{CHANGELIST}{alpha.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert alpha.key_hash not in html and alpha_raw not in html
    assert alpha.prefix in html
    before = ApiKey.objects.get(pk=alpha.pk)
    operator_client.post(f"{CHANGELIST}{alpha.pk}/change/", {"name": "renamed"})
    assert ApiKey.objects.get(pk=alpha.pk).name == before.name
    assert operator_client.post(f"{CHANGELIST}{alpha.pk}/delete/").status_code == 403
