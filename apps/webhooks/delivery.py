"""The outgoing webhook deliverer, on the drive loop the check scheduler uses too
(apps/core/async_runner.py) with a claim, wait and exit policy of its own (_Deliveries).

1. claim(): ONE statement takes due rows of the public index WebhookDue across all tenants
   (`due_at <= now`, oldest first, `FOR UPDATE SKIP LOCKED`; at most WEBHOOKS_CLAIM_PER_ENDPOINT
   per endpoint, none of an endpoint already that busy), stamps them with this run's
   `lease` and moves `due_at` WEBHOOKS_LEASE_S on. A runner that dies mid-batch loses nothing:
   its rows are due again when the lease runs out (the receiver may then see a message twice,
   with the same webhook-id, which is what the id is for). A runner that outlives its lease
   cannot mark anything: results are written only where the row still carries its lease. So
   that a live runner never sends a message its lease no longer covers, a request that has
   waited at its origin's gate until too late to finish within the lease is not sent (the row
   falls due again), and an endpoint never has more than WEBHOOKS_CLAIM_PER_ENDPOINT in flight.
2. run_due(): the calling thread owns the database. It claims while fewer than `concurrency`
   requests are in flight, reads each tenant's messages with their endpoints (one query per
   tenant per claim), signs them (standardwebhooks) and hands the requests to an asyncio loop
   in a helper thread, which sends them concurrently: one httpx.AsyncClient per receiving
   origin (a few keep-alive connections; SSRF-guarded transport, apps.core.net). Every
   FLUSH_S the results are written, one transaction per tenant
   (results.webhook_results_apply: a constant number of statements).

Celery (tasks.py; the task names keep their `monitoring.` prefix): `monitoring.webhooks_tick`
(beat) starts a runner when something is due; the outbox consumer kicks one on commit, so a
new message leaves within about a second. A runner slot
in Redis keeps at most WEBHOOKS_RUNNERS running; a runner exits after WEBHOOKS_IDLE_EXIT_S with
nothing to do, or at its budget."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from standardwebhooks import Webhook

from apps.core.async_runner import AsyncRunner, Pipeline
from apps.core.metrics import metric_inc
from apps.core.net import BlockedTarget, guarded_async_client
from apps.tenants.models import Tenant

from . import results, signing
from .due.models import WebhookDue
from .models import WebhookEndpoint, WebhookMessage

logger = logging.getLogger(__name__)

FLUSH_S = 0.5
IDLE_SLEEP_S = 0.2
CLAIM_BACKOFF_S = 0.1
USER_AGENT = "Quayside-Webhooks/1"


@dataclass(frozen=True)
class Claimed:
    due_id: int
    message_id: int
    trigger: str
    tenant_id: object
    schema_name: str
    tenant_purged: bool  # its schema is gone: nothing left to send
    endpoint_id: object


def claim(
    *,
    limit: int,
    lease: uuid.UUID,
    now: dt.datetime | None = None,
    per_endpoint: int | None = None,
    in_flight: dict | None = None,
) -> list[Claimed]:
    """Claim up to `limit` due messages (see the module docstring), at most `per_endpoint` of
    any one endpoint, less what `in_flight` ({endpoint id: n}) says the runner is sending to
    it already. One statement."""
    now = now or timezone.now()
    per_endpoint = per_endpoint or settings.WEBHOOKS_CLAIM_PER_ENDPOINT
    room = {e: per_endpoint - n for e, n in (in_flight or {}).items()}
    table = connection.ops.quote_name(WebhookDue._meta.db_table)
    tenants = connection.ops.quote_name(Tenant._meta.db_table)
    sql = f"""
        WITH due AS (
            SELECT id, endpoint_id, due_at FROM {table}
            WHERE due_at <= %(now)s AND endpoint_id <> ALL(%(busy)s::uuid[])
            ORDER BY due_at
            LIMIT %(scan)s
            FOR UPDATE SKIP LOCKED
        ), ranked AS (
            SELECT id, endpoint_id,
                   row_number() OVER (PARTITION BY endpoint_id ORDER BY due_at, id) AS n
            FROM due
        ), room AS (
            SELECT * FROM unnest(%(room_ids)s::uuid[], %(room_n)s::int[]) AS r(endpoint_id, n)
        ), chosen AS (
            SELECT ranked.id FROM ranked LEFT JOIN room USING (endpoint_id)
            WHERE ranked.n <= COALESCE(room.n, %(per_endpoint)s)
            ORDER BY ranked.id LIMIT %(limit)s
        )
        UPDATE {table} AS d
        SET due_at = %(now)s + make_interval(secs => %(lease_s)s), lease = %(lease)s
        FROM chosen, {tenants} AS t
        WHERE d.id = chosen.id AND t.id = d.tenant_id
        RETURNING d.id, d.message_id, d.trigger, t.id, t.schema_name, t.purged_at IS NOT NULL,
                  d.endpoint_id
    """
    params = {
        "now": now,
        "limit": limit,
        "scan": limit * 4,
        "per_endpoint": per_endpoint,
        "busy": [e for e, n in room.items() if n <= 0],
        "room_ids": list(room),
        "room_n": list(room.values()),
        "lease": lease,
        "lease_s": settings.WEBHOOKS_LEASE_S,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Claimed(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class Request:
    """One message, ready to be signed and sent."""

    key: tuple
    message_id: int
    due_id: int | None
    trigger: str
    url: str
    msg_id: str
    body: str
    signers: tuple
    send_by: float | None = None  # time.monotonic() after which it may not start (its lease)

    def headers(self) -> dict[str, str]:
        """Signed at send time (a request may wait at its origin's gate first): `webhook-id`
        is the message's (the same on every attempt), `webhook-timestamp` is now (receivers
        reject old ones), and the signature carries one `v1,…` per signing secret (two
        during a rotation)."""
        now = timezone.now()
        signature = " ".join(w.sign(self.msg_id, now, self.body) for w in self.signers)
        return {
            "webhook-id": self.msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }


def request_for(
    message: WebhookMessage,
    endpoint: WebhookEndpoint,
    *,
    due_id,
    trigger,
    signers=None,
    send_by: float | None = None,
) -> Request:
    if signers is None:
        signers = [Webhook(s) for s in signing.signing_secrets(endpoint, timezone.now())]
    return Request(
        key=(message.pk, due_id),
        message_id=message.pk,
        due_id=due_id,
        trigger=trigger,
        url=endpoint.url,
        msg_id=message.msg_id,
        body=message.body,
        signers=tuple(signers),
        send_by=send_by,
    )


async def send(client: httpx.AsyncClient, request: Request) -> results.AttemptResult:
    """POST the request; only a 2xx answer counts. Never raises."""
    timeout = settings.WEBHOOKS_TIMEOUT_S
    limit = settings.WEBHOOKS_RESPONSE_EXCERPT_BYTES
    attempted_at = timezone.now()
    started = time.perf_counter()
    status_code, excerpt, error = None, "", ""
    try:
        async with asyncio.timeout(timeout):
            async with client.stream(
                "POST", request.url, content=request.body.encode(), headers=request.headers(),
                timeout=timeout,
            ) as response:  # fmt: skip
                status_code = response.status_code
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) >= limit:
                        break
                excerpt = bytes(data[:limit]).decode("utf-8", "replace").replace("\x00", "")
    except BlockedTarget as exc:
        error = f"Refused: {exc} (outbound connections to private networks are not allowed)."
    except (TimeoutError, httpx.TimeoutException):
        error = f"No answer within {timeout:g} s."
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    except Exception as exc:  # a bug must not lose the result
        logger.exception("webhooks: sending message %s failed", request.message_id)
        error = f"{type(exc).__name__}: {exc}"
    ok = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not ok and not error:
        error = f"HTTP {status_code}"
    return results.AttemptResult(
        message_id=request.message_id,
        due_id=request.due_id,
        attempted_at=attempted_at,
        ok=ok,
        status_code=status_code,
        duration_ms=int((time.perf_counter() - started) * 1000),
        excerpt=excerpt if status_code is not None else "",
        error=error[:500],
        trigger=request.trigger,
    )


def _client(concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return guarded_async_client(limits=limits, follow_redirects=False)


def send_now(
    *, message: WebhookMessage, endpoint: WebhookEndpoint, trigger: str
) -> results.AttemptResult:
    """One attempt, synchronously (test sends from the API)."""
    request = request_for(message, endpoint, due_id=None, trigger=trigger)

    async def go():
        async with _client(1) as client:
            return await send(client, request)

    return asyncio.run(go())


class _Origins:
    """One client (a small keep-alive pool) per receiving origin, with a gate as wide as its
    pool: httpcore's pool costs O(connections + queued requests) per request (measured here:
    1.4 ms CPU per request with 4 connections, 3 ms with 16, 3.5 ms with 20; the check
    scheduler found the same), so requests wait at the gate, not in the pool, and a receiver
    never gets more than WEBHOOKS_CONNECTIONS_PER_ORIGIN connections from one runner. Used on
    the runner's loop only."""

    def __init__(self, per_origin: int) -> None:
        self.per_origin = per_origin
        self.clients: dict[tuple, tuple[httpx.AsyncClient, asyncio.Semaphore]] = {}

    def _client_for(self, url: str) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname, parts.port)
        entry = self.clients.get(key)
        if entry is None:
            entry = (_client(self.per_origin), asyncio.Semaphore(self.per_origin))
            self.clients[key] = entry
        return entry

    async def deliver(self, request: Request) -> results.AttemptResult | None:
        """A job of the runner: None when it waited at the gate until too late to finish
        within the lease (left to fall due again)."""
        client, gate = self._client_for(request.url)
        async with gate:
            if request.send_by is not None and time.monotonic() > request.send_by:
                return None
            return await send(client, request)

    async def aclose(self) -> None:
        for client, _ in self.clients.values():
            await client.aclose()


def run_due(
    *,
    budget_s: float | None = None,
    idle_exit_s: float | None = 0.0,
    concurrency: int | None = None,
    batch: int | None = None,
) -> dict[str, int]:
    """Claim, send and record due messages until the budget is spent or nothing has been due
    for `idle_exit_s` (0: exit as soon as nothing is due or in flight; None: only at the
    budget). Returns counters."""
    return _Deliveries(
        budget_s=budget_s, idle_exit_s=idle_exit_s, concurrency=concurrency, batch=batch
    ).run()


class _Deliveries(Pipeline):
    """run_due's policy on the shared drive loop (apps/core/async_runner.py). In flight:
    {(message id, due id): (tenant id, endpoint id)}; buffer: [(tenant id, AttemptResult)]."""

    flush_s = FLUSH_S

    def __init__(self, *, budget_s, idle_exit_s: float | None, concurrency, batch) -> None:
        super().__init__(budget_s=settings.WEBHOOKS_RUN_BUDGET_S if budget_s is None else budget_s)
        self.idle_exit_s = idle_exit_s
        self.origins = _Origins(settings.WEBHOOKS_CONNECTIONS_PER_ORIGIN)
        self.concurrency = concurrency or settings.WEBHOOKS_CONCURRENCY
        self.batch = batch or settings.WEBHOOKS_CLAIM_BATCH
        self.lease = uuid.uuid4()
        self.counters = {"claimed": 0, "sent": 0, "ok": 0, "written": 0, "canceled": 0,
                         "expired": 0}  # fmt: skip
        self.tenants: dict = {}
        self.last_work = self.last_flush
        self.next_claim_at = 0.0

    def claim(self, now: float) -> int:
        # Claim in sizeable batches (each claim is two queries), or whenever idle; after a
        # claim that found less than it could take, not again for CLAIM_BACKOFF_S.
        pending = self.runner.in_flight
        free = self.concurrency - len(pending)
        if not (
            now < self.deadline
            and free > 0
            and (not pending or (free >= min(self.batch, self.concurrency) // 4
                                 and now >= self.next_claim_at))
        ):  # fmt: skip
            return 0
        in_flight = Counter(endpoint for _, endpoint in pending.values())
        claims = claim(limit=min(self.batch, free), lease=self.lease, in_flight=in_flight)
        if len(claims) < min(self.batch, free):
            self.next_claim_at = now + CLAIM_BACKOFF_S
        if claims:
            self.counters["claimed"] += len(claims)
            missing = {c.tenant_id for c in claims} - self.tenants.keys()
            self.tenants.update(Tenant.objects.in_bulk(list(missing)))
            _start(claims, self.runner, self.origins, self.counters)
        return len(claims)

    def wait_s(self, claimed: int) -> float:
        return 0.0 if claimed else IDLE_SLEEP_S

    def finished(self, context, result) -> None:
        if result is None:
            self.counters["expired"] += 1
            return
        self.counters["sent"] += 1
        self.buffer.append((context[0], result))

    def flush(self, buffer: list) -> None:
        self.counters["written"] += _flush(buffer, self.tenants, self.lease, self.counters)

    def stop(self, claimed: int) -> bool:
        if self.runner.in_flight or claimed:
            self.last_work = time.monotonic()
            return False
        idle = time.monotonic() - self.last_work
        if time.monotonic() >= self.deadline or (
            self.idle_exit_s is not None and idle >= self.idle_exit_s
        ):
            return True
        time.sleep(IDLE_SLEEP_S)
        return False

    def close(self) -> None:
        self.runner.close(cleanup=self.origins.aclose)


def _start(claims: list[Claimed], runner: AsyncRunner, origins: _Origins, counters: dict) -> None:
    # Started now, a request must be sent soon enough to be answered (WEBHOOKS_TIMEOUT_S) and
    # written (a flush or two) before the lease runs out and another runner may claim it.
    send_by = time.monotonic() + settings.WEBHOOKS_LEASE_S - settings.WEBHOOKS_TIMEOUT_S - 1
    by_schema: dict[str, list[Claimed]] = defaultdict(list)
    for claimed in claims:
        if (claimed.message_id, claimed.due_id) in runner.in_flight:
            continue  # still waiting here (its row was claimed again): sent once, not twice
        by_schema[claimed.schema_name].append(claimed)
    for schema, items in by_schema.items():
        tenant_id = items[0].tenant_id
        with schema_context(schema):
            messages = WebhookMessage.objects.select_related("endpoint").in_bulk(
                [c.message_id for c in items]
            )
            gone, cancel, signers = [], [], {}
            broken: dict[str, list[Claimed]] = defaultdict(list)
            for claimed in items:
                message = messages.get(claimed.message_id)
                if message is None or claimed.tenant_purged:
                    gone.append(claimed.due_id)
                    continue
                endpoint = message.endpoint
                if not endpoint.enabled:
                    cancel.append(claimed)
                    continue
                try:  # one message that cannot be prepared must not stop everyone's deliveries
                    if endpoint.pk not in signers:
                        now = timezone.now()
                        signers[endpoint.pk] = [
                            Webhook(s) for s in signing.signing_secrets(endpoint, now)
                        ]
                    request = request_for(
                        message,
                        endpoint,
                        due_id=claimed.due_id,
                        trigger=claimed.trigger,
                        signers=signers[endpoint.pk],
                        send_by=send_by,
                    )
                except Exception as exc:
                    logger.exception("Webhook message %s cannot be sent", message.msg_id)
                    broken[f"Not sent: {type(exc).__name__} preparing it."].append(claimed)
                    continue
                job = partial(origins.deliver, request)
                runner.submit(request.key, job, (tenant_id, claimed.endpoint_id))
            for reason, claimed_list in [("Not sent: the endpoint is disabled.", cancel),
                                         *broken.items()]:  # fmt: skip
                if not claimed_list:
                    continue
                results.webhook_messages_cancel(
                    tenant=None,
                    due_ids=[c.due_id for c in claimed_list],
                    message_ids=[c.message_id for c in claimed_list],
                    reason=reason,
                )
                counters["canceled"] += len(claimed_list)
        if gone:  # deleted with its endpoint or tenant: drop the index row
            WebhookDue.objects.filter(pk__in=gone).delete()


def _flush(buffer: list, tenants: dict, lease: uuid.UUID, counters: dict) -> int:
    """Write results, one transaction per tenant; one tenant's failure does not lose the
    others' (its rows are due again when the lease runs out)."""
    by_tenant: dict = defaultdict(list)
    ok = 0
    for tenant_id, result in buffer:
        by_tenant[tenant_id].append(result)
        ok += result.ok
    counters["ok"] += ok
    for outcome, amount in (("ok", ok), ("failed", len(buffer) - ok)):
        if amount:
            metric_inc("quayside_webhook_deliveries_total", amount, outcome=outcome)
    written = 0
    for tenant_id, batch in by_tenant.items():
        tenant = tenants[tenant_id]
        try:
            with schema_context(tenant.schema_name):
                out = results.webhook_results_apply(tenant=tenant, results=batch, lease=lease)
                written += out["applied"]
        except Exception:
            logger.exception("Writing %d webhook attempts of tenant %s failed", len(batch),
                             tenant.slug)  # fmt: skip
    return written
