"""The operator's view of the local runtime: the `runtime` node (supervisord and Caddy up, CPU
and memory of the process tree), the Caddy probe, and finished deployments counted for
Prometheus."""

import shutil

import pytest

from apps.core import metrics
from apps.core.integrations import DOWN, OK
from apps.core.models import Node
from apps.deploy.runtime_health import probe_caddy, runtime_report

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]


def _deployments(outcome: str) -> int:
    return metrics.counter_values("quayside_deployments_total").get((outcome,), 0)


def test_runtime_reports_its_node_and_caddy_answers(runtime, world):
    reported = runtime_report()
    assert reported["healthy"] is True, reported
    node = Node.objects.get(name=reported["name"])
    assert node.kind == "runtime" and node.pid == runtime.process.pid
    assert node.details["supervisord"] == "RUNNING" and node.details["caddy"] == "up"
    assert node.memory_rss_bytes > 0 and not node.is_stale
    probe = probe_caddy()
    assert probe.status == OK and probe.latency_ms is not None, probe


def test_a_runtime_that_is_gone_is_reported_unhealthy(settings, tmp_path, world):
    settings.DEPLOY_RUNTIME_DIR = str(tmp_path)  # nothing listens here
    reported = runtime_report()
    assert reported["healthy"] is False
    assert reported["supervisord"].startswith("down") and reported["caddy"].startswith("down")
    assert probe_caddy().status == DOWN


def test_a_finished_deployment_is_counted(deployer, git_repo):
    app = deployer.create(git_repo)
    shutil.rmtree(git_repo.path)  # the fetch step fails: the cheapest finished deployment
    before = _deployments("failed")
    deployment = deployer.deploy(app)
    assert deployment.state == "failed"
    assert _deployments("failed") - before == 1
