"""Runtime providers: where deployed apps run. See base.py for the interface."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from .base import RuntimeProblem, RuntimeProvider

PROVIDERS = {
    "local": "apps.deploy.runtime.local.LocalProvider",
    "kubernetes": "apps.deploy.runtime.kubernetes.KubernetesProvider",
}


def get_provider(name: str | None = None) -> RuntimeProvider:
    """A provider for the current settings (cheap to make: it holds paths, not connections)."""
    name = name or settings.DEPLOY_PROVIDER
    try:
        return import_string(PROVIDERS[name])()
    except KeyError as exc:
        raise RuntimeProblem(f"Unknown runtime provider '{name}'.") from exc


__all__ = ["PROVIDERS", "RuntimeProblem", "RuntimeProvider", "get_provider"]
