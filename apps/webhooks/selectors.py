"""Reads of outgoing webhooks, in the current tenant's schema. Secrets are never loaded by a
list (their columns are deferred); lists cost a constant number of queries."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Prefetch, QuerySet

from .models import WebhookAttempt, WebhookEndpoint, WebhookMessage

SECRET_COLUMNS = ("secret_encrypted", "previous_secret_encrypted")


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def webhook_endpoints_list(*, filters: dict[str, Any] | None = None) -> QuerySet[WebhookEndpoint]:
    """Endpoints, newest first (one query). Filters: enabled (bool)."""
    filters = filters or {}
    endpoints = WebhookEndpoint.objects.defer(*SECRET_COLUMNS)
    if filters.get("enabled") is not None:
        endpoints = endpoints.filter(enabled=filters["enabled"])
    return endpoints


def webhook_endpoint_get(endpoint_id, *, with_secrets: bool = False) -> WebhookEndpoint | None:
    pk = _uuid(endpoint_id)
    if pk is None:
        return None
    endpoints = WebhookEndpoint.objects if with_secrets else webhook_endpoints_list()
    return endpoints.filter(pk=pk).first()


def webhook_messages_for_endpoint(
    *, endpoint: WebhookEndpoint, filters: dict[str, Any] | None = None
) -> QuerySet[WebhookMessage]:
    """The endpoint's messages, newest first, with their attempts (two queries for any page).
    Filters: status, event_type, since (datetime)."""
    filters = filters or {}
    messages = WebhookMessage.objects.filter(endpoint=endpoint).prefetch_related(
        Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("-attempted_at", "-id"))
    )
    if filters.get("status"):
        messages = messages.filter(status=filters["status"])
    if filters.get("event_type"):
        messages = messages.filter(event_type=filters["event_type"])
    if filters.get("since"):
        messages = messages.filter(created_at__gte=filters["since"])
    return messages


def webhook_message_get(*, endpoint: WebhookEndpoint, msg_id: str) -> WebhookMessage | None:
    return webhook_messages_for_endpoint(endpoint=endpoint).filter(msg_id=msg_id).first()
