"""Reading and changing platform config variables (declared in config_vars.py).

`config_get()` is what services call: the override if an operator set one, else the default.
All overrides sit in one cache entry (a small dict, in Redis, so every web and worker process
shares it). A write deletes the entry when its transaction commits, so the next read anywhere
sees the change; the entry also expires after CONFIG_CACHE_TTL_S, which bounds how long a read
racing a write can serve the old value. If Redis is down, reads go to the database."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction

from .actor import SYSTEM, Actor
from .audit import audit_as
from .config_vars import REGISTRY, ConfigVar
from .models import AuditSeverity, ConfigVariable
from .problems import ApplicationError

logger = logging.getLogger(__name__)

CACHE_KEY = "config-vars:overrides"
CONFIG_CACHE_TTL_S = 10


class UnknownConfigVariable(ApplicationError):
    status = 404
    slug = "not-found"

    def __init__(self, name: str) -> None:
        super().__init__(f"No config variable is called {name!r}.")


def config_var(name: str) -> ConfigVar:
    var = REGISTRY.get(name)
    if var is None:
        raise UnknownConfigVariable(name)
    return var


# --- Reads ----------------------------------------------------------------------------------


def _overrides() -> dict[str, Any]:
    try:
        cached = cache.get(CACHE_KEY)
    except Exception:  # Redis down: the database still answers
        logger.warning("config cache unavailable; reading overrides from the database")
        return _overrides_from_db()
    if cached is None:
        cached = _overrides_from_db()
        try:
            cache.set(CACHE_KEY, cached, CONFIG_CACHE_TTL_S)
        except Exception:
            logger.warning("config cache unavailable; overrides not cached")
    return cached


def _overrides_from_db() -> dict[str, Any]:
    return dict(ConfigVariable.objects.values_list("name", "value"))


def config_get(name: str) -> Any:
    """The value services use: the operator's override, else the declared default."""
    var = config_var(name)
    overrides = _overrides()
    if name in overrides:
        return overrides[name]
    return var.default


@dataclass(frozen=True)
class ConfigEntry:
    """One row of the operator's list: a declared variable, or a stale override of a name no
    longer declared (`registered` False; services ignore it)."""

    name: str
    registered: bool
    var: ConfigVar | None
    value: Any
    default: Any
    overridden: bool
    updated_by: str
    updated_at: Any


def config_list() -> list[ConfigEntry]:
    """Every declared variable (overridden or not), then stale overrides; from the database,
    not the cache, so operators see exactly what is stored. One query."""
    rows = {row.name: row for row in ConfigVariable.objects.select_related("updated_by")}
    entries = []
    for name in sorted(REGISTRY, key=lambda n: (REGISTRY[n].category, n)):
        entries.append(_entry(name, rows.get(name)))
    for name in sorted(set(rows) - set(REGISTRY)):
        entries.append(_entry(name, rows[name]))
    return entries


def config_entry(name: str) -> ConfigEntry:
    row = ConfigVariable.objects.select_related("updated_by").filter(name=name).first()
    if name not in REGISTRY and row is None:
        raise UnknownConfigVariable(name)
    return _entry(name, row)


def _entry(name: str, row: ConfigVariable | None) -> ConfigEntry:
    var = REGISTRY.get(name)
    default = var.default if var is not None else None
    return ConfigEntry(
        name=name,
        registered=var is not None,
        var=var,
        value=row.value if row is not None else default,
        default=default,
        overridden=row is not None,
        updated_by=getattr(row.updated_by, "email", "") if row and row.updated_by else "",
        updated_at=row.updated_at if row is not None else None,
    )


# --- Writes ---------------------------------------------------------------------------------


def _invalidate() -> None:
    try:
        cache.delete(CACHE_KEY)
    except Exception:
        logger.warning("config cache unavailable; other processes see the change in %s s",
                       CONFIG_CACHE_TTL_S)  # fmt: skip


def _on_commit_invalidate() -> None:
    transaction.on_commit(_invalidate)


@transaction.atomic
def config_set(*, name: str, value: Any, actor: Actor = SYSTEM) -> ConfigEntry:
    """Override `name` with `value` (validated by the variable's type and bounds). Audited as
    `config.updated` (severity warning) with the old and new values."""
    var = config_var(name)
    value = var.clean(value)
    row = ConfigVariable.objects.select_for_update().filter(name=name).first()
    old = row.value if row is not None else var.default
    user = actor.person
    if row is None:
        row = ConfigVariable.objects.create(name=name, value=value, updated_by=user)
    else:
        row.value = value
        row.updated_by = user
        row.save(update_fields=["value", "updated_by", "updated_at"])
    _config_change_audit(
        name=name, old=old, new=value, default=var.default, actor=actor, reset=False
    )
    _on_commit_invalidate()
    return _entry(name, row)


@transaction.atomic
def config_reset(*, name: str, actor: Actor = SYSTEM) -> ConfigEntry:
    """Drop the override: the variable has its default again. Also removes a stale override of
    a name no longer declared. Audited like config_set; nothing to reset changes nothing."""
    var = REGISTRY.get(name)
    row = ConfigVariable.objects.select_for_update().filter(name=name).first()
    if row is None:
        if var is None:
            raise UnknownConfigVariable(name)
        return _entry(name, None)
    default = var.default if var is not None else None
    _config_change_audit(
        name=name, old=row.value, new=default, default=default, actor=actor, reset=True
    )
    row.delete()
    _on_commit_invalidate()
    return _entry(name, None) if var is not None else _stale_removed(name)


def _stale_removed(name: str) -> ConfigEntry:
    return ConfigEntry(name, False, None, None, None, False, "", None)


def _config_change_audit(
    *, name: str, old: Any, new: Any, default: Any, actor: Actor, reset: bool
) -> None:
    audit_as(
        actor,
        "config.updated",
        target_type="core.configvariable",
        target_id=name,
        severity=AuditSeverity.WARNING,
        **{"name": name, "old": old, "new": new, "default": default, "reset": reset},
    )
