import datetime as dt
import time

import pytest
from django.utils import timezone

from apps.core import heartbeat, nodes
from apps.core.models import Node
from apps.core.tasks import nodes_prune

pytestmark = pytest.mark.django_db


def _report(name="worker@host-a", kind="worker"):
    sampler = nodes.ProcessTreeSampler()
    sampler.sample()
    nodes.node_report(name=name, kind=kind, usage=sampler.sample())


def test_a_report_creates_then_updates_one_row():
    _report()
    node = Node.objects.get(name="worker@host-a")
    first_seen = node.last_seen_at
    assert node.kind == "worker" and node.pid and node.memory_rss_bytes > 0
    assert node.cpu_pct is not None and node.load_1m is not None and node.started_at
    assert node.details["processes"] >= 1
    time.sleep(0.01)
    _report()
    assert Node.objects.filter(name="worker@host-a").count() == 1
    assert Node.objects.get(name="worker@host-a").last_seen_at > first_seen
    assert not Node.objects.get(name="worker@host-a").is_stale


def test_the_heartbeat_thread_reports_its_node(settings):
    thread = heartbeat.HeartbeatThread("worker@thread-test", interval_s=60)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not Node.objects.filter(name="worker@thread-test"):
        time.sleep(0.05)
    thread.stopped.set()
    thread.join(timeout=5)
    node = Node.objects.get(name="worker@thread-test")
    assert node.kind == "worker"
    assert "worker@thread-test" in heartbeat.heartbeats()  # the readiness heartbeat is kept
    heartbeat.heartbeat_remove("worker@thread-test")
    Node.objects.filter(name="worker@thread-test").delete()  # committed by the thread


def test_a_failing_report_is_logged_not_raised(caplog):
    assert (
        nodes.node_report_quietly(
            name="x" * 10, kind="no-such-kind-longer-than-10", usage=nodes.Usage()
        )
        is False
    )
    assert "Could not report node" in caplog.text


def test_stale_after_the_setting(settings):
    settings.NODE_STALE_AFTER_S = 60
    _report("worker@old")
    Node.objects.filter(name="worker@old").update(
        last_seen_at=timezone.now() - dt.timedelta(seconds=61)
    )
    assert Node.objects.get(name="worker@old").is_stale
    settings.NODE_STALE_AFTER_S = 120
    assert not Node.objects.get(name="worker@old").is_stale


def test_prune_drops_nodes_unseen_for_a_week():
    _report("worker@gone")
    _report("worker@recent")
    Node.objects.filter(name="worker@gone").update(
        last_seen_at=timezone.now() - dt.timedelta(days=8)
    )
    Node.objects.filter(name="worker@recent").update(
        last_seen_at=timezone.now() - dt.timedelta(days=6)
    )
    assert nodes_prune() == 1
    assert set(Node.objects.values_list("name", flat=True)) >= {"worker@recent"}
    assert not Node.objects.filter(name="worker@gone").exists()


def test_a_real_worker_reports_itself(celery_worker_process):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        node = Node.objects.filter(kind="worker", pid=celery_worker_process.pid).first()
        if node is not None:
            break
        time.sleep(0.2)
    assert node is not None, "the worker did not report its node"
    assert node.name.startswith("test-") and not node.is_stale
    assert node.memory_rss_bytes > 10 * 2**20


def test_admin_lists_nodes_with_a_stale_badge(client, world):
    _report("worker@fresh")
    _report("worker@stale")
    Node.objects.filter(name="worker@stale").update(
        last_seen_at=timezone.now() - dt.timedelta(minutes=5)
    )
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    html = client.get("/admin/core/node/").content.decode()
    assert "worker@fresh" in html and "stale-badge" in html
    stale_only = client.get("/admin/core/node/?stale=yes").content.decode()
    assert "worker@stale" in stale_only and "worker@fresh" not in stale_only


def test_a_real_web_server_reports_itself(tmp_path):
    """gunicorn with two workers: the node is `web@<host>`, measured from the master."""
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings

    from tests.conftest import ROOT, _database_url

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "QS_TEST_RUN_ID": settings.CACHES["default"]["KEY_PREFIX"].removeprefix("qs-test-"),
        "DATABASE_URL": _database_url(),
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "config.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    name = f"web@{socket.gethostname()}"
    try:
        deadline = time.monotonic() + 30
        node = None
        while time.monotonic() < deadline and node is None:
            node = Node.objects.filter(name=name, pid=server.pid).first()
            time.sleep(0.2)
        assert node is not None, "gunicorn did not report its node"
        assert node.kind == "web" and node.details["processes"] >= 3  # master + 2 workers
    finally:
        server.terminate()
        server.wait(timeout=20)
        Node.objects.filter(name=name).delete()


def test_beat_reports_its_node():
    heartbeat.on_beat_init()
    thread, heartbeat._thread = heartbeat._thread, None
    name = thread.worker
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not Node.objects.filter(name=name).exists():
            time.sleep(0.05)
        assert Node.objects.get(name=name).kind == "beat" and name.startswith("beat@")
        assert name not in heartbeat.heartbeats()  # beat is not a worker for /readyz
    finally:
        thread.stopped.set()
        thread.join(timeout=5)
        Node.objects.filter(name=name).delete()
