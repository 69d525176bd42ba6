"""Secrets never reach stored (or streamed) logs: every env var value is redacted from build,
release and runtime output, raw, base64- and URL-encoded, and so are git credentials."""

import base64
from urllib.parse import quote, quote_plus

import pytest
from django_tenants.utils import tenant_context

from apps.deploy import services
from apps.deploy.models import DeploymentLog
from apps.deploy.redaction import MASK, Redactor
from apps.deploy.runtime.git import display_url, parse_git_url

SECRET = "s3cr3t/token+with spaces&more"


def _forms(value: str) -> list[str]:
    raw = value.encode()
    return [
        value,
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        quote(value, safe=""),
        quote_plus(value),
    ]


def test_redactor_masks_every_form_and_leaves_short_values():
    redact = Redactor([SECRET, "1", "line-one-of-a-key\nline-two-of-a-key"], min_length=4)
    for form in _forms(SECRET):
        assert redact(f"before {form} after") == f"before {MASK} after"
    assert redact("count=1") == "count=1"
    assert redact("x line-two-of-a-key y") == f"x {MASK} y"


def test_git_credentials_are_kept_out_of_the_url_we_use_and_show():
    source = parse_git_url("https://deploy:ghp_tok3n@github.com/acme/app.git", allow_local=False)
    assert source.url == "https://github.com/acme/app.git"
    assert source.secrets == ["deploy", "ghp_tok3n"]
    assert "ghp_tok3n" not in display_url("https://deploy:ghp_tok3n@github.com/acme/app.git")
    with pytest.raises(ValueError):
        parse_git_url("/srv/repo", allow_local=False)
    with pytest.raises(ValueError):
        parse_git_url("ext::sh -c evil", allow_local=True)


@pytest.mark.runtime
@pytest.mark.django_db
def test_a_secret_echoed_during_a_deploy_never_reaches_the_stored_log(deployer, git_repo):
    app = deployer.create(git_repo)
    with tenant_context(deployer.tenant):
        services.env_vars_update(
            app=app, tenant=deployer.tenant, actor=services.SYSTEM, changes={"API_TOKEN": SECRET}
        )
    release = (
        'release: echo "raw=$API_TOKEN"; printf %s "$API_TOKEN" | base64; '
        "python -c \"import os, urllib.parse as u; t = os.environ['API_TOKEN']; "
        "print(u.quote(t, safe='')); print(u.quote_plus(t))\"\n"
    )
    boot = "import os\nprint('booting with', os.environ['API_TOKEN'], flush=True)\n"
    git_repo.commit(
        {
            "Procfile": "web: gunicorn --bind unix:$QUAYSIDE_SOCKET app:app\n" + release,
            "app.py": boot + (git_repo.path / "app.py").read_text(),
        }
    )
    deployment = deployer.deploy(app)
    assert deployment.state == "live", deployment.failure_reason

    with tenant_context(deployer.tenant):
        lines = list(
            DeploymentLog.objects.filter(deployment=deployment).values_list("line", flat=True)
        )
    text = "\n".join(lines)
    assert "raw=" + MASK in text
    assert text.count(MASK) >= 4
    for form in _forms(SECRET):
        assert form not in text

    # The app's own output (the runtime log API) is redacted the same way.
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(deployer.world["alice"])
    body = client.get(f"/api/v1/apps/{app.pk}/logs", HTTP_X_TENANT_ID=deployer.tenant.slug).json()
    assert any(f"booting with {MASK}" in line for line in body["lines"]), body
    assert SECRET not in str(body)
