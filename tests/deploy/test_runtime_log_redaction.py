"""The runtime log API redacts every secret the app's processes may still print: the env vars
now, the configs of the live release and of recent releases (a var changed or unset without a
restart, or old processes still draining, keep printing the old value), and the git URL's
secrets, the same set as build logs (user, password, query values). The runtime is replaced by
a log source that prints them."""

import base64

import pytest
from django_tenants.utils import tenant_context

from apps.deploy import services
from apps.deploy.redaction import MASK
from apps.deploy.runtime.local import LocalProvider

from .factories import deployed_app

pytestmark = pytest.mark.django_db

LIVE_VALUE = "very-secret-value"  # SECRET_KEY of the live release v1 (factories.deployed_app)
ROTATED = "rotated-secret-two"
GIT_PASSWORD = "hunter22"


def test_old_and_unset_values_and_git_credentials_are_redacted(world, client_for, monkeypatch):
    tenant, alice = world["tenant_a"], world["alice"]
    app = deployed_app(tenant, alice)["app"]
    with tenant_context(tenant):
        for value in (ROTATED, None):  # v2 rotates it, v3 unsets it; neither restarts
            _release, deployment = services.env_vars_update(
                app=app, tenant=tenant, actor=services.SYSTEM,
                changes={"SECRET_KEY": value}, restart=False,
            )  # fmt: skip
            assert deployment is None
        assert services.config_of(app) == {}
    # Only v3 and v2 are "recent": v1's value is still redacted because v1 is live.
    monkeypatch.setattr(services.config, "LOG_SECRET_RELEASES", 2)
    printed = [
        f"web-0: booting with SECRET_KEY={LIVE_VALUE}",
        f"web-0: token {base64.b64encode(LIVE_VALUE.encode()).decode()}",
        f"web-0: draining with {ROTATED}",
        f"web-0: cloned https://user:{GIT_PASSWORD}@git.example.com/acme/shop.git",
    ]
    monkeypatch.setattr(LocalProvider, "logs", lambda self, app_key, **kwargs: list(printed))

    response = client_for(alice, tenant).get(f"/api/v1/apps/{app.pk}/logs")
    assert response.status_code == 200, response.content
    lines = response.json()["lines"]
    assert lines == [
        f"web-0: booting with SECRET_KEY={MASK}",
        f"web-0: token {MASK}",
        f"web-0: draining with {MASK}",
        # The user too, as in build logs (GitSource.secrets).
        f"web-0: cloned https://{MASK}:{MASK}@git.example.com/acme/shop.git",
    ]


def test_git_credentials_are_the_secrets_build_logs_are_redacted_of(world, settings):
    """The same set as the pipeline's (GitSource.secrets): user, password, query values."""
    tenant, alice = world["tenant_a"], world["alice"]
    app = deployed_app(tenant, alice)["app"]
    settings.DEPLOY_GIT_ALLOWED_SCHEMES = ["https", "ssh", "http"]
    with tenant_context(tenant):
        assert services.git_credentials(app) == ["user", GIT_PASSWORD]
        for url, expected in (
            ("https://ghp_0nlyAToken@github.com/acme/shop.git", ["ghp_0nlyAToken"]),
            ("ssh://git@github.com/acme/shop.git", []),
            ("git@github.com:acme/shop.git", []),
            ("https://github.com/acme/shop.git", []),
            (
                "https://oauth2:glpat-s3cr3t@gitlab.example.com/acme/shop.git?private_token=t0k3n-q",
                ["oauth2", "glpat-s3cr3t", "t0k3n-q"],
            ),
            # Allowed when saved, still redacted once the operator no longer allows http.
            ("http://git.example.com/shop.git?private_token=t0k3n-h", ["t0k3n-h"]),
        ):
            app = services.app_update(app=app, tenant=tenant, actor=services.SYSTEM, git_url=url)
            # What the pipeline adds to the build log's redactor when it fetches.
            assert services.git_credentials(app) == services.git_source(url).secrets, url
            settings.DEPLOY_GIT_ALLOWED_SCHEMES = ["https", "ssh"]
            assert services.git_credentials(app) == expected, url
            settings.DEPLOY_GIT_ALLOWED_SCHEMES = ["https", "ssh", "http"]


def test_git_url_query_values_are_redacted_from_runtime_logs(world, client_for, monkeypatch):
    tenant, alice = world["tenant_a"], world["alice"]
    app = deployed_app(tenant, alice)["app"]
    url = "https://git.example.com/acme/shop.git?private_token=glpat-s3cr3t"
    with tenant_context(tenant):
        services.app_update(app=app, tenant=tenant, actor=services.SYSTEM, git_url=url)
    printed = [f"web-0: cloned {url}", "web-0: token=glpat-s3cr3t"]
    monkeypatch.setattr(LocalProvider, "logs", lambda self, app_key, **kwargs: list(printed))

    response = client_for(alice, tenant).get(f"/api/v1/apps/{app.pk}/logs")
    assert response.status_code == 200, response.content
    assert response.json()["lines"] == [
        f"web-0: cloned https://git.example.com/acme/shop.git?private_token={MASK}",
        f"web-0: token={MASK}",
    ]
