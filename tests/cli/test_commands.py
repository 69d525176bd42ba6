"""The `quay` commands against a live server, signed in with a device-grant access token (made
as allauth stores one: tests/cli/conftest.py) or an API key.

`deploy --follow` is followed for real (the deployment's SSE log stream and its state, polled),
but the deployment itself is moved along by this test, which writes its steps and log lines
into the database as the pipeline would: no build runs (that takes far longer; tests/deploy
covers it)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core.actor import Actor

from .conftest import make_person, oauth_token

STATES = ("fetching", "building", "releasing", "starting", "verifying", "switching")


def test_apps_env_scale_rollback_logs(quay):
    person = make_person()
    token = oauth_token(person.user)
    slug = person.tenant.slug

    def ok(*args, **kwargs):
        done = quay(*args, token=token, tenant=slug, **kwargs)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    assert "shop" in ok("apps") and "running" in ok("apps")
    [app] = json.loads(ok("apps", "--json"))
    assert app["name"] == "shop"

    # env: names only, never values
    assert [r["key"] for r in json.loads(ok("env", "list", "shop", "--json"))] == ["SECRET_KEY"]
    assert "very-secret-value" not in ok("env", "list", "shop")
    out = ok("env", "set", "shop", "DEBUG=1", "GREETING=a=b")
    assert "Set DEBUG, GREETING: release v2." in out and "Deploying it" in out
    assert {"DEBUG", "GREETING", "SECRET_KEY"} <= set(ok("env", "list", "shop").split())
    assert "Unset DEBUG: release v3." in ok("env", "unset", "shop", "DEBUG")
    assert "DEBUG" not in ok("env", "list", "shop")
    bad = quay("env", "set", "shop", "1BAD=x", token=token, tenant=slug)
    assert bad.returncode == 1 and "vars.1BAD" in bad.stderr and "Traceback" not in bad.stderr

    scaled = json.loads(ok("scale", "shop", "web=2", "--json"))
    assert scaled["kind"] == "scale" and scaled["formation"]["web"] == 2

    # rollback: the release before the current one (there is none yet), or a named one
    none_older = quay("rollback", "shop", token=token, tenant=slug)
    assert none_older.returncode == 1 and "no earlier release" in none_older.stderr
    out = ok("rollback", "shop", "v1")
    assert "Rolling shop back to v1." in out and "(rollback) is queued" in out
    missing = quay("rollback", "shop", "v9", token=token, tenant=slug)
    assert missing.returncode == 4 and "no release v9" in missing.stderr

    # logs: the processes' output (the runtime is not running here: none), a deployment's output
    assert quay("logs", "shop", token=token, tenant=slug).returncode == 0
    live = str(person.rows["deployment"].pk)
    assert "build | built" in ok("logs", "shop", "--deployment", live)
    assert json.loads(ok("logs", "shop", "--deployment", live, "--json"))[0]["line"] == "built"

    assert json.loads(ok("monitors", "--json")) == []
    unknown = quay("deploy", "nope", token=token, tenant=slug)
    assert unknown.returncode == 4 and "No app 'nope'" in unknown.stderr


def _drive(tenant, *, kind: str, end: str, lines_per_step: int = 1) -> None:
    """Moves the newest queued deployment of `kind` through the steps, writing log lines, as
    the pipeline would; ends it `end` (live or failed)."""
    from apps.deploy.models import Deployment, DeploymentLog

    deadline = time.monotonic() + 20
    with tenant_context(tenant):
        while time.monotonic() < deadline:
            deployment = Deployment.objects.filter(kind=kind, state="queued").first()
            if deployment:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the CLI made no deployment")
        steps = {}
        for state in STATES if end == "live" else STATES[:2]:
            steps[state] = {"started_at": timezone.now().isoformat()}
            Deployment.objects.filter(pk=deployment.pk).update(state=state, steps=steps)
            for n in range(lines_per_step):
                DeploymentLog.objects.create(
                    deployment=deployment, stream="build", line=f"{state} line {n}"
                )
            time.sleep(0.15)
        failure = {} if end == "live" else {"failure_step": "building",
                                             "failure_reason": "pip install failed"}  # fmt: skip
        Deployment.objects.filter(pk=deployment.pk).update(
            state=end, finished_at=timezone.now(), **failure
        )


def test_deploy_follow_shows_steps_and_streamed_logs(quay):
    person = make_person()
    token = oauth_token(person.user)

    def follow(*extra):
        process = subprocess.Popen(
            [sys.executable, "-m", "quay_cli", "--tenant", person.tenant.slug, "deploy", "shop",
             "--follow", *extra],
            env=quay.env_for(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        return process

    quay("apps", token=token, tenant=person.tenant.slug)  # writes the credentials file
    process = follow("--branch", "main")
    driver = threading.Thread(target=_drive, args=(person.tenant,),
                              kwargs={"kind": "deploy", "end": "live"})  # fmt: skip
    driver.start()
    out, err = process.communicate(timeout=30)
    driver.join()
    assert process.returncode == 0, err
    # every log line, streamed in order, and the progress through each step
    logged = [line.split("| ", 1)[1] for line in out.splitlines() if " | " in line]
    assert logged == [f"{state} line 0" for state in STATES]
    for state in STATES:
        assert f"{state}" in out
    assert "7/7 live" in out and "Deployed: live" in out

    # a failed deployment: its step and reason, exit code 5
    process = follow("--commit", "a" * 40)
    driver = threading.Thread(target=_drive, args=(person.tenant,),
                              kwargs={"kind": "deploy", "end": "failed"})  # fmt: skip
    driver.start()
    out, err = process.communicate(timeout=30)
    driver.join()
    assert process.returncode == 5
    assert "Deployment failed at building: pip install failed" in err


def test_ops_with_confirmation(quay):
    """Against the real registry (POST /api/v1/operations/{name}/execute), with an API key
    (QUAY_API_KEY) as the credential: a critical operation asks, and runs only once confirmed."""
    from apps.accounts.services import api_key_create
    from apps.deploy.models import App

    person = make_person()
    _, key = api_key_create(
        tenant=person.tenant, name="cli", authority="admin",
        actor=Actor(user=person.user, role="owner"),
    )  # fmt: skip
    slug = person.tenant.slug
    app_id = str(person.rows["app"].pk)

    listed = quay("ops", "list", "--json", api_key=key, tenant=slug)
    assert listed.returncode == 0, listed.stderr
    assert {o["name"]: o["risk"] for o in json.loads(listed.stdout)}["app.delete"] == "critical"

    declined = quay("ops", "run", "app.delete", f"app_id={app_id}", api_key=key, tenant=slug,
                    input="n\n")  # fmt: skip
    assert declined.returncode == 6, declined.stderr
    assert f"Delete app {app_id}" in declined.stderr and "nothing was done" in declined.stderr
    with tenant_context(person.tenant):
        assert App.objects.filter(pk=app_id).exists()

    low = quay("ops", "run", "app.restart", f"app_id={app_id}", "--json", api_key=key,
               tenant=slug)  # fmt: skip
    assert low.returncode == 0, low.stderr
    assert "Go ahead?" not in low.stderr and json.loads(low.stdout)["risk"] == "medium"

    confirmed = quay("ops", "run", "app.delete", "--input", json.dumps({"app_id": app_id}),
                     "--json", api_key=key, tenant=slug, input="y\n")  # fmt: skip
    assert confirmed.returncode == 0, confirmed.stderr
    assert json.loads(confirmed.stdout)["operation"] == "app.delete"
    with tenant_context(person.tenant):
        assert not App.objects.filter(pk=app_id).exists()

    unknown = quay("ops", "run", "no.such", api_key=key, tenant=slug)
    assert unknown.returncode == 4, unknown.stderr
