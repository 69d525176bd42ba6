"""Caddy's config for each DEPLOY_TLS mode, checked by Caddy itself (`caddy validate` provisions
every module, the ACME issuer and the permission module included, without serving). The
internal CA's is also served for real in test_tls.py; ACME's cannot be (no public name here)."""

from __future__ import annotations

import json
import subprocess

import pytest

from apps.deploy import tls
from apps.deploy.runtime.base import Route
from apps.deploy.runtime.caddy import HTTP_SERVER, SERVER, issuer_key
from apps.deploy.runtime.local import LocalProvider, caddy_binary

ROUTES = [
    Route(app_key="a" * 32, hosts=("shop-alpha.apps.localhost", "www.shop.example"), kind="static")
]


def rendered(settings, tmp_path, mode: str) -> dict:
    settings.DEPLOY_RUNTIME_DIR = str(tmp_path / "rt")
    settings.DEPLOY_TLS = mode
    settings.DEPLOY_HTTP_LISTEN = "127.0.0.1:18080"
    settings.DEPLOY_HTTPS_LISTEN = "127.0.0.1:18443"
    settings.DEPLOY_TLS_ASK_URL = "http://127.0.0.1:8000/internal/tls/ask"
    return LocalProvider().caddy_config(ROUTES)


def caddy_validates(config: dict, tmp_path) -> str:
    path = tmp_path / "caddy.json"
    path.write_text(json.dumps(config))
    result = subprocess.run(
        [caddy_binary(), "validate", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr


def test_acme_is_on_demand_behind_the_ask_endpoint(settings, tmp_path):
    settings.DEPLOY_TLS_ACME_EMAIL = "ops@example.com"
    settings.DEPLOY_TLS_ACME_CA = "https://acme-staging-v02.api.letsencrypt.org/directory"
    config = rendered(settings, tmp_path, "acme")

    automation = config["apps"]["tls"]["automation"]
    assert automation["on_demand"]["permission"] == {
        "module": "http",
        "endpoint": f"http://127.0.0.1:8000/internal/tls/ask?token={tls.ask_token()}",
    }
    [policy] = automation["policies"]
    assert policy["on_demand"] is True
    [issuer] = policy["issuers"]
    assert issuer["module"] == "acme" and issuer["email"] == "ops@example.com"
    assert issuer["ca"] == settings.DEPLOY_TLS_ACME_CA
    assert "pki" not in config["apps"]
    servers = config["apps"]["http"]["servers"]
    assert servers[SERVER]["listen"] == ["127.0.0.1:18443"]
    assert servers[HTTP_SERVER]["listen"] == ["127.0.0.1:18080"]
    assert "Valid configuration" in caddy_validates(config, tmp_path)
    # Where certmagic keeps this CA's certificates (host and path of its directory URL).
    assert issuer_key(tls.tls_options()) == "acme-staging-v02.api.letsencrypt.org-directory"


def test_internal_never_installs_its_root_into_a_trust_store(settings, tmp_path):
    config = rendered(settings, tmp_path, "internal")

    ca = config["apps"]["pki"]["certificate_authorities"]["local"]
    assert ca["install_trust"] is False
    [issuer] = config["apps"]["tls"]["automation"]["policies"][0]["issuers"]
    assert issuer == {"module": "internal", "ca": "local"}
    redirect = config["apps"]["http"]["servers"][HTTP_SERVER]["routes"][0]
    assert redirect["match"] == [{"host": ["shop-alpha.apps.localhost", "www.shop.example"]}]
    location = redirect["handle"][0]["headers"]["Location"]
    assert location == ["https://{http.request.host}:18443{http.request.uri}"]
    caddy_validates(config, tmp_path)


def test_off_serves_plain_http_as_before(settings, tmp_path):
    config = rendered(settings, tmp_path, "off")

    assert set(config["apps"]) == {"http"}
    assert list(config["apps"]["http"]["servers"]) == [SERVER]
    assert config["apps"]["http"]["servers"][SERVER]["listen"] == ["127.0.0.1:18080"]


def test_an_unknown_mode_is_refused(settings, tmp_path):
    from apps.deploy.runtime.base import RuntimeProblem

    with pytest.raises(RuntimeProblem, match="DEPLOY_TLS='on' is none of off, internal, acme"):
        rendered(settings, tmp_path, "on")
