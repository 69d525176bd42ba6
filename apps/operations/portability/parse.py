"""Reading a configuration document sent for import: its shape only (the format, the sections,
each object's fields and their JSON types, one object per key). What the values may be is the
domain services' to say when the plan is applied (or tried, on a dry run)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist

from apps.core.problems import InvalidInput
from apps.deploy.models import App
from apps.monitoring.models import AlertChannel, MaintenanceWindow, Monitor, StatusPage
from apps.webhooks.models import WebhookEndpoint

from .document import (
    APP_FIELDS,
    CHANNEL_FIELDS,
    ENDPOINT_FIELDS,
    FORMAT,
    FORMAT_VERSION,
    KEYS,
    PAGE_FIELDS,
    WINDOW_FIELDS,
    monitor_fields,
)

TOP_LEVEL = {"format", "format_version", "secrets", *KEYS}
# What a missing field means; a field without a default here is required.
DEFAULTS: dict[str, dict[str, Any]] = {
    "apps": {"source_kind": "git", "git_url": "", "branch": "main", "image_ref": "",
             "health_check_path": "", "formation": {}, "env_vars": [], "domains": []},
    "alert_channels": {"enabled": True, "config": {}},
    "monitors": {"channels": []},
    "maintenance_windows": {"monitors": []},
    "status_pages": {"description": "", "announcement": "", "public": True, "monitors": []},
    "webhook_endpoints": {"description": "", "event_types": [], "enabled": True},
}  # fmt: skip
FIELDS = {
    "apps": APP_FIELDS,
    "alert_channels": CHANNEL_FIELDS,
    "maintenance_windows": WINDOW_FIELDS,
    "status_pages": PAGE_FIELDS,
    "webhook_endpoints": ENDPOINT_FIELDS,
}
STRING_LISTS = {"env_vars", "domains", "channels", "monitors", "event_types", "expected_status"}
OBJECTS = {"formation", "config"}
BOOLEANS = {"enabled", "public", "verify_tls", "follow_redirects"}
# Numbers a monitor takes (null: unset); every other field not named above is a string.
INTEGERS = {
    "interval_s", "timeout_s", "failures_before_down", "successes_before_up", "max_response_ms",
    "port", "tls_expiry_days", "period_s", "grace_s",
}  # fmt: skip
MONITOR_KINDS = ("http", "tcp", "tls", "heartbeat")
MODELS = {
    "apps": App,
    "alert_channels": AlertChannel,
    "monitors": Monitor,
    "maintenance_windows": MaintenanceWindow,
    "status_pages": StatusPage,
    "webhook_endpoints": WebhookEndpoint,
}
INT_MAX = 2**31 - 1  # PostgreSQL's integer, what the columns hold


def _fail(message: str, field: str) -> None:
    raise InvalidInput(message, field=field)


def _check_type(name: str, value: Any, where: str) -> None:
    if name in STRING_LISTS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            _fail("A list of strings is required.", f"{where}.{name}")
    elif name in OBJECTS:
        if not isinstance(value, dict):
            _fail("An object is required.", f"{where}.{name}")
    elif name in BOOLEANS:
        if not isinstance(value, bool):
            _fail("true or false is required.", f"{where}.{name}")
    elif name in INTEGERS:
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= INT_MAX
        ):
            _fail("A whole number from 0 (or null) is required.", f"{where}.{name}")
    elif not isinstance(value, str):
        _fail("A string is required.", f"{where}.{name}")


def _allowed(section: str, item: dict[str, Any], where: str) -> tuple[str, ...]:
    if section != "monitors":
        return FIELDS[section]
    kind = item.get("kind")
    if kind not in MONITOR_KINDS:
        _fail(f"kind is one of {', '.join(MONITOR_KINDS)}.", f"{where}.kind")
    return monitor_fields(kind)


def _item(section: str, raw: Any, index: int) -> dict[str, Any]:
    key = KEYS[section]
    if not isinstance(raw, dict):
        _fail("An object is required.", f"{section}[{index}]")
    name = raw.get(key)
    if not isinstance(name, str) or not name.strip():
        _fail(f"Each of the {section.replace('_', ' ')} needs its {key}.", f"{section}[{index}]")
    where = f"{section}[{name}]"
    allowed = _allowed(section, raw, where)
    unknown = sorted(set(raw) - set(allowed) - {key})
    if unknown:
        _fail(f"{unknown[0]} is not a field of {section.replace('_', ' ')} here.",
              f"{where}.{unknown[0]}")  # fmt: skip
    item = {**DEFAULTS[section], **raw}
    missing = sorted(
        f for f in allowed if f not in item and section not in ("monitors",) and f != key
    )
    if missing:
        _fail(f"{missing[0]} is required.", f"{where}.{missing[0]}")
    for name_, value in item.items():
        if name_ != key:
            _check_type(name_, value, where)
    _column_checks(section, item, where)
    return item


def _column_checks(section: str, item: dict[str, Any], where: str) -> None:
    """What the services leave to the API's serializers: a string's length and, for a field
    with choices, one of them (the columns would refuse the rest with a server error)."""
    model = MODELS[section]
    for name, value in item.items():
        if not isinstance(value, str):
            continue
        try:
            column = model._meta.get_field(name)
        except FieldDoesNotExist:  # not a column (git_url, env_vars, …)
            continue
        limit = getattr(column, "max_length", None)
        if limit and len(value) > limit:
            _fail(f"At most {limit} characters.", f"{where}.{name}")
        choices = [str(choice) for choice, _label in column.choices or []]
        if choices and value not in choices:
            _fail(f"One of {', '.join(choices)}.", f"{where}.{name}")


def document_parse(document: Any) -> dict[str, list[dict[str, Any]]]:
    """The sections of `document`, each object with its defaults filled in; a 400 naming the
    first field at fault otherwise."""
    if not isinstance(document, dict):
        _fail("The document is a JSON object, as GET /api/v1/export answers.", "document")
    if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
        _fail(f'This is not a "{FORMAT}" document of format_version {FORMAT_VERSION}.',
              "document.format")  # fmt: skip
    unknown = sorted(set(document) - TOP_LEVEL)
    if unknown:
        _fail(f"{unknown[0]} is not a section of the document.", f"document.{unknown[0]}")
    sections: dict[str, list[dict[str, Any]]] = {}
    for section, key in KEYS.items():
        raw = document.get(section) or []
        if not isinstance(raw, list):
            _fail("A list is required.", section)
        items = [_item(section, entry, i) for i, entry in enumerate(raw)]
        seen: set[str] = set()
        for item in items:
            if item[key] in seen:
                _fail(f"{item[key]!r} appears twice.", f"{section}[{item[key]}]")
            seen.add(item[key])
        sections[section] = items
    return sections
