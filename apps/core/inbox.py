"""Per-user inbox: the one way any app leaves a message for a person, and its reads and writes.

`inbox_send()` joins the caller's transaction, so a message exists exactly when the change it
tells of was committed. `kind` follows the event vocabulary of API.md (`member.role_changed`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import InboxMessage
from .problems import ApplicationError

TITLE_MAX_LENGTH = 200


class InboxMessageNotFound(ApplicationError):
    status = 404
    slug = "not-found"


def inbox_send(
    *,
    user,
    kind: str,
    title: str,
    body: str = "",
    tenant: Any = None,
    data: dict[str, Any] | None = None,
) -> InboxMessage:
    """Leave a message for `user`. `tenant` (optional) is recorded by id, slug and name."""
    return InboxMessage.objects.create(
        user=user,
        kind=kind,
        title=title[:TITLE_MAX_LENGTH],
        body=body,
        tenant_id=getattr(tenant, "pk", None),
        tenant_slug=(getattr(tenant, "slug", "") or "")[:100],
        tenant_name=(getattr(tenant, "name", "") or "")[:100],
        data=data or {},
    )


# --- Reads ----------------------------------------------------------------------------------


def inbox_messages_for_user(*, user, filters: dict[str, Any] | None = None) -> QuerySet:
    """The user's messages, newest first. Filters: `unread` (bool), `kind` (exact)."""
    filters = filters or {}
    messages = InboxMessage.objects.filter(user=user)
    unread = filters.get("unread")
    if unread is not None:
        messages = messages.filter(read_at__isnull=unread)
    if filters.get("kind"):
        messages = messages.filter(kind=filters["kind"])
    return messages


def inbox_unread_count(*, user) -> int:
    return InboxMessage.objects.filter(user=user, read_at__isnull=True).count()


# --- Writes ---------------------------------------------------------------------------------


@transaction.atomic
def inbox_message_mark_read(*, user, message_id) -> InboxMessage:
    """Mark one of the user's messages read (idempotent). Another user's message is not found."""
    message = InboxMessage.objects.filter(user=user, pk=message_id).first()
    if message is None:
        raise InboxMessageNotFound("No such message.")
    if message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at", "updated_at"])
    return message


@transaction.atomic
def inbox_mark_all_read(*, user) -> int:
    """Mark every unread message of the user read; returns how many changed."""
    now = timezone.now()
    return InboxMessage.objects.filter(user=user, read_at__isnull=True).update(
        read_at=now, updated_at=now
    )
