"""Export and import of a tenant's configuration (apps/operations/portability,
docs/export-import.md): tenant alpha's document, a dry run into bravo that changes nothing, the
real import, and bravo's export is alpha's document again (the sealed secrets aside, which
open to the same values). Quotas, claims on hostnames and status-page slugs, a wrong
passphrase: clear 4xx answers and nothing half-written. Roles and tenants as strangers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.core.actor import SYSTEM
from apps.deploy import services as deploy_services
from apps.deploy.models import App, AppDomain, DomainStatus, EnvVar
from apps.monitoring import services as monitoring_services
from apps.monitoring.models import AlertChannel, MaintenanceWindow, Monitor, StatusPage
from apps.operations.portability.sealing import unseal
from apps.tenants.models import Membership, Role
from apps.tenants.services import tenant_entitlement_overrides_update
from apps.webhooks import services as webhook_services
from apps.webhooks.models import WebhookEndpoint
from tests.monitoring.factories import in_tenant

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/sEcReTtOkEnXy9z"
PASSPHRASE = "correct horse battery staple"
MODELS = (App, EnvVar, AppDomain, AlertChannel, Monitor, MaintenanceWindow, StatusPage,
          WebhookEndpoint)  # fmt: skip


def counts(tenant) -> dict[str, int]:
    with in_tenant(tenant):
        return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def alpha(world):
    """Tenant alpha's configuration, made through the services."""
    tenant = world["tenant_a"]
    who = {"tenant": tenant, "actor": SYSTEM}
    soon = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    with in_tenant(tenant):
        app, _ = deploy_services.app_create(
            **who, name="shop", git_url="https://robot:hunter22@git.example.com/acme/shop.git",
            branch="release", health_check_path="/healthz",
        )  # fmt: skip
        deploy_services.formation_set(app=app, **who, formation={"web": 2, "worker": 1})
        deploy_services.env_vars_update(
            app=app, **who, changes={"DATABASE_URL": "postgres://db/shop", "TOKEN": "t0k"},
            restart=False,
        )  # fmt: skip
        deploy_services.domain_add(app=app, **who, hostname="shop.example.com")
        deploy_services.app_create(**who, name="api")
        ops = monitoring_services.alert_channel_create(
            **who, name="Ops", kind="email", config={"to": ["ops@example.com"]}
        )
        slack = monitoring_services.alert_channel_create(
            **who, name="#alerts", kind="slack", config={"url": SLACK_URL}
        )
        shop = monitoring_services.monitor_create(
            **who, kind="http", name="Shop", url="https://shop.example.com/healthz",
            interval_s=120, channel_ids=[ops.pk, slack.pk],
        )  # fmt: skip
        db = monitoring_services.monitor_create(
            **who, kind="tcp", name="DB", host="db.example.com", port=5432
        )
        monitoring_services.maintenance_window_create(
            **who, name="Upgrade", starts_at=soon, ends_at=soon + dt.timedelta(hours=2),
            monitor_ids=[shop.pk],
        )  # fmt: skip
        monitoring_services.status_page_create(
            **who, slug="alpha-status", title="Alpha status", monitor_ids=[db.pk, shop.pk]
        )
        webhook_services.webhook_endpoint_create(
            **who, url="https://hooks.example.com/quay", description="CI",
            event_types=["deployment.*"],
        )  # fmt: skip
    return tenant


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


@pytest.fixture
def bob(client_for, world):
    return client_for(world["bob"], world["tenant_b"])


def _export(client, **body):
    response = client.post("/api/v1/export", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def _import(client, document, **options):
    return client.post("/api/v1/import", {"document": document, **options}, format="json")


def test_round_trip_dry_run_then_import_then_the_same_document(alpha, alice, bob, world):
    document = _export(alice, include_values=True, passphrase=PASSPHRASE)
    assert list(document) == sorted(document)  # sorted keys, no ids or timestamps
    text = str(document)
    assert "hunter22" not in text and "postgres://db" not in text and "sEcReT" not in text
    assert "created_at" not in text and "'id'" not in text and "'version'" not in text
    shop = document["apps"][1]
    assert shop["name"] == "shop" and shop["env_vars"] == ["DATABASE_URL", "TOKEN"]
    assert shop["formation"] == {"web": 2, "worker": 1} and shop["domains"] == ["shop.example.com"]
    assert document["monitors"][1]["channels"] == ["#alerts", "Ops"]
    assert document["status_pages"][0]["monitors"] == ["DB", "Shop"]

    empty = counts(world["tenant_b"])
    # The status page's slug is alpha's: the dry run says the import would be refused.
    refused = _import(bob, document, dry_run=True, passphrase=PASSPHRASE).json()
    assert refused["valid"] is False and "alpha-status" in refused["problem"]["detail"]
    real = _import(bob, document, passphrase=PASSPHRASE)
    assert real.status_code == 409 and "status page 'alpha-status'" in real.json()["detail"]
    assert counts(world["tenant_b"]) == empty  # nothing half-written

    with in_tenant(alpha):  # alpha gives the page up (a move, not a copy)
        page = StatusPage.objects.get(slug="alpha-status")
        monitoring_services.status_page_delete(page=page, tenant=alpha, actor=SYSTEM)

    plan = _import(bob, document, dry_run=True, passphrase=PASSPHRASE)
    assert plan.status_code == 200, plan.json()
    body = plan.json()
    assert body["valid"] is True and body["problem"] is None
    assert body["summary"] == {"create": 9, "update": 0, "unchanged": 0}
    step = next(s for s in body["plan"] if s["key"] == "shop")
    assert step["action"] == "create" and "env_vars" in step["fields"]
    assert "postgres://db" not in str(body)
    assert counts(world["tenant_b"]) == empty  # a dry run changes nothing

    done = _import(bob, document, passphrase=PASSPHRASE)
    assert done.status_code == 200, done.json()
    assert list(done.json()["webhook_secrets"]) == ["https://hooks.example.com/quay"]
    assert done.json()["deployments"] == []  # nothing deploys unless asked
    assert counts(world["tenant_b"]) == {**counts(alpha), "StatusPage": 1}

    again = _export(bob, include_values=True, passphrase="another passphrase!")
    assert {k: v for k, v in again.items() if k != "secrets"} == {
        k: v for k, v in document.items() if k != "secrets"
    }
    assert unseal(again["secrets"], "another passphrase!") == unseal(
        document["secrets"], PASSPHRASE
    )

    # Importing it once more changes nothing.
    twice = _import(bob, again, dry_run=True, passphrase="another passphrase!").json()
    assert twice["summary"] == {"create": 0, "update": 0, "unchanged": 9}


def test_updates_are_planned_field_by_field(alpha, alice):
    document = _export(alice)
    document["monitors"][1]["interval_s"] = 300
    document["apps"][1]["branch"] = "main"
    body = _import(alice, document, dry_run=True).json()
    changed = {s["key"]: s for s in body["plan"] if s["action"] == "update"}
    assert changed["Shop"]["changes"] == {"interval_s": {"from": 120, "to": 300}}
    assert changed["shop"]["changes"] == {"branch": {"from": "release", "to": "main"}}
    assert body["summary"]["update"] == 2
    assert _import(alice, document).status_code == 200
    with in_tenant(alpha):
        assert Monitor.objects.get(name="Shop").interval_s == 300
        assert App.objects.get(name="shop").branch == "main"


def test_without_values_names_need_values_and_new_secret_channels_are_refused(alpha, alice, bob):
    document = _export(alice)
    assert document["secrets"] is None
    refused = _import(bob, document, dry_run=True)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "alert_channels[#alerts].config"
    document["alert_channels"] = [c for c in document["alert_channels"] if c["kind"] == "email"]
    for monitor in document["monitors"]:
        monitor["channels"] = [c for c in monitor["channels"] if c == "Ops"]
    document["status_pages"] = []
    body = _import(bob, document, dry_run=True).json()
    shop = next(s for s in body["plan"] if s["key"] == "shop")
    assert any("DATABASE_URL, TOKEN" in w for w in shop["warnings"])
    assert any("git_url" in w for w in shop["warnings"])


def test_a_wrong_or_missing_passphrase_is_400(alpha, alice, bob, world):
    document = _export(alice, include_values=True, passphrase=PASSPHRASE)
    wrong = _import(bob, document, dry_run=True, passphrase="not the passphrase")
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "passphrase"
    assert _import(bob, document, passphrase="").status_code == 400
    assert alice.post("/api/v1/export", {"include_values": True, "passphrase": "short"},
                      format="json").status_code == 400  # fmt: skip
    assert alice.get("/api/v1/export?include_values=true").status_code == 400
    assert counts(world["tenant_b"])["App"] == 0


def test_quotas_refuse_the_whole_import(alpha, alice, bob, world):
    document = _export(alice)
    document["alert_channels"] = [c for c in document["alert_channels"] if c["kind"] == "email"]
    for monitor in document["monitors"]:
        monitor["channels"] = []
    document["status_pages"] = []
    with schema_context("public"):
        tenant_entitlement_overrides_update(tenant=world["tenant_b"], changes={"monitors": 1})
    before = counts(world["tenant_b"])
    dry = _import(bob, document, dry_run=True).json()
    assert dry["valid"] is False and dry["problem"]["type"] == "/problems/quota-exceeded"
    response = _import(bob, document)
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/quota-exceeded"
    assert (
        "monitor 'Shop'" in response.json()["detail"] or "monitor 'DB'" in response.json()["detail"]
    )
    assert counts(world["tenant_b"]) == before  # the apps and channel before it are undone


def test_a_hostname_verified_elsewhere_is_refused(alpha, alice, bob, world):
    with in_tenant(alpha):  # as domain_verify leaves it once the TXT record is found
        AppDomain.objects.filter(hostname="shop.example.com").update(status=DomainStatus.VERIFIED)
    document = _export(alice)
    document = {**document, "alert_channels": [], "monitors": [], "maintenance_windows": [],
                "status_pages": [], "webhook_endpoints": []}  # fmt: skip
    response = _import(bob, document)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "apps[shop].hostname"
    assert "already in use" in response.json()["detail"]
    assert counts(world["tenant_b"])["App"] == 0


def test_roles_and_tenants(alpha, client_for, world, django_user_model):
    tenant = world["tenant_a"]

    def person(email, role):
        user = django_user_model.objects.create_user(username=email, email=email)
        Membership.objects.create(tenant=tenant, user=user, role=role)
        return client_for(user, tenant)

    viewer, member = person("v@example.com", Role.VIEWER), person("m@example.com", Role.MEMBER)
    assert viewer.get("/api/v1/export").status_code == 403
    document = member.get("/api/v1/export").json()
    assert document["format"] == "quayside.config"
    sealed = member.post("/api/v1/export", {"include_values": True, "passphrase": PASSPHRASE},
                         format="json")  # fmt: skip
    assert sealed.status_code == 403
    assert _import(member, document, dry_run=True).status_code == 403
    assert _import(viewer, document, dry_run=True).status_code == 403
    # Another tenant's configuration is not there at all.
    stranger = client_for(world["bob"], tenant)
    assert stranger.get("/api/v1/export").status_code == 404
    assert _import(stranger, document, dry_run=True).status_code == 404
    assert counts(world["tenant_b"])["App"] == 0


def test_bad_documents_are_400(alice):
    assert _import(alice, {"format": "other"}).status_code == 400
    doc = {"format": "quayside.config", "format_version": 1,
           "apps": [{"name": "x", "colour": "red"}]}  # fmt: skip
    response = _import(alice, doc, dry_run=True)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "apps[x].colour"
    twice = {**doc, "apps": [{"name": "x"}, {"name": "x"}]}
    assert _import(alice, twice, dry_run=True).status_code == 400


def test_console_page_downloads_plans_and_applies(alpha, client, world, django_user_model):
    host = {"HTTP_HOST": "alpha.localhost"}
    client.force_login(world["alice"])
    page = client.get("/console/config/", **host)
    assert page.status_code == 200 and "Show the plan" in page.content.decode()
    download = client.post("/console/config/", {"action": "export"}, **host)
    assert download["Content-Disposition"] == 'attachment; filename="quayside-alpha.json"'
    document = json.loads(download.content)
    document["monitors"][1]["interval_s"] = 600

    upload = SimpleUploadedFile("alpha.json", json.dumps(document).encode(), "application/json")
    plan = client.post("/console/config/", {"action": "plan", "file": upload}, **host)
    html = plan.content.decode()
    assert plan.status_code == 200 and "0 to create, 1 to update, 8 unchanged" in html
    assert 'id="apply-form"' in html
    with in_tenant(alpha):
        assert Monitor.objects.get(name="Shop").interval_s == 120  # nothing changed yet
    applied = client.post(
        "/console/config/", {"action": "apply", "document": json.dumps(document)}, **host
    )
    assert applied.status_code == 200 and "Imported" in applied.content.decode()
    with in_tenant(alpha):
        assert Monitor.objects.get(name="Shop").interval_s == 600

    viewer = django_user_model.objects.create_user(username="w@example.com", email="w@example.com")
    Membership.objects.create(tenant=alpha, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get("/console/config/", **host).status_code == 200
    assert client.post("/console/config/", {"action": "export"}, **host).status_code == 403
    forged = client.post(
        "/console/config/", {"action": "apply", "document": json.dumps(document)}, **host
    )
    assert forged.status_code == 403


def test_deploy_true_queues_a_deployment_of_each_app_created(alpha, alice):
    from apps.deploy.models import Deployment

    document = _export(alice)
    document["apps"].append({**document["apps"][0], "name": "fresh",
                             "git_url": "https://git.example.com/acme/fresh.git"})  # fmt: skip
    body = _import(alice, document, deploy=True).json()
    assert [d["app"] for d in body["deployments"]] == ["fresh"]  # the others are unchanged
    with in_tenant(alpha):
        assert Deployment.objects.filter(app__name="fresh").count() == 1


@pytest.mark.parametrize(
    ("section", "item", "field"),
    [
        ("monitors", {"name": "m", "kind": "http", "interval_s": "often"},
         "monitors[m].interval_s"),
        ("monitors", {"name": "m", "kind": "http", "timeout_s": 2**40}, "monitors[m].timeout_s"),
        ("monitors", {"name": "m", "kind": "http", "method": "BREW"}, "monitors[m].method"),
        ("monitors", {"name": "m" * 101, "kind": "tcp"}, f"monitors[{'m' * 101}].name"),
        ("alert_channels", {"name": "c", "kind": "email", "enabled": "yes"},
         "alert_channels[c].enabled"),
    ],
)  # fmt: skip
def test_values_the_columns_would_refuse_are_400(alice, section, item, field):
    doc = {"format": "quayside.config", "format_version": 1, section: [item]}
    response = _import(alice, doc, dry_run=True)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == field


def test_a_date_that_does_not_exist_is_400(alice):
    window = {"name": "w", "starts_at": "2026-13-45T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"}
    doc = {"format": "quayside.config", "format_version": 1, "maintenance_windows": [window]}
    body = _import(alice, doc, dry_run=True).json()
    assert body["valid"] is False and body["problem"]["status"] == 400
    assert _import(alice, doc).status_code == 400
