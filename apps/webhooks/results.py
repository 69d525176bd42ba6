"""Delivery results: what an attempt does to its message (retries, failed), to the due index,
and to its endpoint (failure streak, disabling after HTTP 410 or WEBHOOKS_DISABLE_AFTER_S of
failures, with an audit event and an inbox message). The deliverer (delivery.py) and test sends
(services.webhook_endpoint_test) write through here."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.inbox import inbox_send
from apps.tenants.models import Membership, Role

from .due.models import WebhookDue
from .models import (
    WebhookAttempt,
    WebhookAttemptTrigger,
    WebhookEndpoint,
    WebhookMessage,
    WebhookMessageStatus,
)
from .scheduling import endpoint_waiting_due_now


def endpoint_enable_fields(endpoint: WebhookEndpoint) -> list[str]:
    endpoint.enabled = True
    endpoint.disabled_reason = ""
    endpoint.disabled_at = None
    endpoint.failing_since = None
    return ["enabled", "disabled_reason", "disabled_at", "failing_since"]


def endpoint_disable_fields(endpoint: WebhookEndpoint, reason: str) -> list[str]:
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:200]
    endpoint.disabled_at = timezone.now()
    return ["enabled", "disabled_reason", "disabled_at"]


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
            fields += endpoint_disable_fields(endpoint, reason)
            _disabled_tell(tenant, endpoint, reason)
            endpoint_waiting_due_now(tenant, endpoint)
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
