"""Outgoing webhook fixtures: the local receiver (webhook_support.py), and loopback allowed
through the SSRF guard (the receiver listens on 127.0.0.1)."""

from __future__ import annotations

import pytest

from tests.webhooks.webhook_support import _receiver_server, receiver  # noqa: F401


@pytest.fixture(autouse=True)
def _allow_loopback(settings, db):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
