"""A live Quayside (gunicorn on the test database) for the `quay` CLI, and ways to run the real
CLI against it: `quay(...)` runs `python -m quay_cli` (what .venv/bin/quay runs) in a subprocess
with QUAY_URL, QUAY_CONFIG_DIR and the credential of the test's person.

The server starts once for the session (about 2 s); each test makes its own committed data
(`transactional_db`: the server reads it over other connections), so these tests sort after all
others (tests/billing/conftest.py) and their teardown TRUNCATEs. The server's cache prefix is its
own (QS_TEST_RUN_ID): device codes and confirmation tokens live there, so approving a device goes
through the server over HTTP, as a browser would. Its settings are the test settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.conftest import _database_url
from tests.contract.conftest import _free_port, _wait_until_up

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "cli-Pa55word!"


@dataclass
class CliServer:
    url: str
    run_id: str


@pytest.fixture(scope="session")
def cli_server(django_db_setup) -> Iterator[CliServer]:
    run_id = f"cli{uuid.uuid4().hex[:8]}"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "QS_TEST_RUN_ID": run_id,
        "CLI_DEVICE_POLL_INTERVAL_S": "1",
        "DEPLOY_LOG_STREAM_MAX_S": "20",
    }
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
        "--log-level", "warning", "--graceful-timeout", "2",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        _wait_until_up(url, process)
        yield CliServer(url=url, run_id=run_id)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        from apps.core import heartbeat

        client = heartbeat.redis_client()
        for key in client.scan_iter(match=f"*qs-test-{run_id}*"):
            client.delete(key)


@dataclass
class Person:
    user: object
    email: str
    tenant: object = None
    rows: dict = field(default_factory=dict)


def make_person(*, with_app: bool = True) -> Person:
    """A verified user owning a tenant (with a deployed app `shop`, tests/deploy/factories)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    from apps.tenants.services import tenant_create
    from tests.deploy.factories import deployed_app

    tag = uuid.uuid4().hex[:8]
    email = f"cli-{tag}@example.com"
    user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    tenant = tenant_create(name=f"CLI {tag}", slug=f"cli-{tag}", owner=user)
    rows = deployed_app(tenant, user, name="shop") if with_app else {}
    return Person(user=user, email=email, tenant=tenant, rows=rows)


def oauth_token(user, *, scope: str = "api", expires_in_s: int = 3600) -> str:
    """An access token as the device grant stores it (allauth's Token, hashed), for tests that
    are not about signing in."""
    from allauth.idp.oidc.models import Token

    from apps.accounts.device_login import cli_client_ensure

    client = cli_client_ensure()
    value = secrets.token_urlsafe(64)
    token = Token(
        type=Token.Type.ACCESS_TOKEN, client=client, user=user, scopes=scope,
        expires_at=timezone.now() + timedelta(seconds=expires_in_s),
    )  # fmt: skip
    token.set_value(value)
    token.save()
    return value


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def quay(cli_server, tmp_path, transactional_db):
    """quay(*args, token=, api_key=, input=, tenant=, subprocess=False, env=) -> Ran.

    Runs the CLI's click command in this process (click's CliRunner; real HTTP to the live
    server, the environment as given), or with `subprocess=True` as a separate
    `python -m quay_cli` started from `/`. With `token`, writes credentials.json as `quay login`
    would."""
    import json

    from click.testing import CliRunner

    from quay_cli.cli import cli

    config_dir = tmp_path / "quay"

    def environment(api_key=None) -> dict[str, str | None]:
        return {
            "QUAY_URL": cli_server.url,
            "QUAY_CONFIG_DIR": str(config_dir),
            "QUAY_API_KEY": api_key,
            "QUAY_TENANT": None,
        }

    def run(*args, token=None, api_key=None, input=None, tenant=None, subprocess=False, env=None):
        if token:
            config_dir.mkdir(exist_ok=True)
            (config_dir / "credentials.json").write_text(
                json.dumps({"url": cli_server.url, "access_token": token})
            )
        argv = [*(["--tenant", tenant] if tenant else []), *args]
        if subprocess:
            import subprocess as sp

            done = sp.run(
                [sys.executable, "-m", "quay_cli", *argv], env=env_for(api_key), input=input,
                capture_output=True, text=True, timeout=30, cwd="/",
            )  # fmt: skip
            return Ran(done.returncode, done.stdout, done.stderr)
        result = CliRunner().invoke(
            cli, argv, env={**environment(api_key), **(env or {})}, input=input
        )
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Ran(result.exit_code, result.stdout, result.stderr)

    def env_for(api_key=None) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for name, value in environment(api_key).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    run.config_dir = config_dir
    run.env_for = env_for
    return run
