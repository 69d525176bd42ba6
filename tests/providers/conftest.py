"""Fixtures of the provider contract suite: one `driver` per provider (tests/k8s/scenarios.py).

- local: the real local runtime (the session's supervisord + Caddy, the sandbox on), one app
  built once per module from a git repository of scenarios.CONTRACT_APP (v1 and v2), reset
  between scenarios; marked `runtime`.
- kubernetes: the real provider (lightkube over HTTP) against a fresh API emulator per test."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from apps.deploy.runtime.kubernetes import KubernetesProvider
from tests.k8s.emulator import Emulator
from tests.k8s.scenarios import KubernetesDriver, LocalDriver

LOCAL_APP = "c0" * 16
K8S_APP = "ab" * 16
LOCAL_HEALTH_TIMEOUT_S = 8.0


@pytest.fixture(scope="module")
def local_driver(runtime):
    """The local provider with one app built twice (v1, v2): builds take seconds, so the
    scenarios share them; each scenario gets fresh deployment keys and a reset app."""
    driver = LocalDriver(runtime.provider, runtime, health_timeout_s=LOCAL_HEALTH_TIMEOUT_S)
    with tempfile.TemporaryDirectory(prefix="qs-contract-") as scratch:
        repo = Path(scratch) / "repo"
        started = time.monotonic()
        driver.build(LOCAL_APP, repo, "v1")
        driver.build(LOCAL_APP, repo, "v2")
        driver.build_s = time.monotonic() - started
        driver.repo = repo
        driver.app_key = LOCAL_APP
        yield driver
        runtime.provider.remove_app(LOCAL_APP)


@pytest.fixture
def k8s_driver(settings):
    with Emulator() as emulator:
        settings.DEPLOY_K8S_KUBECONFIG = emulator.kubeconfig
        settings.DEPLOY_K8S_IN_CLUSTER = False
        settings.DEPLOY_K8S_POLL_S = 0.03
        settings.DEPLOY_K8S_CLUSTER_ISSUER = "letsencrypt"
        driver = KubernetesDriver(KubernetesProvider(), emulator)
        driver.app_key = K8S_APP
        yield driver
    assert not emulator.controller.errors, emulator.controller.errors


@pytest.fixture(params=[pytest.param("local", marks=pytest.mark.runtime), "kubernetes"])
def driver(request, db):
    """The driver of the provider under test (local for real, kubernetes on the emulator).
    With `db`: the Kubernetes provider records repaired drift in the audit log, and the
    session's runtime wants the test database set up first."""
    if request.param == "local":
        found = request.getfixturevalue("local_driver")
        found.reset(found.app_key)
        yield found
        found.reset(found.app_key)
        found.health_timeout_s = LOCAL_HEALTH_TIMEOUT_S
    else:
        yield request.getfixturevalue("k8s_driver")
