"""Platform config variables: typed validation, audit, the shared cache, the operator API and
admin page. (Services honouring overrides: tests/monitoring/test_config_overrides.py and the
operator-role test below.)"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from apps.core import platform_config
from apps.core.actor import Actor
from apps.core.config_vars import REGISTRY, ConfigVar, VarType, register, unregister
from apps.core.models import AuditEvent, ConfigVariable
from apps.core.platform_config import config_get, config_reset, config_set
from apps.core.problems import ApplicationError, InvalidInput

pytestmark = pytest.mark.django_db

URL = "/api/v1/admin/config-variables"


@pytest.fixture(autouse=True)
def _cold_config_cache():
    """Overrides written in a rolled-back test must not outlive it in Redis."""
    cache.delete(platform_config.CACHE_KEY)
    yield
    cache.delete(platform_config.CACHE_KEY)


@pytest.fixture
def flag():
    """A bool variable of the test's own (none of the real ones is a bool yet)."""
    var = register(
        ConfigVar(
            name="test.flag", type=VarType.BOOL, category="Test", default_value=False,
            description="A test flag.",
        )
    )  # fmt: skip
    yield var
    unregister(var.name)


@pytest.fixture
def operator(world):
    world["operator"].is_superuser = True
    world["operator"].save()
    return world["operator"]


# --- Values and validation ------------------------------------------------------------------


def test_default_comes_from_the_setting(settings):
    assert config_get("monitoring.min_interval_s") == 20
    settings.MONITORING_MIN_INTERVAL_S = 25
    assert config_get("monitoring.min_interval_s") == 25


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("monitoring.min_interval_s", 0, "out_of_range"),
        ("monitoring.min_interval_s", 3601, "out_of_range"),
        ("monitoring.min_interval_s", 20.5, "invalid"),
        ("monitoring.min_interval_s", "30", "invalid"),
        ("monitoring.min_interval_s", True, "invalid"),
        ("tenants.operator_role", "owner", "invalid_choice"),
        ("tenants.operator_role", 1, "invalid_choice"),
        ("billing.seller_name", "x" * 101, "max_length"),
        ("billing.seller_name", 5, "invalid"),
    ],
)
def test_values_are_checked_by_type(name, value, code):
    with pytest.raises(InvalidInput) as raised:
        config_set(name=name, value=value)
    assert raised.value.errors[0]["field"] == "value"
    assert raised.value.errors[0]["code"] == code
    assert not ConfigVariable.objects.filter(name=name).exists()


def test_whole_floats_and_bools(flag):
    assert config_set(name="monitoring.min_interval_s", value=30.0).value == 30
    assert config_set(name="test.flag", value=True).value is True
    with pytest.raises(InvalidInput):
        config_set(name="test.flag", value="yes")
    assert flag.parse(" on ") is True and flag.parse("false") is False


def test_unknown_names_are_refused():
    with pytest.raises(ApplicationError) as raised:
        config_set(name="monitoring.nope", value=1)
    assert raised.value.status == 404
    with pytest.raises(ApplicationError):
        config_get("monitoring.nope")


def test_a_change_is_audited_with_old_and_new_values(world):
    config_set(name="monitoring.min_interval_s", value=30, actor=Actor(user=world["operator"]))
    config_set(name="monitoring.min_interval_s", value=45, actor=Actor(user=world["operator"]))
    config_reset(name="monitoring.min_interval_s", actor=Actor(user=world["operator"]))
    events = AuditEvent.objects.filter(
        action="config.updated", target_id="monitoring.min_interval_s"
    ).order_by("created_at", "id")
    assert [(e.metadata["old"], e.metadata["new"], e.metadata["reset"]) for e in events] == [
        (20, 30, False),
        (30, 45, False),
        (45, 20, True),
    ]
    assert {e.severity for e in events} == {"warning"}
    assert {e.actor_label for e in events} == {"operator@example.com"}
    assert events[0].target_type == "core.configvariable"
    assert not ConfigVariable.objects.filter(name="monitoring.min_interval_s").exists()


def test_reads_are_cached_and_a_committed_write_invalidates_them(
    django_capture_on_commit_callbacks,
):
    assert config_get("monitoring.min_interval_s") == 20  # caches "no overrides"
    # A row written behind the service's back is not seen: reads come from the cache...
    ConfigVariable.objects.create(name="monitoring.results_retention_days", value=3)
    assert config_get("monitoring.results_retention_days") == 7
    # ...until a write through the service commits and drops the cache entry.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        config_set(name="monitoring.min_interval_s", value=40)
        assert config_get("monitoring.min_interval_s") == 20  # not committed yet
    assert callbacks
    assert config_get("monitoring.min_interval_s") == 40
    assert config_get("monitoring.results_retention_days") == 3
    assert cache.get(platform_config.CACHE_KEY) == {
        "monitoring.min_interval_s": 40,
        "monitoring.results_retention_days": 3,
    }


def test_the_enum_operator_role_is_honoured(client_for, world, django_capture_on_commit_callbacks):
    """Operators act as admins in tenants by default; lowered to viewer, they may no longer
    read a tenant's audit log (admins only)."""
    client = client_for(world["operator"], world["tenant_a"])
    assert client.get("/api/v1/audit-events").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        config_set(
            name="tenants.operator_role", value="viewer", actor=Actor(user=world["operator"])
        )
    response = client.get("/api/v1/audit-events")
    assert response.status_code == 403
    assert client.get("/api/v1/members").status_code == 200  # viewers still read


# --- Operator API ---------------------------------------------------------------------------


def test_api_lists_every_declared_variable_and_flags_stale_ones(client_for, world):
    ConfigVariable.objects.create(name="old.removed_setting", value=1)
    config_set(name="billing.dunning_grace_days", value=10)
    rows = {row["name"]: row for row in client_for(world["operator"]).get(URL).json()}
    assert set(REGISTRY) <= set(rows)
    grace = rows["billing.dunning_grace_days"]
    assert grace["value"] == 10 and grace["default"] == 7 and grace["overridden"] is True
    assert (grace["type"], grace["minimum"], grace["maximum"]) == ("number", 0, 90)
    role = rows["tenants.operator_role"]
    assert role["overridden"] is False and role["value"] == "admin"
    assert role["choices"] == ["viewer", "member", "admin"]
    stale = rows["old.removed_setting"]
    assert stale["registered"] is False and stale["type"] is None and stale["value"] == 1


def test_api_sets_and_resets(client_for, world, django_capture_on_commit_callbacks):
    client = client_for(world["operator"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(f"{URL}/monitoring.min_interval_s", {"value": 30}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (
        body["value"] == 30 and body["overridden"] and body["updated_by"] == world["operator"].email
    )
    assert config_get("monitoring.min_interval_s") == 30
    assert client.get(f"{URL}/monitoring.min_interval_s").json()["value"] == 30
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(f"{URL}/monitoring.min_interval_s", {"value": None}, format="json")
    assert response.json()["overridden"] is False and response.json()["value"] == 20
    assert config_get("monitoring.min_interval_s") == 20
    ConfigVariable.objects.create(name="old.removed_setting", value=1)
    response = client.patch(f"{URL}/old.removed_setting", {"value": None}, format="json")
    assert response.status_code == 200
    assert not ConfigVariable.objects.filter(name="old.removed_setting").exists()


@pytest.mark.parametrize(
    ("name", "body", "status", "field"),
    [
        ("monitoring.min_interval_s", {"value": 0}, 400, "value"),
        ("monitoring.min_interval_s", {"value": "fast"}, 400, "value"),
        ("tenants.operator_role", {"value": "owner"}, 400, "value"),
        ("monitoring.min_interval_s", {}, 400, "value"),
        ("no.such_variable", {"value": 1}, 404, None),
    ],
)
def test_api_refuses_bad_values_with_problems(client_for, world, name, body, status, field):
    response = client_for(world["operator"]).patch(f"{URL}/{name}", body, format="json")
    assert response.status_code == status
    problem = response.json()
    assert response["Content-Type"].startswith("application/problem+json")
    if field:
        assert problem["type"] == "/problems/validation-error"
        assert [error["field"] for error in problem["errors"]] == [field]
    else:
        assert problem["type"] == "/problems/not-found"
    assert not ConfigVariable.objects.filter(name=name).exists()


def test_api_is_for_operators_only(client_for, world, api_client):
    for user in (world["alice"], world["outsider"]):
        client = client_for(user)
        assert client.get(URL).status_code == 403
        response = client.patch(f"{URL}/monitoring.min_interval_s", {"value": 30}, format="json")
        assert response.status_code == 403
    assert api_client.get(URL).status_code == 401
    assert not ConfigVariable.objects.exists()


# --- Admin page -----------------------------------------------------------------------------


def test_admin_page_lists_every_variable_and_flags_stale_rows(client, operator):
    ConfigVariable.objects.create(name="old.removed_setting", value=1)
    config_set(name="billing.seller_name", value="Harbour Ltd")
    client.force_login(operator)
    response = client.get("/admin/core/configvariable/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in REGISTRY:
        assert f'id="var-{name}"' in html
    assert "Harbour Ltd" in html
    assert "stale-flag" in html and 'id="var-old.removed_setting"' in html


def test_admin_edit_validates_saves_and_resets(
    client, operator, django_capture_on_commit_callbacks
):
    client.force_login(operator)
    url = "/admin/core/configvariable/edit/monitoring.min_interval_s/"
    page = client.get(url)
    assert page.status_code == 200 and "whole number, 1 to 3600" in page.content.decode()
    bad = client.post(url, {"value": "5000"})
    assert bad.status_code == 200 and "got 5000" in bad.content.decode()
    assert not ConfigVariable.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(url, {"value": "35"})
    assert saved.status_code == 302
    assert config_get("monitoring.min_interval_s") == 35
    assert AuditEvent.objects.filter(action="config.updated", actor_user_id=operator.pk).exists()
    enum_page = client.get("/admin/core/configvariable/edit/tenants.operator_role/")
    assert "<select" in enum_page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        reset = client.post("/admin/core/configvariable/reset/monitoring.min_interval_s/")
    assert reset.status_code == 302
    assert config_get("monitoring.min_interval_s") == 20
    assert (
        client.get("/admin/core/configvariable/reset/monitoring.min_interval_s/").status_code == 403
    )


def test_admin_page_is_not_for_tenant_users(client, world):
    client.force_login(world["alice"])
    response = client.get("/admin/core/configvariable/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
