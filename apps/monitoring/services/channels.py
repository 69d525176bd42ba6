"""Alert channels (email, webhook, Slack-compatible): create, update, delete, and a test alert."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction

from apps.core import crypto
from apps.core.actor import Actor
from apps.core.audit import audit_as
from apps.core.model_update import model_update, refuse_unknown
from apps.core.net import http_url_parts, ip_allowed
from apps.core.problems import InvalidInput
from apps.core.versioning import version_bump, version_lock

from ..models import MAX_EMAIL_RECIPIENTS, AlertChannel, ChannelKind


def _webhook_url(value) -> str:
    """Syntax and literal addresses at save time; names are resolved and checked by the SSRF
    guard (apps.core.net) when sending."""
    url = value.strip() if isinstance(value, str) else ""
    parts = http_url_parts(url)
    if parts is None or len(url) > 2000:
        raise InvalidInput("An http(s):// URL with a host is required.", field="config.url")
    try:
        literal = not ip_allowed(parts.hostname.strip("[]"))
    except ValueError:  # a name, not an address
        literal = False
    if literal:
        raise InvalidInput(
            "This address is private, loopback or link-local: alerts cannot be sent there.",
            field="config.url",
        )
    return url


def _channel_config(kind: str, config) -> tuple[dict, str]:
    """Validate a channel's config: (what may be shown, the secret to encrypt or "")."""
    if not isinstance(config, dict):
        raise InvalidInput("An object is required.", field="config")
    expected = {"to"} if kind == ChannelKind.EMAIL else {"url"}
    extra = sorted(set(config) - expected)
    if extra:
        raise InvalidInput(
            f"{extra[0]} does not apply to {kind} channels.", field=f"config.{extra[0]}"
        )
    if kind == ChannelKind.EMAIL:
        to = config.get("to")
        if not isinstance(to, list) or not 1 <= len(to) <= MAX_EMAIL_RECIPIENTS:
            raise InvalidInput(
                f"A list of 1 to {MAX_EMAIL_RECIPIENTS} addresses is required.", field="config.to"
            )
        for address in to:
            try:
                validate_email(address)
            except (DjangoValidationError, TypeError) as exc:
                raise InvalidInput(f"{address!r} is not an email address.",
                                   field="config.to") from exc  # fmt: skip
        return {"to": list(dict.fromkeys(a.strip().lower() for a in to))}, ""
    from ..alerts import mask_url

    url = _webhook_url(config.get("url"))
    return {"url_masked": mask_url(url)}, url


@transaction.atomic
def alert_channel_create(
    *, tenant, actor: Actor, name: str, kind: str, config: dict, enabled: bool = True
) -> AlertChannel:
    if kind not in ChannelKind.values:
        raise InvalidInput(f"{kind!r} is not a channel kind.", field="kind")
    shown, secret = _channel_config(kind, config)
    channel = AlertChannel.objects.create(
        name=name, kind=kind, config=shown, enabled=enabled, created_by_id=actor.user_id,
        secret_encrypted=crypto.encrypt(secret) if secret else "",
    )  # fmt: skip
    audit_as(actor, "alert_channel.created", tenant=tenant, target=channel, kind=kind,
             name=name)  # fmt: skip
    return channel


@transaction.atomic
def alert_channel_update(
    *, channel: AlertChannel, tenant, actor: Actor, expected_version: int | None = None, **changes
) -> AlertChannel:
    """Changes of `name`, `enabled` and `config` (replaced whole, validated for the kind).
    `expected_version`: the version the caller read (stale: 409 version-conflict)."""
    refuse_unknown(changes, ("name", "enabled", "config"))
    version_lock(channel, expected=expected_version)
    changed = []
    if "config" in changes:
        shown, secret = _channel_config(channel.kind, changes.pop("config"))
        channel.config = shown
        channel.secret_encrypted = crypto.encrypt(secret) if secret else ""
        changed.append("config")
    changed += model_update(channel, ("name", "enabled"), changes)
    if not changed:
        return channel
    channel.save()
    version_bump(channel)
    audit_as(actor, "alert_channel.updated", tenant=tenant, target=channel,
             fields=sorted(changed))  # fmt: skip
    return channel


@transaction.atomic
def alert_channel_delete(
    *, channel: AlertChannel, tenant, actor: Actor, expected_version: int | None = None
) -> None:
    version_lock(channel, expected=expected_version)
    audit_as(actor, "alert_channel.deleted", tenant=tenant, target=channel, name=channel.name)
    channel.delete()
