"""Secret rotation: for the overlap (24 h) every request carries two signatures and both the
old and the new secret verify; after it, only the new one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from apps.core.actor import SYSTEM
from apps.webhooks import services as webhook_services
from apps.webhooks.models import WebhookEndpoint
from tests.webhooks.webhook_support import (
    deliver,
    emit,
    endpoint_create,
    in_tenant,
)


def test_rotation_overlap(receiver, world, settings):
    tenant = world["tenant_a"]
    endpoint, old = endpoint_create(tenant, receiver.url("/rotate"))
    with in_tenant(tenant):
        endpoint, new = webhook_services.webhook_endpoint_rotate_secret(
            endpoint=endpoint, tenant=tenant, actor=SYSTEM
        )
    assert new != old and new.startswith("whsec_")
    overlap = endpoint.previous_secret_expires_at - timezone.now()
    assert dt.timedelta(hours=23, minutes=59) < overlap <= dt.timedelta(hours=24)

    emit(tenant)
    deliver()
    [(_, headers, body)] = receiver.got()
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert Webhook(new).verify(body, headers)["type"] == "monitor.down"
    assert Webhook(old).verify(body, headers)["type"] == "monitor.down"

    with in_tenant(tenant):  # the 24 hours are over
        WebhookEndpoint.objects.update(
            previous_secret_expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
    emit(tenant, "monitor.up")
    deliver()
    (_, headers, body) = receiver.got()[-1]
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(body, headers)["type"] == "monitor.up"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, headers)


def test_secret_is_encrypted_at_rest(world):
    tenant = world["tenant_a"]
    endpoint, secret = endpoint_create(tenant, "https://example.com/hook")
    with in_tenant(tenant):
        stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert secret not in stored.secret_encrypted
    assert secret[6:] not in stored.secret_encrypted
    assert stored.secret_last8 == secret[-8:]
