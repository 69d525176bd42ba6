"""Writes of outgoing webhooks (Standard Webhooks, docs/webhooks.md): endpoints, their secrets,
the outbox consumer that turns events into messages, delivery results, test sends and replays.

They run in the current tenant's schema (the public due index, apps.monitoring.schedule's
WebhookDue, is reachable there too); `tenant` is the Tenant it belongs to. The delivery loop is
apps/monitoring/webhook_delivery.py."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import logging
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.core import crypto
from apps.core.audit import audit_record
from apps.core.events import event_pattern_valid, event_type_matches
from apps.core.inbox import inbox_send
from apps.core.locks import advisory_xact_lock
from apps.core.net import http_url_parts, ip_allowed
from apps.core.problems import ApplicationError, Conflict, InvalidInput, QuotaExceeded
from apps.tenants.models import Membership, Role, Tenant
from apps.tenants.selectors import tenant_limit

from .models import (
    WebhookAttempt,
    WebhookAttemptTrigger,
    WebhookEndpoint,
    WebhookMessage,
    WebhookMessageStatus,
)
from .schedule.models import WebhookDue
from .services import Actor

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix)
SECRET_BYTES = 32
TEST_EVENT_TYPE = "webhook.test"
MAX_EVENT_PATTERNS = 50


class WebhookEndpointNotFound(ApplicationError):
    status = 404
    slug = "not-found"


def _audit(action: str, *, actor: Actor, tenant, target=None, **metadata) -> None:
    audit_record(
        action=action,
        actor=actor.user,
        api_key=actor.api_key,
        tenant=tenant,
        target=target,
        metadata=metadata,
    )


# --- Secrets and envelopes ------------------------------------------------------------------


def secret_generate() -> str:
    """`whsec_` + base64 of 32 random bytes (the Standard Webhooks secret format)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_secrets(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """The secrets that sign a request now: the current one, and the previous one while its
    rotation overlap lasts."""
    out = [crypto.decrypt(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        out.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    return out


def msg_id_new() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(*, type: str, timestamp: dt.datetime, data: dict[str, Any]) -> str:
    """The body every endpoint receives, serialised once and stored: the same bytes on every
    attempt (the signature covers them)."""
    doc = {"type": type, "timestamp": _iso(timestamp), "data": data}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, default=str)


def endpoint_wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    patterns = endpoint.event_types or []
    return not patterns or any(event_type_matches(p, event_type) for p in patterns)


# --- Validation -----------------------------------------------------------------------------


def _validate_url(url: str) -> None:
    parts = http_url_parts(url)
    if parts is None:
        raise InvalidInput("An http(s):// URL with a host is required.", field="url")
    if parts.username or parts.password:
        raise InvalidInput(
            "Credentials do not belong in the URL: verify the signature instead.", field="url"
        )
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return
    if not ip_allowed(address):  # names are checked at send time, after resolution
        raise InvalidInput(
            f"{parts.hostname} is a private, loopback or link-local address.", field="url"
        )


def _validate_patterns(patterns: list[str]) -> list[str]:
    if len(patterns) > MAX_EVENT_PATTERNS:
        raise InvalidInput(f"At most {MAX_EVENT_PATTERNS} event types.", field="event_types")
    for pattern in patterns:
        if not event_pattern_valid(pattern):
            raise InvalidInput(
                f"{pattern!r} is not an event type, `<entity>.*` or `*` "
                "(GET /api/v1/webhook-event-types lists them).",
                field="event_types",
            )
    return sorted(set(patterns))


# --- Endpoints ------------------------------------------------------------------------------


@transaction.atomic
def webhook_endpoint_create(
    *,
    tenant,
    actor: Actor,
    url: str,
    description: str = "",
    event_types: list[str] | None = None,
    enabled: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (returned here only; stored encrypted)."""
    _validate_url(url)
    patterns = _validate_patterns(event_types or [])
    limit = tenant_limit(tenant, "webhook_endpoints")
    if limit is not None:  # two creates at once must not both see the last free place
        advisory_xact_lock(f"quota:{tenant.pk}:webhook_endpoints")
    if limit is not None and WebhookEndpoint.objects.count() >= limit:
        raise QuotaExceeded(f"This tenant may have {limit} webhook endpoints.")
    secret = secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        description=description,
        event_types=patterns,
        enabled=enabled,
        secret_encrypted=crypto.encrypt(secret),
        secret_last8=secret[-8:],
        created_by_id=actor.user_id,
    )
    _audit("webhook_endpoint.created", actor=actor, tenant=tenant, target=endpoint, url=url)
    return endpoint, secret


def _lock(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)


@transaction.atomic
def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, tenant, actor: Actor, **changes
) -> WebhookEndpoint:
    """Change url, description, event_types or enabled (disabling by hand keeps messages
    from being sent; enabling clears the failure streak)."""
    endpoint = _lock(endpoint)
    if "url" in changes:
        _validate_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = _validate_patterns(changes["event_types"] or [])
    enabled = changes.pop("enabled", None)
    fields = []
    for name, value in changes.items():
        if name in ("url", "description", "event_types") and getattr(endpoint, name) != value:
            setattr(endpoint, name, value)
            fields.append(name)
    if "url" in fields and endpoint.failing_since is not None:
        endpoint.failing_since = None  # a new receiver starts with a clean record
        fields.append("failing_since")
    if enabled is True and not endpoint.enabled:
        fields += _enable(endpoint)
    elif enabled is False and endpoint.enabled:
        fields += _disable(endpoint, "Disabled by a person.")
        _waiting_due_now(tenant, endpoint)
    if fields:
        endpoint.save(update_fields=[*fields, "updated_at"])
        _audit("webhook_endpoint.updated", actor=actor, tenant=tenant, target=endpoint,
               fields=sorted(fields))  # fmt: skip
    return endpoint


def _enable(endpoint: WebhookEndpoint) -> list[str]:
    endpoint.enabled = True
    endpoint.disabled_reason = ""
    endpoint.disabled_at = None
    endpoint.failing_since = None
    return ["enabled", "disabled_reason", "disabled_at", "failing_since"]


def _waiting_due_now(tenant, endpoint: WebhookEndpoint) -> None:
    """The endpoint's waiting messages (a retry hours away, say) become due now, so the
    deliverer marks them failed ("the endpoint is disabled") at once, not when their retry
    would have come (by when the endpoint may be enabled again). Rows a runner holds are left
    to it; it finds the endpoint disabled on its next claim."""
    WebhookDue.objects.filter(
        tenant_id=tenant.pk, endpoint_id=endpoint.pk, lease__isnull=True
    ).update(due_at=timezone.now())
    if getattr(settings, "WEBHOOKS_DELIVER_ON_COMMIT", True):
        transaction.on_commit(_kick)


def _disable(endpoint: WebhookEndpoint, reason: str) -> list[str]:
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:200]
    endpoint.disabled_at = timezone.now()
    return ["enabled", "disabled_reason", "disabled_at"]


@transaction.atomic
def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, tenant, actor: Actor) -> WebhookEndpoint:
    """Re-enable a disabled endpoint. Messages failed meanwhile stay failed: replay them with
    webhook_endpoint_replay."""
    endpoint = _lock(endpoint)
    if not endpoint.enabled:
        endpoint.save(update_fields=[*_enable(endpoint), "updated_at"])
        _audit("webhook_endpoint.enabled", actor=actor, tenant=tenant, target=endpoint)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, tenant, actor: Actor) -> None:
    # Messages locked before their due rows, in the order webhook_results_apply takes them, so
    # a delete and a runner writing results wait for each other instead of deadlocking.
    pending = list(
        WebhookMessage.objects.select_for_update()
        .filter(endpoint=endpoint, status=WebhookMessageStatus.PENDING)
        .order_by("id")
        .values_list("id", flat=True)
    )
    WebhookDue.objects.filter(tenant_id=tenant.pk, message_id__in=pending).delete()
    _audit("webhook_endpoint.deleted", actor=actor, tenant=tenant, target=endpoint,
           url=endpoint.url)  # fmt: skip
    endpoint.delete()


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, tenant, actor: Actor
) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned here only). The old one keeps signing, beside the new one, for
    WEBHOOKS_ROTATION_OVERLAP_S, so receivers can switch without losing a message. Rotating
    again during the overlap drops the oldest secret."""
    endpoint = _lock(endpoint)
    secret = secret_generate()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = timezone.now() + dt.timedelta(
        seconds=settings.WEBHOOKS_ROTATION_OVERLAP_S
    )
    endpoint.secret_encrypted = crypto.encrypt(secret)
    endpoint.secret_last8 = secret[-8:]
    endpoint.save(
        update_fields=[
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "secret_encrypted",
            "secret_last8",
            "updated_at",
        ]
    )
    _audit("webhook_endpoint.secret_rotated", actor=actor, tenant=tenant, target=endpoint,
           previous_valid_until=_iso(endpoint.previous_secret_expires_at))  # fmt: skip
    return endpoint, secret


# --- Events in: the outbox consumer ---------------------------------------------------------


def outbox_consume(events) -> None:
    """settings.OUTBOX_CONSUMERS entry: one message per event and matching enabled endpoint of
    the event's tenant, due now. Runs inside the outbox dispatch transaction, so messages exist
    exactly when the events are marked dispatched. Per batch: one read of endpoints and one
    insert of messages per tenant, one insert into the due index."""
    by_tenant: dict = defaultdict(list)
    for event in events:
        if event.tenant_id is not None:
            by_tenant[event.tenant_id].append(event)
    if not by_tenant:
        return
    # A deleted tenant is told of its own deletion (tenant.deleted); a purged one has no schema.
    tenants = Tenant.objects.filter(pk__in=list(by_tenant), purged_at__isnull=True)
    now = timezone.now()
    due: list[WebhookDue] = []
    for tenant in tenants.only("id", "schema_name"):
        with schema_context(tenant.schema_name):
            due += _messages_create(tenant, by_tenant[tenant.pk], now)
    if due:
        WebhookDue.objects.bulk_create(due, ignore_conflicts=True)
        if getattr(settings, "WEBHOOKS_DELIVER_ON_COMMIT", True):
            transaction.on_commit(_kick)


def _messages_create(tenant, events, now: dt.datetime) -> list[WebhookDue]:
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True).only("id", "event_types"))
    if not endpoints:
        return []
    rows = []
    for event in events:
        body = None
        for endpoint in endpoints:
            if not endpoint_wants(endpoint, event.type):
                continue
            body = body or envelope(type=event.type, timestamp=event.created_at, data=event.data)
            rows.append(
                WebhookMessage(
                    msg_id=msg_id_new(),
                    endpoint_id=endpoint.pk,
                    event_uid=event.uid,
                    event_type=event.type,
                    body=body,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    if not rows:
        return []
    # A message that exists already (the same event offered twice) keeps its id and state.
    rows = WebhookMessage.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["event_uid", "endpoint"],
        update_fields=["event_type"],
    )
    return [
        WebhookDue(tenant_id=tenant.pk, message_id=row.pk, endpoint_id=row.endpoint_id, due_at=now)
        for row in rows
    ]


def _kick() -> None:
    from .tasks import webhooks_deliver

    try:
        webhooks_deliver.delay()
    except Exception:  # the beat tick picks the messages up
        logger.warning("webhooks: could not enqueue delivery", exc_info=True)


# --- Delivery results -----------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptResult:
    """What one HTTP request of a message came to (webhook_delivery builds these)."""

    message_id: int
    due_id: int | None  # the claimed WebhookDue row; None for a test send
    attempted_at: dt.datetime
    ok: bool
    status_code: int | None
    duration_ms: int
    excerpt: str
    error: str
    trigger: str


def retry_delay(attempts: int) -> dt.timedelta | None:
    """After `attempts` failed attempts, how long until the next; None: no more."""
    schedule = settings.WEBHOOKS_RETRY_SCHEDULE_S
    if attempts > len(schedule):
        return None
    return dt.timedelta(seconds=schedule[attempts - 1])


@transaction.atomic
def webhook_results_apply(*, tenant, results: list[AttemptResult], lease) -> dict[str, int]:
    """Record a batch of attempts of one tenant, with a constant number of statements.

    Only results whose due row still carries this run's `lease` (locked here) move their
    message on; a result whose lease was taken over by another runner (this one stalled past
    WEBHOOKS_LEASE_S) is logged as an attempt but changes nothing, so no message is marked
    twice. Endpoints: a success ends the failure streak; HTTP 410, or failing without a
    success for WEBHOOKS_DISABLE_AFTER_S, disables the endpoint and tells the tenant."""
    now = timezone.now()
    messages = WebhookMessage.objects.select_for_update().in_bulk([r.message_id for r in results])
    due_ids = [r.due_id for r in results if r.due_id is not None]
    due = {
        row.pk: row
        for row in WebhookDue.objects.select_for_update().filter(
            pk__in=due_ids, tenant_id=tenant.pk, lease=lease
        )
    }
    attempts, changed, reschedule, finished = [], [], [], []
    health: dict = defaultdict(list)  # endpoint id -> [(when, ok, status_code)]
    for result in sorted(results, key=lambda r: r.attempted_at):
        message = messages.get(result.message_id)
        if message is None:  # deleted with its endpoint meanwhile
            continue
        attempts.append(
            WebhookAttempt(
                message_id=message.pk,
                attempted_at=result.attempted_at,
                ok=result.ok,
                status_code=result.status_code,
                duration_ms=result.duration_ms,
                response_excerpt=result.excerpt,
                error=result.error[:500],
                trigger=result.trigger,
            )
        )
        row = due.get(result.due_id) if result.due_id is not None else None
        if result.due_id is not None and row is None:
            continue  # not ours any more
        message.attempts_count += 1
        message.last_attempt_at = result.attempted_at
        message.last_error = "" if result.ok else result.error[:500]
        delay = None
        if result.ok:
            message.status = WebhookMessageStatus.SUCCEEDED
        elif result.trigger == WebhookAttemptTrigger.TEST or result.status_code == 410:
            message.status = WebhookMessageStatus.FAILED
        else:
            delay = retry_delay(message.attempts_count)
            message.status = WebhookMessageStatus.PENDING if delay else WebhookMessageStatus.FAILED
        # Counted from the attempt's end: after a 15 s timeout, "retry in 5 s" is 5 s later.
        ended = result.attempted_at + dt.timedelta(milliseconds=result.duration_ms or 0)
        message.next_attempt_at = ended + delay if delay else None
        changed.append(message)
        if row is not None:
            if delay:
                row.due_at, row.lease, row.trigger = message.next_attempt_at, None, "scheduled"
                reschedule.append(row)
            else:
                finished.append(row.pk)
        if result.trigger != WebhookAttemptTrigger.TEST:
            health[message.endpoint_id].append((result.attempted_at, result.ok,
                                                result.status_code))  # fmt: skip
    WebhookAttempt.objects.bulk_create(attempts)
    if changed:
        _messages_write(changed)
    if reschedule:
        _due_reschedule(reschedule)
    if finished:
        WebhookDue.objects.filter(pk__in=finished).delete()
    disabled = _health_apply(tenant, health, now) if health else 0
    return {"attempts": len(attempts), "applied": len(changed), "disabled": disabled}


def _messages_write(messages: list[WebhookMessage]) -> None:
    """One UPDATE … FROM unnest(arrays) for the batch (bulk_update's CASE per row and field
    cost more CPU than the requests themselves: measured)."""
    table = connection.ops.quote_name(WebhookMessage._meta.db_table)
    sql = f"""
        UPDATE {table} AS m SET status = v.status, attempts_count = v.attempts_count,
            last_attempt_at = v.last_attempt_at, last_error = v.last_error,
            next_attempt_at = v.next_attempt_at
        FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::timestamptz[], %s::text[],
                    %s::timestamptz[])
            AS v(id, status, attempts_count, last_attempt_at, last_error, next_attempt_at)
        WHERE m.id = v.id
    """
    columns = ("pk", "status", "attempts_count", "last_attempt_at", "last_error",
               "next_attempt_at")  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, [[getattr(m, c) for m in messages] for c in columns])


def _due_reschedule(rows: list[WebhookDue]) -> None:
    table = connection.ops.quote_name(WebhookDue._meta.db_table)
    sql = f"""
        UPDATE {table} AS d SET due_at = v.due_at, lease = NULL, trigger = 'scheduled'
        FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, due_at)
        WHERE d.id = v.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [[r.pk for r in rows], [r.due_at for r in rows]])


def _health_apply(tenant, health: dict, now: dt.datetime) -> int:
    endpoints = WebhookEndpoint.objects.select_for_update().in_bulk(list(health))
    limit = dt.timedelta(seconds=settings.WEBHOOKS_DISABLE_AFTER_S)
    disabled = 0
    for endpoint_id, outcomes in health.items():
        endpoint = endpoints.get(endpoint_id)
        if endpoint is None:
            continue
        before = (endpoint.failing_since, endpoint.last_success_at, endpoint.enabled)
        reason = ""
        for when, ok, status_code in outcomes:  # in time order
            if ok:
                endpoint.failing_since = None
                if endpoint.last_success_at is None or when > endpoint.last_success_at:
                    endpoint.last_success_at = when
                reason = ""  # a later success answers an earlier 410 of the same batch
                continue
            endpoint.failing_since = endpoint.failing_since or when
            if status_code == 410:
                reason = "The endpoint answered 410 Gone."
            elif when - endpoint.failing_since >= limit:
                days = settings.WEBHOOKS_DISABLE_AFTER_S / 86400
                reason = f"Every delivery failed for {days:g} days."
        fields = ["failing_since", "last_success_at"]
        if reason and endpoint.enabled:
            fields += _disable(endpoint, reason)
            _disabled_tell(tenant, endpoint, reason)
            _waiting_due_now(tenant, endpoint)
            disabled += 1
        if (endpoint.failing_since, endpoint.last_success_at, endpoint.enabled) != before:
            endpoint.save(update_fields=[*fields, "updated_at"])
    return disabled


def _disabled_tell(tenant, endpoint: WebhookEndpoint, reason: str) -> None:
    audit_record(
        action="webhook_endpoint.disabled",
        tenant=tenant,
        target=endpoint,
        severity="warning",
        metadata={"url": endpoint.url, "reason": reason},
    )
    recipients = Membership.objects.filter(
        tenant_id=tenant.pk, role__in=[Role.OWNER, Role.ADMIN]
    ).select_related("user")
    body = (
        f"{reason} Quayside stopped sending events to {endpoint.url}. Fix the receiver, then "
        "enable the endpoint again and replay what it missed."
    )
    for membership in recipients:
        inbox_send(user=membership.user, kind="webhook_endpoint.disabled",
                   title="A webhook endpoint was disabled", body=body, tenant=tenant,
                   data={"endpoint_id": str(endpoint.pk), "url": endpoint.url})  # fmt: skip


@transaction.atomic
def webhook_messages_cancel(*, tenant, due_ids: list[int], message_ids: list[int], reason: str):
    """Messages the deliverer claimed but must not send (their endpoint is disabled): failed,
    out of the due index."""
    WebhookMessage.objects.filter(pk__in=message_ids, status=WebhookMessageStatus.PENDING).update(
        status=WebhookMessageStatus.FAILED, next_attempt_at=None, last_error=reason[:500]
    )
    WebhookDue.objects.filter(pk__in=due_ids).delete()


# --- Test sends and replays -----------------------------------------------------------------


def webhook_endpoint_test(*, endpoint: WebhookEndpoint, tenant, actor: Actor) -> WebhookAttempt:
    """Send a `webhook.test` event now and return its attempt. Not retried, and it does not
    count for (or against) the endpoint's health. Works on a disabled endpoint too, to check
    it before enabling it. Three steps: the message (committed), the request (no transaction
    held), the attempt."""
    from .webhook_delivery import send_now

    now = timezone.now()
    with transaction.atomic():
        message = WebhookMessage.objects.create(
            msg_id=msg_id_new(),
            endpoint=endpoint,
            event_type=TEST_EVENT_TYPE,
            body=envelope(
                type=TEST_EVENT_TYPE,
                timestamp=now,
                data={"endpoint_id": str(endpoint.pk), "message": "A test event from Quayside."},
            ),
            created_at=now,
        )
    result = send_now(message=message, endpoint=endpoint, trigger=WebhookAttemptTrigger.TEST)
    with transaction.atomic():
        webhook_results_apply(tenant=tenant, results=[result], lease=None)
        _audit("webhook_endpoint.tested", actor=actor, tenant=tenant, target=endpoint,
               ok=result.ok, status_code=result.status_code)  # fmt: skip
    return message.attempts.order_by("-id").first()


def _due_now(tenant, endpoint, message_ids: list[int], now: dt.datetime) -> None:
    """Put messages in the due index for an attempt now (a replay). A message already waiting
    is moved to now; one being sent loses its lease, so that attempt is logged but the
    replay decides the message's state."""
    WebhookDue.objects.bulk_create(
        [WebhookDue(tenant_id=tenant.pk, message_id=pk, endpoint_id=endpoint.pk, due_at=now,
                    trigger="replay", lease=None)
         for pk in message_ids],
        update_conflicts=True,
        unique_fields=["tenant", "message_id"],
        update_fields=["due_at", "trigger", "lease"],
    )  # fmt: skip


def _replayable(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise ApplicationError("The endpoint is disabled: enable it before replaying.")


@transaction.atomic
def webhook_message_replay(
    *, message: WebhookMessage, endpoint: WebhookEndpoint, tenant, actor: Actor
) -> WebhookMessage:
    """Send one message again (same webhook-id), now. If it fails, its retries continue
    where its schedule stood (a message past its last retry gets this one attempt)."""
    _replayable(endpoint)
    if message.event_type == TEST_EVENT_TYPE:
        raise Conflict("A test message is not replayed: send a new test instead.")
    now = timezone.now()
    WebhookMessage.objects.filter(pk=message.pk).update(
        status=WebhookMessageStatus.PENDING, next_attempt_at=now
    )
    _due_now(tenant, endpoint, [message.pk], now)
    _audit("webhook_message.replayed", actor=actor, tenant=tenant, target=endpoint,
           msg_id=message.msg_id)  # fmt: skip
    transaction.on_commit(_kick)
    message.refresh_from_db()
    return message


@transaction.atomic
def webhook_endpoint_replay(
    *, endpoint: WebhookEndpoint, tenant, actor: Actor, since: dt.datetime, only_failed: bool
) -> int:
    """Send again every message of the endpoint created since `since` (or only the failed
    ones), each with its own webhook-id. Returns how many were queued (three statements)."""
    _replayable(endpoint)
    now = timezone.now()
    messages = WebhookMessage.objects.filter(endpoint=endpoint, created_at__gte=since).exclude(
        event_type=TEST_EVENT_TYPE
    )
    if only_failed:
        messages = messages.filter(status=WebhookMessageStatus.FAILED)
    ids = list(messages.values_list("id", flat=True))
    if ids:
        WebhookMessage.objects.filter(pk__in=ids).update(
            status=WebhookMessageStatus.PENDING, next_attempt_at=now
        )
        _due_now(tenant, endpoint, ids, now)
        transaction.on_commit(_kick)
    _audit("webhook_endpoint.replayed", actor=actor, tenant=tenant, target=endpoint,
           since=_iso(since), only_failed=only_failed, messages=len(ids))  # fmt: skip
    return len(ids)


def webhook_messages_purge(*, now: dt.datetime | None = None) -> int:
    """Finished messages (and their attempts) older than WEBHOOKS_RETENTION_DAYS."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.WEBHOOKS_RETENTION_DAYS)
    deleted, _ = (
        WebhookMessage.objects.filter(created_at__lt=cutoff)
        .exclude(status=WebhookMessageStatus.PENDING)
        .delete()
    )
    return deleted
