"""The plan's limits hold against a hostile app (issue 13): past its memory limit the process is
OOM-killed, the kill is recorded with its reason, and the process comes back (after a backoff)
and serves again; a CPU hog held to its millicores leaves a neighbour's latency alone."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from apps.core.models import OutboxEvent
from apps.deploy import usage_history
from apps.deploy.models import ProcessEvent
from apps.deploy.runtime.sandbox import enabled as sandbox_enabled

from .conftest import GitRepo
from .sandbox_support import hostile_repo
from .test_sandbox_attacks import set_limits

pytestmark = [
    pytest.mark.runtime,
    pytest.mark.django_db,
    pytest.mark.skipif(not sandbox_enabled(), reason="DEPLOY_SANDBOX=off"),
]


def deploy_hostile(deployer, tmp_path, name="hostile"):
    repo = GitRepo(tmp_path / name)
    hostile_repo(repo, build_hook=False)
    app = deployer.create(repo)
    deployment = deployer.deploy(app)
    assert deployment.state == "live", deployment.failure_reason
    return app


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout_s} s")


def test_past_its_memory_limit_a_process_is_oom_killed_recorded_and_restarted(
    deployer, runtime, tmp_path, client_for
):
    set_limits(deployer.tenant, memory_mb=64)
    app = deploy_hostile(deployer, tmp_path)
    host = deployer.hostname(app)
    provider = runtime.provider
    _, cursor = provider.process_exits("")  # whatever was recorded before this test

    try:
        answer = runtime.get(host, "/oom?mb=512")
        assert answer.status_code >= 500, answer.text  # it never gets to say "holding"
    except httpx.HTTPError:
        pass  # or the connection went down with the process

    exits = wait_for(
        lambda: [e for e in provider.process_exits(cursor)[0] if e.app_key == app.pk.hex],
        10,
        "the exit record",
    )
    assert exits[0].reason == "oom_killed" and exits[0].process_type == "web", exits
    assert exits[0].signal == 9, exits  # SIGKILL, from the kernel's OOM killer
    # Restarted (after its backoff) and serving again.
    wait_for(lambda: runtime.get(host, "/").status_code == 200, 15, "the restart")
    assert any("restarting after a crash in 1 s" in line for line in provider.logs(app.pk.hex))
    # STARTING for its first second after the backoff (status() says so), then RUNNING.
    wait_for(
        lambda: (
            [s for s in provider.status(app.pk.hex) if s.process_type == "web"]
            and all(
                s.state == "RUNNING" for s in provider.status(app.pk.hex) if s.process_type == "web"
            )
        ),
        10,
        "RUNNING again",
    )
    usage = [u for u in provider.usage(app.pk.hex) if u.process_type == "web"]
    assert usage and usage[0].memory_limit_bytes == 64 * 1024 * 1024
    assert 0 < usage[0].memory_bytes < 64 * 1024 * 1024 and usage[0].cpu_ns > 0

    # The sampler records it: a process event, the outbox event, the processes endpoint.
    cache.delete(usage_history.cursor_key(provider))
    usage_history.sample_runtime(provider=provider)
    with tenant_context(deployer.tenant):
        # (On a loaded machine the kill may take two tries: the first record is the OOM kill.)
        event = ProcessEvent.objects.filter(app=app).order_by("at").first()
        sent = OutboxEvent.objects.filter(type="app.process_crashed").order_by("id").first()
    assert event is not None and event.reason == "oom_killed" and event.signal == 9
    assert sent.data["reason"] == "oom_killed" and sent.tenant_id == deployer.tenant.pk
    alice = client_for(deployer.world["alice"], deployer.tenant)
    body = alice.get(f"/api/v1/apps/{app.pk}/processes").json()
    web = next(p for p in body["processes"] if p["type"] == "web")
    assert web["oom_kills_24h"] >= 1 and web["last_exit"]["reason"] == "oom_killed", body


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def timed_gets(client: httpx.Client, count: int) -> list[float]:
    out = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get("/")
        out.append(time.perf_counter() - started)
        assert response.status_code == 200
    return out


def test_a_cpu_hog_leaves_its_neighbour_within_twice_its_latency(deployer, runtime, tmp_path):
    set_limits(deployer.tenant, cpu_millicores=500)
    neighbour = deployer.create(GitRepo(tmp_path / "neighbour"))
    assert deployer.deploy(neighbour).state == "live"
    hostile = deploy_hostile(deployer, tmp_path)
    with httpx.Client(
        base_url=f"http://127.0.0.1:{runtime.port}",
        headers={"Host": deployer.hostname(neighbour)},
        timeout=10,
    ) as client:
        timed_gets(client, 20)  # warm up
        baseline = timed_gets(client, 200)
        assert (
            runtime.get(deployer.hostname(hostile), "/cpuhog?procs=4&seconds=8").status_code == 200
        )
        time.sleep(1)
        loaded = timed_gets(client, 200)
    hog = [u for u in runtime.provider.usage(hostile.pk.hex) if u.process_type == "web"]
    base, under = p95(baseline), p95(loaded)
    # 2x of the baseline; a baseline under 5 ms counts as 5 ms (timer and scheduler noise on a
    # loaded 2-core machine dwarfs a sub-millisecond figure).
    print(f"neighbour p95: {base * 1000:.2f} ms alone, {under * 1000:.2f} ms beside the hog")
    assert under <= 2 * max(base, 0.005), f"p95 {base * 1000:.1f} ms -> {under * 1000:.1f} ms"
    assert hog and hog[0].cpu_ns > 0


def test_an_apps_disk_grows_with_its_plan_and_its_network_comes_back(runtime):
    import os
    import subprocess
    import uuid

    from apps.deploy.runtime.base import ResourceLimits

    provider, key = runtime.provider, uuid.uuid4().hex
    try:
        provider.prepare_app(key, ResourceLimits(disk_mb=64))
        home = provider.sandbox.app_dir(key) / "home"
        small = os.statvfs(home)
        provider.prepare_app(key, ResourceLimits(disk_mb=128))
        if provider.sandbox.notes:  # no online resize in this kernel: at the next mount
            subprocess.run(["umount", str(provider.sandbox.app_dir(key))], check=True)  # noqa: S607
            provider.prepare_app(key, ResourceLimits(disk_mb=128))
        grown = os.statvfs(home)
        assert grown.f_blocks * grown.f_frsize > 1.8 * small.f_blocks * small.f_frsize
        # slirp4netns gone (killed): the next prepare brings it back.
        provider.supervisor.remove(f"net-{key}")
        provider.prepare_app(key, ResourceLimits(disk_mb=128))
        states = {p["group"]: p["statename"] for p in provider.supervisor.processes()}
        assert states[f"net-{key}"] in ("RUNNING", "STARTING")
    finally:
        provider.remove_app(key)
    assert not provider.sandbox.image(key).exists()
    assert not os.path.ismount(provider.sandbox.app_dir(key))
