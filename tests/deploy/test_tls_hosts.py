"""Which hosts may have a TLS certificate, and what the API and the admin say of theirs.

The endpoint Caddy asks before it gets a certificate: yes for Quayside's routed hosts (apps'
own hostnames, verified custom domains), 404 for anything else and for anyone but Caddy (the
token, loopback, no proxy), so it tells the internet nothing about which tenants exist. The
certificate state is read from Caddy's storage (here files written where Caddy keeps them;
tests/deploy/test_tls.py has Caddy write them)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core.actor import Actor
from apps.deploy import services, tls, tls_ask
from apps.deploy.models import AppDomain
from apps.tenants.models import Role
from apps.tenants.services import tenant_delete

pytestmark = pytest.mark.django_db
ASK = "/internal/tls/ask"


@pytest.fixture(autouse=True)
def tls_on(settings):
    settings.DEPLOY_TLS = "internal"
    settings.DEPLOY_TLS_ASK_CACHE_S = 0.0
    # The defaults (the session's runtime fixture moves DEPLOY_HTTP_LISTEN to a free port).
    settings.DEPLOY_HTTP_LISTEN, settings.DEPLOY_PUBLIC_PORT = "127.0.0.1:8080", ""
    settings.DEPLOY_HTTPS_LISTEN, settings.DEPLOY_HTTPS_PUBLIC_PORT = "127.0.0.1:8443", ""
    tls_ask.forget()
    yield settings
    tls_ask.forget()


def ask(client, domain: str, *, token: str | None = None, **extra) -> int:
    params = {"domain": domain, "token": tls.ask_token() if token is None else token}
    params = {key: value for key, value in params.items() if value != ""}
    return client.get(ASK, params, **extra).status_code


def statements(queries) -> list[str]:
    """The queries, without django-tenants' `SET search_path` before each cursor."""
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SET ")]


def make_app(world, tenant_key: str, name: str):
    tenant = world[tenant_key]
    owner = world["alice" if tenant_key == "tenant_a" else "bob"]
    with tenant_context(tenant):
        app, _secret = services.app_create(tenant=tenant, actor=Actor(user=owner), name=name)
    return app


def add_domain(world, app, hostname: str, *, verified: bool) -> AppDomain:
    tenant = world["tenant_a"]
    with tenant_context(tenant):
        domain = services.domain_add(
            app=app, tenant=tenant, actor=Actor(user=world["alice"]), hostname=hostname
        )
        if verified:  # what domain_verify records once the TXT record is found
            AppDomain.objects.filter(pk=domain.pk).update(
                status="verified", verified_at=timezone.now()
            )
    return domain


def test_an_apps_own_hostname_is_approved_and_nothing_near_it(client, world):
    make_app(world, "tenant_a", "shop")

    assert ask(client, "shop-alpha.apps.localhost") == 200
    assert ask(client, "SHOP-alpha.apps.localhost.") == 200  # as SNI may spell it
    assert ask(client, "shop-bravo.apps.localhost") == 404  # bravo has no app "shop"
    assert ask(client, "nope-alpha.apps.localhost") == 404
    assert ask(client, "shop-nobody.apps.localhost") == 404
    assert ask(client, "x.shop-alpha.apps.localhost") == 404
    assert ask(client, "shop-alpha.apps.localhost.evil.example") == 404
    assert ask(client, "alpha.localhost") == 404  # a tenant's console host is not an app
    assert ask(client, "127.0.0.1") == 404
    assert ask(client, "") == 404


def test_a_deleted_app_or_a_deleted_tenants_app_is_refused(client, world):
    gone = make_app(world, "tenant_b", "gone")
    kept = make_app(world, "tenant_b", "kept")
    assert ask(client, "gone-bravo.apps.localhost") == 200
    with tenant_context(world["tenant_b"]):
        services.app_delete(app=gone, tenant=world["tenant_b"], actor=Actor(user=world["bob"]))

    assert ask(client, "gone-bravo.apps.localhost") == 404
    assert ask(client, f"{kept.name}-bravo.apps.localhost") == 200

    tenant_delete(tenant=world["tenant_b"], actor=Actor(user=world["bob"], role=Role.OWNER))
    assert ask(client, "kept-bravo.apps.localhost") == 404


def test_only_verified_custom_domains_are_approved(client, world):
    app = make_app(world, "tenant_a", "site")
    add_domain(world, app, "www.verified.example", verified=True)
    pending = add_domain(world, app, "www.pending.example", verified=False)

    assert ask(client, "www.verified.example") == 200
    assert ask(client, "www.pending.example") == 404
    assert ask(client, "verified.example") == 404

    with tenant_context(world["tenant_a"]):
        AppDomain.objects.filter(pk=pending.pk).update(status="verified")
    assert ask(client, "www.pending.example") == 200


def test_unknown_names_cost_one_query_per_snapshot_period(client, world, settings):
    """A flood of invented names (anyone can send any SNI) reads the verified domains once."""
    settings.DEPLOY_TLS_ASK_CACHE_S = 60.0
    app = make_app(world, "tenant_a", "site")
    add_domain(world, app, "www.verified.example", verified=True)

    with CaptureQueriesContext(connection) as queries:
        answers = [ask(client, f"random-{n}.example.net") for n in range(20)]
        answers.append(ask(client, "www.verified.example"))
    assert answers == [404] * 20 + [200]
    assert len(statements(queries)) == 2  # the tenants, then their verified domains (one UNION)

    with CaptureQueriesContext(connection) as queries:
        assert ask(client, "nope-alpha.apps.localhost") == 404
    assert len(statements(queries)) <= 2  # app hostnames: the tenant by slug, then the app by name


@pytest.mark.parametrize(
    ("token", "extra"),
    [
        ("", {}),
        ("wrong", {}),
        (None, {"REMOTE_ADDR": "203.0.113.7"}),  # the right token, from elsewhere
        (None, {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}),  # through a proxy in front
    ],
    ids=["no-token", "wrong-token", "not-loopback", "proxied"],
)
def test_nobody_but_caddy_gets_an_answer(client, world, token, extra):
    make_app(world, "tenant_a", "shop")
    assert ask(client, "shop-alpha.apps.localhost") == 200
    with CaptureQueriesContext(connection) as queries:
        assert ask(client, "shop-alpha.apps.localhost", token=token, **extra) == 404
    assert statements(queries) == []


def test_post_and_tls_off_are_refused(client, world, settings):
    make_app(world, "tenant_a", "shop")
    url = f"{ASK}?domain=shop-alpha.apps.localhost&token={tls.ask_token()}"
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 404
    settings.DEPLOY_TLS = "off"
    assert client.get(url).status_code == 404


def test_the_token_in_caddys_config_is_the_one_the_endpoint_takes(settings):
    settings.DEPLOY_TLS_ASK_URL = "http://127.0.0.1:8123/internal/tls/ask?x=1"
    options = tls.tls_options()
    assert options.ask_url == f"http://127.0.0.1:8123/internal/tls/ask?x=1&token={tls.ask_token()}"
    assert len(tls.ask_token()) == 64
    settings.DEPLOY_TLS_ASK_TOKEN = "operator-chosen"
    assert tls.ask_token() == "operator-chosen"


# --- Certificate state (read from Caddy's storage) --------------------------------------------
def store_certificate(runtime_dir: Path, hostname: str, *, days_left: int) -> None:
    """A certificate where Caddy keeps the internal CA's (certificates/local/<host>/<host>.crt)."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Intermediate")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now + dt.timedelta(days=days_left))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = runtime_dir / "caddy" / "data" / "certificates" / "local" / hostname
    folder.mkdir(parents=True)
    (folder / f"{hostname}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_certificate_state_in_the_api_and_the_admin(client, client_for, world, settings, tmp_path):
    settings.DEPLOY_RUNTIME_DIR = str(tmp_path)
    app = make_app(world, "tenant_a", "shop")
    add_domain(world, app, "www.issued.example", verified=True)
    add_domain(world, app, "www.expired.example", verified=True)
    add_domain(world, app, "www.pending.example", verified=False)
    store_certificate(tmp_path, "shop-alpha.apps.localhost", days_left=60)
    store_certificate(tmp_path, "www.expired.example", days_left=-1)
    store_certificate(tmp_path, "www.pending.example", days_left=60)  # Caddy would not serve it
    alice = client_for(world["alice"], world["tenant_a"])

    detail = alice.get(f"/api/v1/apps/{app.pk}").json()
    assert detail["url"] == "https://shop-alpha.apps.localhost:8443/"
    assert detail["certificate"]["status"] == "issued"
    assert detail["certificate"]["issuer"] == "Test Intermediate"
    domains = alice.get(f"/api/v1/apps/{app.pk}/domains").json()["results"]
    states = {d["hostname"]: d["certificate"]["status"] for d in domains}
    assert states == {
        "www.issued.example": "pending",  # verified, no certificate until its first request
        "www.expired.example": "expired",
        "www.pending.example": "none",
    }

    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    client.get("/admin/deploy/app/?tenant=alpha")
    html = client.get(f"/admin/deploy/app/{app.pk}/change/").content.decode()
    assert "<td>shop-alpha.apps.localhost</td><td>app hostname</td><td>issued</td>" in html
    assert "<td>www.expired.example</td><td>custom domain, verified</td><td>expired</td>" in html

    client.force_login(world["alice"])  # the tenant console's domains page shows the states
    page = client.get(f"/console/deploy/app/{app.pk}/domains/", HTTP_HOST="alpha.localhost")
    assert page.status_code == 200
    html = page.content.decode()
    pending = html[html.index("www.pending.example") :]
    assert 'data-role="certificate">none</span>' in pending[:3000]
    expired = html[html.index("www.expired.example") :]
    assert 'data-role="certificate">expired</span>' in expired[:3000]

    settings.DEPLOY_TLS = "off"
    detail = alice.get(f"/api/v1/apps/{app.pk}").json()
    assert detail["url"] == "http://shop-alpha.apps.localhost:8080/"
    assert detail["certificate"] == {"status": "none", "issuer": None, "not_after": None}
