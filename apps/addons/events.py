"""Outbox events of the add-ons app (addon.*): payloads as the API renders them."""

from __future__ import annotations

from typing import Any

from django.db import connection

from apps.core.outbox import event_emit

from .models import Addon


def addon_data(addon: Addon) -> dict[str, Any]:
    from .api.serializers import AddonOutput

    data = dict(AddonOutput(addon).data)
    data["app"] = {"id": str(addon.app_id), "name": addon.app.name}
    return data


def addon_event(type: str, addon: Addon, *, tenant=None) -> None:
    tenant = tenant if tenant is not None else getattr(connection, "tenant", None)
    event_emit(type=type, tenant=tenant, data=addon_data(addon))
