"""The catalogue of events that leave Quayside through the outbox (outgoing webhooks, automatic
monitors). One vocabulary with audit actions and inbox kinds: `<entity>.<past tense>`.
Endpoints subscribe to these types (or to `<entity>.*`); API.md and docs/webhooks.md list them."""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "tenant.created": "A tenant was created.",
    "tenant.renamed": "A tenant's name changed.",
    "tenant.suspended": "A tenant was suspended (unpaid or by an operator).",
    "tenant.resumed": "A suspended tenant is active again.",
    "tenant.deleted": "A tenant was deleted (soft; purged later).",
    "tenant.ownership_transferred": "A tenant has a new owner.",
    "member.added": "Somebody joined the tenant (invitation accepted).",
    "member.role_changed": "A member's role changed.",
    "member.removed": "A member was removed or left.",
    "app.created": "An app was created.",
    "app.deleted": "An app was deleted.",
    "app.process_crashed": "A process of an app ended without being asked to and is restarted "
    "(reason oom_killed: it reached its memory limit; crashed: any other exit).",
    "deployment.started": "A deployment started building.",
    "deployment.succeeded": "A deployment is live.",
    "deployment.failed": "A deployment failed; the previous release keeps serving.",
    "deployment.canceled": "A deployment was canceled.",
    "addon.created": "An add-on (PostgreSQL or Redis) was created for an app.",
    "addon.destroyed": "An add-on and its data are being deleted.",
    "addon.size_exceeded": "An add-on is over its plan's size (it becomes read-only if it stays "
    "over).",
    "addon.locked": "An add-on stayed over its size and is read-only now (no data is lost).",
    "addon.unlocked": "A read-only add-on is under its size again and writable.",
    "monitor.down": "A monitor went down.",
    "monitor.up": "A monitor is up again.",
    "incident.opened": "An incident was opened (a monitor went down).",
    "incident.resolved": "An incident was resolved (its monitor is up again).",
    "invoice.paid": "An invoice was paid (and issued: our invoices get their number when paid).",
    "invoice.payment_failed": "Paying an invoice failed.",
}


def event_type_matches(pattern: str, event_type: str) -> bool:
    """`pattern` is an exact type, `<entity>.*`, or `*`."""
    if pattern == "*" or pattern == event_type:
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


def event_pattern_valid(pattern: str) -> bool:
    if pattern == "*" or pattern in EVENT_TYPES:
        return True
    return pattern.endswith(".*") and any(t.startswith(pattern[:-1]) for t in EVENT_TYPES)
