"""The transactional outbox: how a domain event leaves the service that caused it.

A service calls `event_emit()` inside its transaction; the row exists exactly when the change
was committed. `outbox_dispatch()` (a Celery task kicked on commit, plus a beat safety net) hands
committed events, oldest first, to each consumer named in settings.OUTBOX_CONSUMERS and marks
them dispatched in the same transaction as the consumers' own writes, so every consumer sees
every event once. A consumer that raises on a batch is given its events one by one; an event it
still cannot take is logged and its error kept in `OutboxEvent.errors` (a poison event must not
stop the outbox). A failure of the database itself rolls the whole batch back for a retry.

Consumers are dotted paths to `def consume(events: list[OutboxEvent]) -> None` (core imports
no app: the apps that react to events, such as webhook delivery and automatic monitors, are
named in settings). They must be quick (write rows, enqueue work on commit), never do I/O.
A consumer's name (the key of its entry in `OutboxEvent.errors`) is its path, or the first of a
`(name, path)` pair: a consumer that moves keeps its stored name that way."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import OutboxEvent

logger = logging.getLogger(__name__)

Consumer = Callable[[list[OutboxEvent]], None]
DISPATCH_LOCK = 7_361_524_019  # pg_advisory_xact_lock key of the outbox dispatcher
# The database going away is no fault of an event: the whole batch is rolled back and retried.
UNAVAILABLE = (OperationalError, InterfaceError)


def event_emit(*, type: str, data: dict[str, Any], tenant: Any = None) -> OutboxEvent:
    """Record event `type` (`<entity>.<past tense>`) with `data` (the object as the API renders
    it) for `tenant` (a Tenant, its id, or None for platform events). Joins the caller's
    transaction; the dispatcher is kicked once it commits."""
    tenant_id = getattr(tenant, "pk", tenant)
    event = OutboxEvent.objects.create(type=type, data=data, tenant_id=tenant_id)
    if settings.OUTBOX_DISPATCH_ON_COMMIT and not _kick_pending():
        transaction.on_commit(_kick)
    return event


def _kick_pending() -> bool:
    """One kick per transaction, however many events it emits."""
    pending = transaction.get_connection().run_on_commit
    return any(entry[1] is _kick for entry in pending)


def _kick() -> None:
    from .tasks import outbox_dispatch

    try:
        outbox_dispatch.delay()
    except Exception:  # the beat safety net picks the events up
        logger.warning("outbox: could not enqueue dispatch", exc_info=True)


@functools.cache
def consumers() -> tuple[tuple[str, Consumer], ...]:
    """(name, consume) of each entry of settings.OUTBOX_CONSUMERS: a dotted path (named by it)
    or a (name, dotted path) pair."""
    out = []
    for entry in settings.OUTBOX_CONSUMERS:
        name, path = (entry, entry) if isinstance(entry, str) else entry
        out.append((name, import_string(path)))
    return tuple(out)


class DispatcherBusy(Exception):
    """Another dispatcher has the turn; it dispatches what is pending."""


def outbox_dispatch(*, batch: int | None = None, max_batches: int = 100, wait: bool = True) -> int:
    """Hand pending events to every consumer, a batch at a time; returns how many were
    dispatched. Safe to run concurrently: dispatchers take turns (an advisory lock)."""
    size = batch or settings.OUTBOX_DISPATCH_BATCH
    total = 0
    for _ in range(max_batches):
        done = _dispatch_batch(size, wait=wait)
        total += done
        if done < size:
            break
    return total


def _dispatch_batch(size: int, *, wait: bool) -> int:
    with transaction.atomic():
        connection.set_schema_to_public()
        # One dispatcher at a time (beat and on-commit kicks overlap): batches are handed out in
        # order, so a consumer never sees app.deleted before that app's deployment.succeeded.
        # The Celery task does not wait (it would hold a worker process): it comes back later.
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DISPATCH_LOCK])
            else:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [DISPATCH_LOCK])
                if not cursor.fetchone()[0]:
                    raise DispatcherBusy
        events = list(OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("id")[:size])
        if not events:
            return 0
        failed: dict[int, dict[str, str]] = {}
        for name, consume in consumers():
            _consume(name, consume, events, failed)
        now = timezone.now()
        OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=now)
        for pk, errors in failed.items():
            OutboxEvent.objects.filter(pk=pk).update(errors=errors)
    return len(events)


def _consume(path: str, consume: Consumer, events: list[OutboxEvent], failed: dict) -> None:
    """The batch in one savepoint; when the consumer raises, each event in a savepoint of its
    own, so one event it cannot take (a bug, a payload it does not expect) is recorded in
    `errors` and logged, and neither blocks the outbox nor costs the other events."""
    try:
        with transaction.atomic():
            consume(events)
        return
    except UNAVAILABLE:
        raise
    except Exception:
        logger.warning("outbox: consumer %s failed on a batch of %d; one by one", path,
                       len(events), exc_info=True)  # fmt: skip
    finally:
        connection.set_schema_to_public()
    for event in events:
        try:
            with transaction.atomic():
                consume([event])
        except UNAVAILABLE:
            raise
        except Exception as exc:
            logger.exception("outbox: consumer %s failed on event %s (%s)", path, event.pk,
                             event.type)  # fmt: skip
            failed.setdefault(event.pk, {})[path] = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            connection.set_schema_to_public()


def outbox_purge(*, days: int | None = None) -> int:
    """Delete dispatched events older than OUTBOX_RETENTION_DAYS."""
    keep = days if days is not None else settings.OUTBOX_RETENTION_DAYS
    cutoff = timezone.now() - dt.timedelta(days=keep)
    deleted, _ = OutboxEvent.objects.filter(
        dispatched_at__isnull=False, created_at__lt=cutoff
    ).delete()
    return deleted
