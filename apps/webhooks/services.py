"""Writes of outgoing webhooks (Standard Webhooks, docs/webhooks.md): endpoints, their secrets
and rotation, test sends, replays and retention. One use case per function, audited.

They run in the current tenant's schema (the public due index, apps.webhooks.due's WebhookDue,
is reachable there too); `tenant` is the Tenant it belongs to. Elsewhere in this app: the outbox
consumer that turns events into messages (consumer.py), the deliverer (delivery.py), what an
attempt does to its message and endpoint (results.py), the due index (scheduling.py), secrets
and envelopes (signing.py)."""

from __future__ import annotations

import datetime as dt
import ipaddress

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core import crypto
from apps.core.actor import Actor
from apps.core.audit import audit_as
from apps.core.events import event_pattern_valid
from apps.core.locks import advisory_xact_lock
from apps.core.model_update import model_update
from apps.core.net import http_url_parts, ip_allowed
from apps.core.problems import ApplicationError, Conflict, InvalidInput, QuotaExceeded
from apps.core.versioning import version_bump, version_lock
from apps.tenants.selectors import tenant_limit

from .due.models import WebhookDue
from .models import (
    WebhookAttempt,
    WebhookAttemptTrigger,
    WebhookEndpoint,
    WebhookMessage,
    WebhookMessageStatus,
)
from .results import endpoint_disable_fields, endpoint_enable_fields, webhook_results_apply
from .scheduling import endpoint_waiting_due_now, kick, messages_due_now
from .signing import envelope, iso, msg_id_new, secret_generate

TEST_EVENT_TYPE = "webhook.test"
MAX_EVENT_PATTERNS = 50


class WebhookEndpointNotFound(ApplicationError):
    status = 404
    slug = "not-found"


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
    audit_as(actor, "webhook_endpoint.created", tenant=tenant, target=endpoint, url=url)
    return endpoint, secret


def _lock(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)


@transaction.atomic
def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    tenant,
    actor: Actor,
    expected_version: int | None = None,
    **changes,
) -> WebhookEndpoint:
    """Change url, description, event_types or enabled (disabling by hand keeps messages
    from being sent; enabling clears the failure streak). `expected_version`: the version the
    caller read (stale: 409 version-conflict)."""
    endpoint = _lock(endpoint)
    version_lock(endpoint, expected=expected_version)
    if "url" in changes:
        _validate_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = _validate_patterns(changes["event_types"] or [])
    enabled = changes.pop("enabled", None)
    fields = model_update(endpoint, ("url", "description", "event_types"), changes)
    if "url" in fields and endpoint.failing_since is not None:
        endpoint.failing_since = None  # a new receiver starts with a clean record
        fields.append("failing_since")
    if enabled is True and not endpoint.enabled:
        fields += endpoint_enable_fields(endpoint)
    elif enabled is False and endpoint.enabled:
        fields += endpoint_disable_fields(endpoint, "Disabled by a person.")
        endpoint_waiting_due_now(tenant, endpoint)
    if fields:
        endpoint.save(update_fields=[*fields, "updated_at"])
        version_bump(endpoint)
        audit_as(actor, "webhook_endpoint.updated", tenant=tenant, target=endpoint,
                 fields=sorted(fields))  # fmt: skip
    return endpoint


@transaction.atomic
def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, tenant, actor: Actor) -> WebhookEndpoint:
    """Re-enable a disabled endpoint. Messages failed meanwhile stay failed: replay them with
    webhook_endpoint_replay."""
    endpoint = _lock(endpoint)
    if not endpoint.enabled:
        endpoint.save(update_fields=[*endpoint_enable_fields(endpoint), "updated_at"])
        audit_as(actor, "webhook_endpoint.enabled", tenant=tenant, target=endpoint)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(
    *, endpoint: WebhookEndpoint, tenant, actor: Actor, expected_version: int | None = None
) -> None:
    # Messages locked before their due rows, in the order webhook_results_apply takes them, so
    # a delete and a runner writing results wait for each other instead of deadlocking.
    pending = list(
        WebhookMessage.objects.select_for_update()
        .filter(endpoint=endpoint, status=WebhookMessageStatus.PENDING)
        .order_by("id")
        .values_list("id", flat=True)
    )
    version_lock(endpoint, expected=expected_version)  # after the messages, as above
    WebhookDue.objects.filter(tenant_id=tenant.pk, message_id__in=pending).delete()
    audit_as(actor, "webhook_endpoint.deleted", tenant=tenant, target=endpoint,
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
    audit_as(actor, "webhook_endpoint.secret_rotated", tenant=tenant, target=endpoint,
             previous_valid_until=iso(endpoint.previous_secret_expires_at))  # fmt: skip
    return endpoint, secret


# --- Test sends and replays -----------------------------------------------------------------


def webhook_endpoint_test(*, endpoint: WebhookEndpoint, tenant, actor: Actor) -> WebhookAttempt:
    """Send a `webhook.test` event now and return its attempt. Not retried, and it does not
    count for (or against) the endpoint's health. Works on a disabled endpoint too, to check
    it before enabling it. Three steps: the message (committed), the request (no transaction
    held), the attempt."""
    from .delivery import send_now

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
        audit_as(actor, "webhook_endpoint.tested", tenant=tenant, target=endpoint,
                 ok=result.ok, status_code=result.status_code)  # fmt: skip
    return message.attempts.order_by("-id").first()


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
    messages_due_now(tenant, endpoint, [message.pk], now)
    audit_as(actor, "webhook_message.replayed", tenant=tenant, target=endpoint,
             msg_id=message.msg_id)  # fmt: skip
    transaction.on_commit(kick)
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
        messages_due_now(tenant, endpoint, ids, now)
        transaction.on_commit(kick)
    audit_as(actor, "webhook_endpoint.replayed", tenant=tenant, target=endpoint,
             since=iso(since), only_failed=only_failed, messages=len(ids))  # fmt: skip
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
