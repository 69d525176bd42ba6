"""Delivery against a real local receiver: Standard Webhooks signatures, retries with a stable
webhook-id, disabling (410, 5 days of failure), the SSRF guard, event type filters, and leases
(a crashed or stalled runner neither loses nor double-marks a message)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from apps.core.actor import SYSTEM
from apps.core.models import AuditEvent, InboxMessage
from apps.webhooks import delivery as webhook_delivery
from apps.webhooks import results as webhook_results
from apps.webhooks import services as webhook_services
from apps.webhooks.due.models import WebhookDue
from apps.webhooks.models import WebhookAttempt, WebhookEndpoint
from tests.webhooks.webhook_support import (
    deliver,
    emit,
    endpoint_create,
    in_tenant,
    make_due,
    messages,
)


def test_signed_delivery_verifies_with_standardwebhooks(receiver, world):
    tenant = world["tenant_a"]
    _, secret = endpoint_create(tenant, receiver.url())
    assert secret.startswith("whsec_") and len(secret) >= 6 + 32
    emit(tenant, "monitor.down", monitor_id="m1", name="Website")
    assert deliver()["ok"] == 1
    [(_, headers, body)] = receiver.got()
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "monitor.down"
    assert payload["data"] == {"monitor_id": "m1", "name": "Website"}
    assert payload["timestamp"].endswith("Z")
    assert headers["webhook-id"].startswith("msg_")
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "Quayside-Webhooks/1"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(body, headers)
    assert _verify_by_hand(secret, headers, body)  # the docs/webhooks.md recipe
    assert not _verify_by_hand("whsec_" + "A" * 44, headers, body)
    [message] = messages(tenant)
    assert message.status == "succeeded" and message.msg_id == headers["webhook-id"]
    assert not WebhookDue.objects.exists()


def _verify_by_hand(secret: str, headers: dict, body: bytes) -> bool:
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, sig.split(",", 1)[1])
        for sig in headers["webhook-signature"].split(" ")
        if sig.startswith("v1,")
    )


def test_fail_then_succeed_gives_one_success_with_the_same_id(receiver, world):
    tenant = world["tenant_a"]
    endpoint_create(tenant, receiver.url("/flaky"))
    receiver.plan("/flaky", 500, 503, 200)
    emit(tenant)
    deliver()
    [message] = messages(tenant)
    assert message.status == "pending" and message.attempts_count == 1
    # The first retry waits 5 s; the second 5 min: move them to now instead of waiting.
    due = WebhookDue.objects.get()
    assert 3 <= (due.due_at - timezone.now()).total_seconds() <= 6
    assert deliver()["claimed"] == 0  # not due yet
    make_due()
    deliver()
    due = WebhookDue.objects.get()
    assert 290 <= (due.due_at - timezone.now()).total_seconds() <= 301
    make_due()
    deliver()
    assert deliver()["claimed"] == 0
    got = receiver.got("/flaky")
    assert len(got) == 3
    assert len({headers["webhook-id"] for _, headers, _ in got}) == 1
    assert len({body for _, _, body in got}) == 1
    [message] = messages(tenant)
    assert message.status == "succeeded" and message.attempts_count == 3
    with in_tenant(tenant):
        attempts = list(message.attempts.order_by("attempted_at"))
        assert [a.status_code for a in attempts] == [500, 503, 200]
        assert [a.ok for a in attempts] == [False, False, True]
        assert attempts[0].error == "HTTP 500"
        assert len(attempts[0].response_excerpt) == 1024
        assert attempts[0].response_excerpt.startswith("answer 500")
        assert WebhookEndpoint.objects.get().failing_since is None


def test_retries_run_out_then_failed(receiver, world, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE_S = [5, 300]
    tenant = world["tenant_a"]
    endpoint_create(tenant, receiver.url("/down"))
    receiver.plan("/down", 502)
    emit(tenant)
    for _ in range(3):
        make_due()
        deliver()
    [message] = messages(tenant)
    assert message.status == "failed" and message.attempts_count == 3
    assert message.next_attempt_at is None
    assert not WebhookDue.objects.exists()


def test_410_disables_the_endpoint_at_once_and_tells_the_tenant(receiver, world):
    tenant = world["tenant_a"]
    endpoint, _ = endpoint_create(tenant, receiver.url("/gone"))
    receiver.plan("/gone", 410)
    emit(tenant)
    emit(tenant, "monitor.up")
    deliver()
    with in_tenant(tenant):
        endpoint.refresh_from_db()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert {m.status for m in messages(tenant)} == {"failed"}
    assert not WebhookDue.objects.exists()
    audit = AuditEvent.objects.get(action="webhook_endpoint.disabled")
    assert audit.target_id == str(endpoint.pk)
    inbox = InboxMessage.objects.get(kind="webhook_endpoint.disabled")
    assert inbox.user == world["alice"] and receiver.url("/gone") in inbox.body
    # Disabled: new events make no messages.
    emit(tenant)
    assert len(messages(tenant)) == 2


def test_five_days_of_failure_disable(receiver, world):
    tenant = world["tenant_a"]
    endpoint, _ = endpoint_create(tenant, receiver.url("/broken"))
    receiver.plan("/broken", 500)
    emit(tenant)
    deliver()
    with in_tenant(tenant):
        endpoint.refresh_from_db()
        assert endpoint.enabled and endpoint.failing_since is not None
        # Four days of failures go by: still enabled.
        WebhookEndpoint.objects.update(failing_since=timezone.now() - dt.timedelta(days=4))
    make_due()
    deliver()
    with in_tenant(tenant):
        endpoint.refresh_from_db()
        assert endpoint.enabled
        WebhookEndpoint.objects.update(failing_since=timezone.now() - dt.timedelta(days=5, hours=1))
    make_due()
    deliver()
    with in_tenant(tenant):
        endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "Every delivery failed for 5 days."
    assert InboxMessage.objects.filter(kind="webhook_endpoint.disabled", user=world["alice"])
    assert AuditEvent.objects.filter(action="webhook_endpoint.disabled").count() == 1


def test_private_address_refused_without_a_connection(receiver, world, settings):
    tenant = world["tenant_a"]
    endpoint_create(tenant, receiver.url("/private"))
    endpoint_create(tenant, receiver.url("/private").replace("127.0.0.1", "localhost"))
    settings.OUTBOUND_ALLOWED_NETWORKS = []  # the default: loopback is private
    emit(tenant)
    deliver()
    assert receiver.got() == []
    with in_tenant(tenant):
        attempts = list(WebhookAttempt.objects.all())
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt.status_code is None and not attempt.ok
        assert "private, loopback or link-local" in attempt.error


def test_event_type_filter(receiver, world):
    tenant = world["tenant_a"]
    endpoint_create(tenant, receiver.url("/monitors"), event_types=["monitor.*"])
    endpoint_create(tenant, receiver.url("/downs"), event_types=["monitor.down"])
    endpoint_create(tenant, receiver.url("/all"))
    endpoint_create(tenant, receiver.url("/off"), enabled=False)
    emit(tenant, "monitor.down")
    emit(tenant, "monitor.up")
    emit(tenant, "deployment.succeeded")
    emit(world["tenant_b"], "monitor.down")  # another tenant's event
    deliver()

    def types(path):
        return sorted(json.loads(body)["type"] for _, _, body in receiver.got(path))

    assert types("/monitors") == ["monitor.down", "monitor.up"]
    assert types("/downs") == ["monitor.down"]
    assert types("/all") == ["deployment.succeeded", "monitor.down", "monitor.up"]
    assert types("/off") == []


def test_a_stalled_runner_cannot_mark_what_another_took_over(receiver, world):
    """Runner A claims and sends, then stalls past its lease; runner B takes the message over.
    A's late result is logged as an attempt but does not move the message; B's does."""
    tenant = world["tenant_a"]
    endpoint_create(tenant, receiver.url("/lease"))
    emit(tenant)
    lease_a = uuid.uuid4()
    [claimed] = webhook_delivery.claim(limit=10, lease=lease_a)
    assert webhook_delivery.claim(limit=10, lease=uuid.uuid4()) == []  # leased: not due
    with in_tenant(tenant):
        message = messages(tenant)[0]
        endpoint = WebhookEndpoint.objects.get()
        request = webhook_delivery.request_for(message, endpoint, due_id=claimed.due_id,
                                               trigger="scheduled")  # fmt: skip
    import asyncio

    async def send():
        async with webhook_delivery._client(1) as client:
            return await webhook_delivery.send(client, request)

    result_a = asyncio.run(send())
    assert result_a.ok
    make_due()  # A's lease ran out: B claims and delivers
    deliver()
    with in_tenant(tenant):
        from apps.webhooks.results import webhook_results_apply

        out = webhook_results_apply(tenant=tenant, results=[result_a], lease=lease_a)
    assert out == {"attempts": 1, "applied": 0, "disabled": 0}
    [message] = messages(tenant)
    assert message.status == "succeeded" and message.attempts_count == 1
    assert len(receiver.got("/lease")) == 2
    assert len({h["webhook-id"] for _, h, _ in receiver.got("/lease")}) == 1


def test_a_crashed_runner_loses_nothing(receiver, world, settings):
    """Claimed, then the runner died before writing: the message is due again after the lease
    and delivered (with the same webhook-id)."""
    tenant = world["tenant_a"]
    endpoint_create(tenant, receiver.url("/crash"))
    emit(tenant)
    webhook_delivery.claim(limit=10, lease=uuid.uuid4())  # ... and nothing more
    assert deliver()["claimed"] == 0
    due = WebhookDue.objects.get()
    assert (due.due_at - timezone.now()).total_seconds() > settings.WEBHOOKS_LEASE_S - 5
    make_due()
    assert deliver()["ok"] == 1
    assert messages(tenant)[0].status == "succeeded"


def test_a_deleted_endpoint_drops_its_waiting_messages(receiver, world):
    tenant = world["tenant_a"]
    endpoint_create(tenant, receiver.url("/bye"))
    receiver.plan("/bye", 500)
    emit(tenant)
    deliver()
    assert WebhookDue.objects.count() == 1
    with in_tenant(tenant):
        WebhookEndpoint.objects.all().delete()  # bypassing the service: the runner copes
    make_due()
    deliver()
    assert not WebhookDue.objects.exists()


def test_a_replay_of_a_message_in_flight_is_not_swallowed(receiver, world):
    """The replay takes the row's lease away: the in-flight attempt is logged, the replay's
    attempt decides the message."""
    tenant = world["tenant_a"]
    endpoint, _ = endpoint_create(tenant, receiver.url("/inflight"))
    emit(tenant)
    lease = uuid.uuid4()
    [claimed] = webhook_delivery.claim(limit=10, lease=lease)
    [message] = messages(tenant)
    with in_tenant(tenant):
        webhook_services.webhook_message_replay(
            message=message, endpoint=endpoint, tenant=tenant, actor=SYSTEM
        )
        stale = webhook_results.AttemptResult(
            message_id=message.pk, due_id=claimed.due_id, attempted_at=timezone.now(),
            ok=True, status_code=200, duration_ms=3, excerpt="", error="", trigger="scheduled",
        )  # fmt: skip
        out = webhook_results.webhook_results_apply(tenant=tenant, results=[stale], lease=lease)
    assert out["applied"] == 0
    assert deliver()["ok"] == 1
    [message] = messages(tenant)
    assert message.status == "succeeded" and message.attempts_count == 1
    with in_tenant(tenant):
        triggers = sorted(message.attempts.values_list("trigger", flat=True))
    assert triggers == ["replay", "scheduled"]


def test_the_celery_task_delivers_in_a_runner_slot(receiver, world, settings):
    from apps.webhooks import tasks

    settings.WEBHOOKS_IDLE_EXIT_S = 0
    tenant = world["tenant_a"]
    endpoint_create(tenant, receiver.url("/task"))
    emit(tenant)
    assert tasks.webhooks_deliver(budget_s=10)["ok"] == 1
    assert len(receiver.got("/task")) == 1
    from django.core.cache import cache

    cache.set(tasks.WEBHOOK_SLOT_KEY.format(0), "someone", timeout=30)
    try:
        assert tasks.webhooks_deliver(budget_s=10) == {"busy": 1}
    finally:
        cache.delete(tasks.WEBHOOK_SLOT_KEY.format(0))


def test_claims_take_a_few_per_endpoint_less_what_is_in_flight(receiver, world):
    """One slow receiver cannot fill a runner: a claim takes at most `per_endpoint` messages
    of any endpoint, less those the runner is sending to it already."""
    tenant = world["tenant_a"]
    slow, _ = endpoint_create(tenant, receiver.url("/slow"))
    fast, _ = endpoint_create(tenant, receiver.url("/fast"))
    for _ in range(5):
        emit(tenant)
    first = webhook_delivery.claim(limit=100, lease=uuid.uuid4(), per_endpoint=2)
    assert sorted(str(c.endpoint_id) for c in first) == sorted([str(slow.pk)] * 2 +
                                                               [str(fast.pk)] * 2)  # fmt: skip
    second = webhook_delivery.claim(limit=100, lease=uuid.uuid4(), per_endpoint=4,
                                    in_flight={slow.pk: 4, fast.pk: 2})  # fmt: skip
    assert len(second) == 2 and {c.endpoint_id for c in second} == {fast.pk}
    third = webhook_delivery.claim(limit=100, lease=uuid.uuid4(), per_endpoint=4,
                                   in_flight={slow.pk: 3})  # fmt: skip
    assert sorted(str(c.endpoint_id) for c in third) == sorted([str(slow.pk), str(fast.pk)])
    make_due()
    deliver()
    assert len(receiver.got("/slow")) == 5 and len(receiver.got("/fast")) == 5


def test_a_request_that_waited_past_its_lease_is_not_sent_and_none_is_sent_twice(
    receiver, world, settings
):
    """Three endpoints of one receiver share its gate (one connection): the last requests
    would start after their lease ran out (another runner may have the rows by then), so they
    are not sent; their rows fall due again and every message arrives exactly once."""
    settings.WEBHOOKS_LEASE_S = 3
    settings.WEBHOOKS_TIMEOUT_S = 1
    settings.WEBHOOKS_CONNECTIONS_PER_ORIGIN = 1
    settings.WEBHOOKS_CLAIM_PER_ENDPOINT = 2
    tenant = world["tenant_a"]
    for name in ("a", "b", "c"):
        receiver.slow(f"/slow-{name}", 0.35)
        endpoint_create(tenant, receiver.url(f"/slow-{name}"))
    for n in range(4):
        emit(tenant, n=n)
    out = webhook_delivery.run_due(budget_s=30, idle_exit_s=4)
    ids = [headers["webhook-id"] for path, headers, _ in receiver.got() if "/slow-" in path]
    assert len(ids) == 12 and len(set(ids)) == 12, out
    assert out["expired"] >= 1
    assert {m.status for m in messages(tenant)} == {"succeeded"}


def test_the_first_retry_comes_5_s_after_a_timed_out_attempt_ends(receiver, world, settings):
    settings.WEBHOOKS_TIMEOUT_S = 2
    tenant = world["tenant_a"]
    endpoint_create(tenant, receiver.url("/sleepy"))
    receiver.slow("/sleepy", 3)
    emit(tenant)
    deliver()
    [message] = messages(tenant)
    assert message.attempts_count == 1 and "No answer within 2 s" in message.last_error
    due = WebhookDue.objects.get()
    assert 4 <= (due.due_at - timezone.now()).total_seconds() <= 6  # not 3: from the start


def test_disabling_fails_waiting_messages_at_once_not_when_their_retry_comes(receiver, world):
    tenant = world["tenant_a"]
    endpoint, _ = endpoint_create(tenant, receiver.url("/later"))
    receiver.plan("/later", 500, 200)
    emit(tenant)
    deliver()  # 500: the retry is 5 s away
    with in_tenant(tenant):
        webhook_services.webhook_endpoint_update(
            endpoint=endpoint, tenant=tenant, actor=SYSTEM, enabled=False
        )
    assert deliver()["canceled"] == 1  # due at once, failed by the deliverer
    [message] = messages(tenant)
    assert message.status == "failed" and "disabled" in message.last_error
    with in_tenant(tenant):
        webhook_services.webhook_endpoint_enable(endpoint=endpoint, tenant=tenant, actor=SYSTEM)
    make_due()
    deliver()
    assert len(receiver.got("/later")) == 1  # nothing sent after enabling: replay is the way


def test_a_410_followed_by_a_success_in_the_same_batch_keeps_the_endpoint(world, receiver):
    tenant = world["tenant_a"]
    endpoint, _ = endpoint_create(tenant, receiver.url("/moved"))
    t1 = timezone.now()
    t2 = t1 + dt.timedelta(seconds=1)
    with in_tenant(tenant):
        outcomes = {endpoint.pk: [(t1, False, 410), (t2, True, 200)]}
        assert webhook_results._health_apply(tenant, outcomes, t2) == 0
        webhook_results._health_apply(tenant, {endpoint.pk: [(t1, True, 200)]}, t2)  # older
        endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint.enabled and endpoint.last_success_at == t2
