"""Rows of a deployed app, made directly (no runtime): for API tests that only read them or
stop before the runtime is involved."""

from __future__ import annotations

import json

from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core import crypto
from apps.deploy import services
from apps.deploy.models import (
    AppDomain,
    Build,
    Deployment,
    DeploymentLog,
    EnvVar,
    Formation,
    Release,
)


def deployed_app(tenant, owner, *, name: str = "shop", process_types=None):
    """An app that looks deployed: build, release v1, a live deployment, web=1, an env var and
    a pending domain. Returns a dict of the objects."""
    process_types = process_types or {"web": "gunicorn app:app", "worker": "python worker.py"}
    with tenant_context(tenant):
        app, secret = services.app_create(
            tenant=tenant,
            actor=services.Actor(user=owner),
            name=name,
            git_url="https://user:hunter22@git.example.com/acme/shop.git",
        )
        build = Build.objects.create(
            app=app, ref="main", commit_sha="a" * 40, kind="python", status="succeeded",
            source_dir="/nonexistent", process_types=process_types,
        )  # fmt: skip
        config = {"SECRET_KEY": "very-secret-value"}
        EnvVar.objects.create(
            app=app, key="SECRET_KEY", value_encrypted=crypto.encrypt(config["SECRET_KEY"])
        )
        release = Release.objects.create(
            app=app, version=1, build=build,
            config_encrypted=crypto.encrypt(json.dumps(config)), config_keys=sorted(config),
            process_types=process_types, status="succeeded", description="Deploy aaaaaaaa",
        )  # fmt: skip
        now = timezone.now()
        deployment = Deployment.objects.create(
            app=app, kind="deploy", state="live", ref="main", commit_sha="a" * 40, build=build,
            release=release, formation={"web": 1, "worker": 0}, started_at=now, finished_at=now,
            steps={"live": {"started_at": now.isoformat()}},
        )  # fmt: skip
        DeploymentLog.objects.create(deployment=deployment, stream="build", line="built")
        Formation.objects.create(app=app, process_type="web", count=1)
        Formation.objects.create(app=app, process_type="worker", count=0)
        app.current_release = release
        app.live_deployment = deployment
        app.status = "running"
        app.save()
        domain = AppDomain.objects.create(
            app=app, hostname=f"{name}.example.org", verification_token="t" * 32
        )
    return {
        "app": app,
        "secret": secret,
        "build": build,
        "release": release,
        "deployment": deployment,
        "domain": domain,
    }


def usage_history(tenant, app, *, hours: int = 6, processes=("web.0", "web.1"), now=None):
    """CPU and memory samples of `processes` every minute over the last `hours` (what
    usage_history.sample_runtime writes from the runtime's figures) and one OOM kill of the
    first process an hour ago, for the app page's charts. Returns the number of samples."""
    import datetime as dt
    import math

    from apps.deploy.models import ProcessEvent, ProcessSample

    now = (now or timezone.now()).replace(second=0, microsecond=0)
    mb = 1024 * 1024
    rows = []
    for p, name in enumerate(processes):
        ptype, index = name.split(".")
        for m in range(hours * 60, 0, -1):
            at = now - dt.timedelta(minutes=m)
            rows.append(ProcessSample(
                app=app, deployment_key="journey", process_type=ptype, index=int(index), at=at,
                sampled_at=at, cpu_ns=m, cpu_millicores=120 + p * 40 + int(80 * math.sin(m / 25)),
                memory_bytes=(90 + p * 30 + int(25 * math.sin(m / 40))) * mb,
                memory_limit_bytes=256 * mb,
            ))  # fmt: skip
    ptype, index = processes[0].split(".")
    with tenant_context(tenant):
        ProcessSample.objects.bulk_create(rows)
        ProcessEvent.objects.create(
            app=app, deployment_key="journey", process_type=ptype, index=int(index),
            reason="oom_killed", signal=9, at=now - dt.timedelta(hours=1),
        )  # fmt: skip
    return len(rows)
