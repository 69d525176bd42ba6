"""Monitoring in both consoles: the operator picks a tenant and sees its monitors, incidents,
channels (URL masked), windows, silences and alert logs; the tenant console shows them to every
member (webhook deliveries to owners and admins only) and lets members (not viewers) run the
actions, which call the services."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.monitoring import services
from apps.monitoring.checks import Outcome
from apps.monitoring.models import (
    AlertLog,
    Monitor,
    MonitorStatus,
    Silence,
)
from apps.tenants.models import Membership, Role, Tenant, TenantStatus
from apps.webhooks import services as webhook_services
from apps.webhooks import signing as webhook_signing
from apps.webhooks.models import WebhookEndpoint, WebhookMessage
from tests.monitoring.factories import create, in_tenant

SECRET_URL_PART = "s3cr3tP4th"
PAGES = ("monitoring/monitor", "monitoring/incident", "monitoring/alertchannel",
         "monitoring/maintenancewindow", "monitoring/silence", "monitoring/alertlog",
         "webhooks/webhookendpoint", "webhooks/webhookmessage")  # fmt: skip
HOST = "alpha.localhost"


@pytest.fixture
def alpha(world, http_target):
    """Tenant alpha with one of everything; a down that was alerted."""
    tenant = world["tenant_a"]
    with in_tenant(tenant):
        channel = services.alert_channel_create(
            tenant=tenant, actor=services.SYSTEM, name="hook", kind="webhook",
            config={"url": f"{http_target.url}/{SECRET_URL_PART}"},
        )  # fmt: skip
    monitor = create(tenant, kind="http", name="alpha-api", url="http://127.0.0.1:9/",
                     channel_ids=[channel.pk])  # fmt: skip
    now = timezone.now()
    with in_tenant(tenant):
        services.maintenance_window_create(
            tenant=tenant, actor=services.SYSTEM, name="upgrade",
            starts_at=now + dt.timedelta(days=1), ends_at=now + dt.timedelta(days=1, hours=1),
        )  # fmt: skip
        silence = services.silence_create(
            tenant=tenant,
            actor=services.SYSTEM,
            ends_at=now + dt.timedelta(hours=1),
            reason="noisy",
        )
        services.results_apply(tenant=tenant, items=[services.ResultItem(
            monitor.pk, Outcome(ok=False, error="refused"), now)])  # fmt: skip
        endpoint, secret = webhook_services.webhook_endpoint_create(
            tenant=tenant, actor=services.SYSTEM, url=f"{http_target.url}/hook"
        )
    return {"tenant": tenant, "monitor": monitor, "channel": channel, "silence": silence,
            "endpoint": endpoint, "secret": secret}  # fmt: skip


@pytest.fixture
def operator(client, world):
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    return client


def test_operator_picks_a_tenant_and_every_page_loads(operator, world, alpha):
    create(world["tenant_b"], kind="http", name="bravo-api", url="http://127.0.0.1:9/")
    chooser = operator.get("/admin/monitoring/monitor/")
    assert chooser.status_code == 200 and "?tenant=alpha" in chooser.content.decode()
    assert operator.get("/admin/monitoring/monitor/?tenant=alpha").status_code == 302
    for page in PAGES:
        response = operator.get(f"/admin/{page}/")
        assert response.status_code == 200, page
        html = response.content.decode()
        assert "bravo-api" not in html and SECRET_URL_PART not in html, page
        assert alpha["secret"] not in html, page
    assert "alpha-api" in operator.get("/admin/monitoring/monitor/").content.decode()
    channel_page = operator.get(f"/admin/monitoring/alertchannel/{alpha['channel'].pk}/change/")
    assert channel_page.status_code == 200
    assert SECRET_URL_PART not in channel_page.content.decode()
    assert "127.0.0.1/…" in channel_page.content.decode()
    monitor_page = operator.get(f"/admin/monitoring/monitor/{alpha['monitor'].pk}/change/")
    assert monitor_page.status_code == 200 and "hook" in monitor_page.content.decode()


def test_operator_actions_call_the_services(operator, world, alpha, http_target):
    operator.get("/admin/monitoring/monitor/?tenant=alpha")
    response = operator.post(
        "/admin/monitoring/monitor/",
        {"action": "pause", "_selected_action": [str(alpha["monitor"].pk)]},
    )
    assert response.status_code == 302
    with in_tenant(alpha["tenant"]):
        assert Monitor.objects.get(pk=alpha["monitor"].pk).status == MonitorStatus.PAUSED
    assert AuditEvent.objects.filter(action="monitor.paused", actor_user_id=world["operator"].pk)
    operator.post(
        "/admin/monitoring/alertchannel/",
        {"action": "send_test", "_selected_action": [str(alpha["channel"].pk)]},
    )
    assert http_target.state["posts"][-1][0] == f"/{SECRET_URL_PART}"
    with in_tenant(alpha["tenant"]):
        assert AlertLog.objects.get(event="alert.test").ok


def console(client, user, path="", method="get", data=None):
    client.force_login(user)
    return getattr(client, method)(f"/console/{path}", data or {}, HTTP_HOST=HOST)


@pytest.fixture
def people(world, django_user_model):
    made = {}
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        user = django_user_model.objects.create_user(
            username=f"{role}@example.com", email=f"{role}@example.com", password="x"
        )
        Membership.objects.create(tenant=world["tenant_a"], user=user, role=role)
        made[role] = user
    made["owner"] = world["alice"]
    return made


@pytest.mark.parametrize("who", ["owner", "member", "viewer"])
def test_tenant_console_pages_load_for_every_role(client, people, alpha, who):
    for page in PAGES if who == "owner" else set(PAGES) - {"webhooks/webhookmessage"}:
        response = console(client, people[who], f"{page}/")
        assert response.status_code == 200, page
        assert SECRET_URL_PART not in response.content.decode()
    assert "alpha-api" in console(client, people[who], "monitoring/monitor/").content.decode()


def test_members_run_actions_viewers_cannot(client, people, alpha, http_target):
    monitor = str(alpha["monitor"].pk)
    viewer = console(client, people[Role.VIEWER], "monitoring/monitor/", "post",
                     {"action": "pause", "_selected_action": [monitor]})  # fmt: skip
    with in_tenant(alpha["tenant"]):
        assert Monitor.objects.get(pk=monitor).status != MonitorStatus.PAUSED
    assert viewer.status_code in (200, 302)
    member = console(client, people[Role.MEMBER], "monitoring/monitor/", "post",
                     {"action": "pause", "_selected_action": [monitor]})  # fmt: skip
    assert member.status_code == 302
    with in_tenant(alpha["tenant"]):
        assert Monitor.objects.get(pk=monitor).status == MonitorStatus.PAUSED
    console(client, people[Role.MEMBER], "monitoring/alertchannel/", "post",
            {"action": "send_test", "_selected_action": [str(alpha["channel"].pk)]})  # fmt: skip
    assert len(http_target.state["posts"]) == 1
    console(client, people[Role.MEMBER], "monitoring/silence/", "post",
            {"action": "expire", "_selected_action": [str(alpha["silence"].pk)]})  # fmt: skip
    with in_tenant(alpha["tenant"]):
        assert Silence.objects.get(pk=alpha["silence"].pk).ends_at <= timezone.now()


def test_members_add_a_silence_through_the_service(client, people, alpha):
    ends = (timezone.now() + dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    data = {"monitor": str(alpha["monitor"].pk), "ends_at_0": ends[:10], "ends_at_1": ends[11:],
            "ends_at": ends, "reason": "deploying"}  # fmt: skip
    refused = console(client, people[Role.VIEWER], "monitoring/silence/add/", "post", data)
    assert refused.status_code == 403
    added = console(client, people[Role.MEMBER], "monitoring/silence/add/", "post", data)
    assert added.status_code == 302, added.content.decode()[:3000]
    with in_tenant(alpha["tenant"]):
        assert Silence.objects.filter(reason="deploying", monitor=alpha["monitor"]).exists()
    assert AuditEvent.objects.filter(action="silence.created")


def test_admins_send_a_webhook_test_event_members_cannot(client, people, alpha, http_target):
    endpoint = str(alpha["endpoint"].pk)
    action = {"action": "send_test", "_selected_action": [endpoint]}
    console(client, people[Role.MEMBER], "webhooks/webhookendpoint/", "post", action)
    assert http_target.state.get("posts", []) == []
    done = console(client, people["owner"], "webhooks/webhookendpoint/", "post", action)
    assert done.status_code == 302
    assert len(http_target.state["posts"]) == 1
    page = console(client, people["owner"], "webhooks/webhookmessage/").content.decode()
    assert "webhook.test" in page and alpha["secret"] not in page


def test_admin_adds_an_endpoint_sees_its_secret_once_rotates_and_deletes_it(client, people, alpha):
    form = {"url": "https://hooks.example.com/q", "description": "CI",
            "event_types": "monitor.down, incident.*", "enabled": "on"}  # fmt: skip
    refused = console(client, people[Role.MEMBER], "webhooks/webhookendpoint/add/", "post", form)
    assert refused.status_code == 403
    added = console(client, people[Role.ADMIN], "webhooks/webhookendpoint/add/", "post", form)
    assert added.status_code == 200 and "no-store" in added["Cache-Control"]
    with in_tenant(alpha["tenant"]):
        endpoint = WebhookEndpoint.objects.get(url="https://hooks.example.com/q")
        secret = webhook_signing.signing_secrets(endpoint, timezone.now())[0]
    assert sorted(endpoint.event_types) == ["incident.*", "monitor.down"]
    assert secret.startswith("whsec_") and secret in added.content.decode()
    assert secret not in added.cookies.output()
    listing = console(client, people[Role.ADMIN], "webhooks/webhookendpoint/").content.decode()
    assert secret not in listing and endpoint.secret_last8 in listing

    rotate = {"action": "rotate_secret", "_selected_action": [str(endpoint.pk)]}
    rotated = console(client, people[Role.ADMIN], "webhooks/webhookendpoint/", "post", rotate)
    with in_tenant(alpha["tenant"]):
        endpoint.refresh_from_db()
        new, old = webhook_signing.signing_secrets(endpoint, timezone.now())
    assert (old, endpoint.secret_last8) == (secret, new[-8:])
    assert rotated.status_code == 200 and new in rotated.content.decode()

    # A private address is refused with a message and nothing is changed.
    change = f"webhooks/webhookendpoint/{endpoint.pk}/change/"
    bad = console(client, people[Role.ADMIN], change, "post", {**form, "url": "http://10.0.0.1/"})
    assert bad.status_code == 302
    with in_tenant(alpha["tenant"]):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).url == "https://hooks.example.com/q"
    gone = console(client, people["owner"], f"webhooks/webhookendpoint/{endpoint.pk}/delete/",
                   "post", {"post": "yes"})  # fmt: skip
    assert gone.status_code == 302
    with in_tenant(alpha["tenant"]):
        assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert AuditEvent.objects.filter(action="webhook_endpoint.secret_rotated").exists()


@pytest.fixture
def delivery(alpha):
    """One outgoing message whose body holds something only owners and admins may read."""
    with in_tenant(alpha["tenant"]):
        return WebhookMessage.objects.create(
            msg_id="msg_console_oracle", endpoint=alpha["endpoint"], event_type="invoice.paid",
            body='{"invoice": "TOPSECRET-42"}', created_at=timezone.now(),
        )  # fmt: skip


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 200), (Role.ADMIN, 200), (Role.MEMBER, 403), (Role.VIEWER, 403)]
)
def test_webhook_deliveries_are_for_owners_and_admins_only(client, people, delivery, who, status):
    listing = console(client, people[who], "webhooks/webhookmessage/")
    detail = console(client, people[who], f"webhooks/webhookmessage/{delivery.pk}/change/")
    assert (listing.status_code, detail.status_code) == (status, status)
    index = console(client, people[who]).content.decode()
    assert ("/console/webhooks/webhookmessage/" in index) is (status == 200)


def test_console_filters_only_by_its_own_filters(client, people, delivery):
    """A lookup the page does not offer would tell, row or no row, what a column holds."""
    admin_user = people[Role.ADMIN]
    for query in ("body__contains=TOPSECRET", "body__startswith=%7B", "endpoint__secret__gt=a",
                  "msg_id=msg_console_oracle", "no_such_field=1"):  # fmt: skip
        response = console(client, admin_user, f"webhooks/webhookmessage/?{query}")
        assert response.status_code == 400, query
        assert "TOPSECRET" not in response.content.decode()
    viewer = console(client, people[Role.VIEWER], "monitoring/monitor/?url__contains=127.0.0.1")
    assert viewer.status_code == 400
    # The page's own filters and its search still work.
    for query in ("status__exact=pending", "event_type=invoice.paid", "q=invoice"):
        response = console(client, admin_user, f"webhooks/webhookmessage/?{query}")
        assert response.status_code == 200, query
        assert "msg_console_oracle" in response.content.decode(), query
    none = console(client, admin_user, "webhooks/webhookmessage/?status__exact=failed")
    assert none.status_code == 200 and "msg_console_oracle" not in none.content.decode()
    enabled = console(client, people[Role.VIEWER], "webhooks/webhookendpoint/?enabled__exact=1")
    assert enabled.status_code == 200


@pytest.fixture
def suspended(alpha):
    Tenant.objects.filter(pk=alpha["tenant"].pk).update(status=TenantStatus.SUSPENDED)
    return alpha


def test_a_suspended_tenant_reads_but_refuses_every_write(client, people, suspended, http_target):
    refused = "This tenant is suspended"
    for page in PAGES:
        assert console(client, people["owner"], f"{page}/").status_code == 200, page
    endpoint_page = f"webhooks/webhookendpoint/{suspended['endpoint'].pk}/change/"
    assert console(client, people[Role.ADMIN], endpoint_page).status_code == 200
    assert console(client, people[Role.ADMIN], "monitoring/silence/add/").status_code == 403
    listing = console(client, people[Role.ADMIN], "monitoring/monitor/").content.decode()
    assert 'value="pause"' not in listing and "/console/monitoring/silence/add/" not in listing

    ends = (timezone.now() + dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    silence = {"monitor": str(suspended["monitor"].pk), "ends_at_0": ends[:10],
               "ends_at_1": ends[11:], "reason": "while suspended"}  # fmt: skip
    endpoint = {"url": "https://hooks.example.com/late", "event_types": "", "enabled": "on"}
    writes = [
        ("monitoring/silence/add/", silence),
        ("webhooks/webhookendpoint/add/", endpoint),
        (endpoint_page, {**endpoint, "url": "https://hooks.example.com/moved"}),
        ("monitoring/monitor/", {"action": "pause",
                                 "_selected_action": [str(suspended["monitor"].pk)]}),
        ("monitoring/alertchannel/", {"action": "send_test",
                                      "_selected_action": [str(suspended["channel"].pk)]}),
        ("webhooks/webhookendpoint/", {"action": "send_test",
                                         "_selected_action": [str(suspended["endpoint"].pk)]}),
        ("webhooks/webhookendpoint/", {"action": "rotate_secret",
                                         "_selected_action": [str(suspended["endpoint"].pk)]}),
        ("monitoring/silence/", {"action": "expire",
                                 "_selected_action": [str(suspended["silence"].pk)]}),
    ]  # fmt: skip
    for path, data in writes:
        response = console(client, people["owner"], path, "post", data)
        assert response.status_code == 423, path
        assert refused in response.content.decode(), path
    with in_tenant(suspended["tenant"]):
        assert not Silence.objects.filter(reason="while suspended").exists()
        assert Silence.objects.get(pk=suspended["silence"].pk).ends_at > timezone.now()
        assert list(WebhookEndpoint.objects.values_list("url", flat=True)) == [
            suspended["endpoint"].url
        ]
        assert WebhookEndpoint.objects.get().secret_last8 == suspended["secret"][-8:]
        assert Monitor.objects.get(pk=suspended["monitor"].pk).status != MonitorStatus.PAUSED
        assert not AlertLog.objects.filter(event="alert.test").exists()
        assert not WebhookMessage.objects.exists()
    assert http_target.state.get("posts", []) == []


def test_operators_entering_a_tenants_monitoring_pages_are_audited(client, world):
    client.force_login(world["operator"])
    world["operator"].is_superuser = True
    world["operator"].save()
    client.get("/admin/monitoring/monitor/?tenant=alpha")
    assert client.get("/admin/monitoring/monitor/").status_code == 200
    assert AuditEvent.objects.filter(
        action="tenant.operator_entered", tenant_id=world["tenant_a"].pk,
        actor_user_id=world["operator"].pk,
    ).exists()  # fmt: skip
