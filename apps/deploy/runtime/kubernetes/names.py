"""Names and labels of what the Kubernetes provider makes: one scheme, used to build objects
and to find them again (by label, across namespaces) when all a call has is an app key."""

from __future__ import annotations

import re

from django.conf import settings

MANAGER = "quayside"  # the server-side apply field manager
MANAGED_BY = "app.kubernetes.io/managed-by"
TENANT = "quayside.dev/tenant"
APP = "quayside.dev/app"
DEPLOYMENT = "quayside.dev/deployment"
PROCESS_TYPE = "quayside.dev/process-type"
ROLE = "quayside.dev/role"  # "process" | "release"
ISSUER = "cert-manager.io/cluster-issuer"
PIDS = "quayside.dev/pids-limit"
CONTAINER = "app"


def _dns_label(text: str, limit: int = 63) -> str:
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:limit].strip("-")
    return label or "x"


def namespace(tenant: str) -> str:
    return _dns_label(f"{settings.DEPLOY_K8S_NAMESPACE_PREFIX}{tenant or 'default'}")


def base(app_key: str) -> str:
    """An app's name stem: 'a' + the first 16 hex digits of its key (a DNS-1035 label)."""
    return f"a{app_key[:16]}"


def process_type(ptype: str) -> str:
    return _dns_label(ptype, 20)


def deployment(app_key: str, deployment_key: str, ptype: str) -> str:
    return f"{base(app_key)}-{deployment_key}-{process_type(ptype)}"


def secret(app_key: str, deployment_key: str) -> str:
    return f"{base(app_key)}-{deployment_key}-env"


def service(app_key: str) -> str:
    return f"{base(app_key)}-web"


def route(app_key: str) -> str:
    return base(app_key)


def tls_secret(app_key: str) -> str:
    return f"{base(app_key)}-tls"


def tenant_label(tenant: str) -> str:
    return _dns_label(tenant or "default")


def app_labels(tenant: str, app_key: str) -> dict[str, str]:
    return {MANAGED_BY: MANAGER, TENANT: tenant_label(tenant), APP: app_key}


def selector(**labels: str) -> str:
    return ",".join(f"{key}={value}" for key, value in labels.items())
