"""Fixtures of the Kubernetes provider tests: an emulated API server per test (tests/k8s/emulator)
and the real provider pointed at it through a generated kubeconfig."""

from __future__ import annotations

import pytest

from apps.deploy.runtime.kubernetes import KubernetesProvider

from .emulator import Emulator
from .scenarios import KubernetesDriver


@pytest.fixture
def k8s(request):
    """An emulated API server (Kubernetes 1.34's schemas; parametrize indirectly for another)."""
    with Emulator(k8s_version=getattr(request, "param", "1.34.0")) as emulator:
        yield emulator
    assert not emulator.controller.errors, emulator.controller.errors


@pytest.fixture
def provider(k8s, settings) -> KubernetesProvider:
    settings.DEPLOY_K8S_KUBECONFIG = k8s.kubeconfig
    settings.DEPLOY_K8S_IN_CLUSTER = False
    settings.DEPLOY_K8S_POLL_S = 0.03
    settings.DEPLOY_K8S_CLUSTER_ISSUER = "letsencrypt"
    settings.DEPLOY_K8S_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    settings.DEPLOY_HEALTH_PASSES = 1
    return KubernetesProvider()


@pytest.fixture
def driver(provider, k8s) -> KubernetesDriver:
    return KubernetesDriver(provider, k8s)
