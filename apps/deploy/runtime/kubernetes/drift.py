"""Drift: what the cluster has that differs from what Quayside would apply, and its repair.

`converge(cluster, desired)` reads each desired object back; a missing one, or one whose fields
differ from what Quayside applies (only the fields it applies: the server's defaults and status
are not drift), is re-applied (server-side apply with force takes every field back), and the
difference is returned as a `Drift`. `record(drifts, tenant)` writes each to the audit log as
`runtime.drift_repaired`, which GET /api/v1/admin/runtime/drift lists."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from . import names
from .client import Cluster
from .status import quantity

logger = logging.getLogger(__name__)
ACTION = "runtime.drift_repaired"
_MISSING = object()


@dataclass(frozen=True)
class Drift:
    kind: str
    namespace: str
    name: str
    change: str  # "missing" | "modified"
    fields: tuple[str, ...] = ()
    app_key: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        where = f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"
        if self.change == "missing":
            return f"repaired drift: {where} was missing"
        return f"repaired drift: {where} had {', '.join(self.fields)} changed"


def differences(desired: Any, live: Any, path: str = "") -> list[str]:
    """Fields of `desired` that `live` lacks or has with another value (dicts recurse; lists
    and scalars compare whole). Secret data is compared but never reported by value."""
    if isinstance(desired, dict) and isinstance(live, dict):
        out = []
        for key, value in desired.items():
            out.extend(differences(value, live.get(key, _MISSING), f"{path}.{key}"))
        return out
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        # Element by element, so that fields a real server defaults inside list items
        # (a container's imagePullPolicy, terminationMessagePath, …) are not drift.
        found = []
        for index, (want, have) in enumerate(zip(desired, live, strict=True)):
            found.extend(differences(want, have, f"{path}[{index}]"))
        return [path.lstrip(".")] if found else []
    if desired == live or _same_quantity(desired, live):
        return []
    return [path.lstrip(".") or "(object)"]


def _same_quantity(desired: Any, live: Any) -> bool:
    """ "1000m" and "1" are one CPU: a real server writes quantities back normalized."""
    if not (isinstance(desired, str) and isinstance(live, str)):
        return False
    try:
        return quantity(desired) == quantity(live)
    except ValueError:
        return False


def _compared(obj: dict) -> dict:
    """The part of an object Quayside owns (not name/namespace: they identify it)."""
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    meta = obj.get("metadata", {})
    out["metadata"] = {k: meta[k] for k in ("labels", "annotations") if k in meta}
    return out


def converge(cluster: Cluster, desired: list[dict], *, only_missing: bool = False) -> list[Drift]:
    """Re-apply what is missing or differs; the drifts found (nothing applied when none)."""
    drifts = []
    for obj in desired:
        meta = obj["metadata"]
        namespace = meta.get("namespace")
        live = cluster.get(obj["kind"], meta["name"], namespace)
        app_key = (meta.get("labels") or {}).get(names.APP, "")
        if live is None:
            drift = Drift(obj["kind"], namespace or "", meta["name"], "missing", app_key=app_key)
        elif only_missing:
            continue
        else:
            fields = differences(_compared(obj), _compared(live))
            if not fields:
                continue
            drift = Drift(
                obj["kind"],
                namespace or "",
                meta["name"],
                "modified",
                tuple(fields),
                app_key=app_key,
            )
        if obj["kind"] == "Secret" and live is not None and obj.get("immutable"):
            # An immutable Secret cannot be changed in place: replace it.
            cluster.delete("Secret", meta["name"], namespace)
        cluster.apply(obj)
        drifts.append(drift)
    return drifts


def record(drifts: list[Drift], tenant_slug: str) -> None:
    """Write each repaired drift to the audit log (what operators see)."""
    if not drifts:
        return
    from apps.core.audit import audit_record
    from apps.core.models import AuditSeverity
    from apps.tenants.models import Tenant

    tenant = Tenant.objects.filter(slug=tenant_slug).first() if tenant_slug else None
    for drift in drifts:
        logger.warning("Kubernetes drift: %s", drift.describe())
        audit_record(
            action=ACTION,
            tenant=tenant,
            target_type="kubernetes",
            target_id=f"{drift.kind}/{drift.namespace}/{drift.name}"[:64],
            severity=AuditSeverity.WARNING,
            metadata={
                "kind": drift.kind,
                "namespace": drift.namespace,
                "name": drift.name,
                "change": drift.change,
                "fields": list(drift.fields),
                "app_key": drift.app_key,
                "tenant": tenant_slug,
            },
        )
