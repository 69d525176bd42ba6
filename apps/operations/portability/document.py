"""The configuration document: what a tenant has set up, read through each domain's selectors,
as plain JSON with no ids, timestamps or versions, keys sorted, objects referred to by name.

    {"format": "quayside.config", "format_version": 1,
     "apps": [...], "alert_channels": [...], "monitors": [...], "maintenance_windows": [...],
     "status_pages": [...], "webhook_endpoints": [...], "secrets": null | {sealed}}

Each section is a list sorted by its key (`KEYS`): an app, a channel, a monitor and a window
by `name`, a status page by `slug`, a webhook endpoint by `url`. What is a secret (env var
values, a git URL's or a monitor URL's credentials, a webhook or Slack channel's URL) is left
out, or, when asked, sealed to a passphrase in `secrets` (sealing.py). Webhook endpoints'
signing secrets never leave: an imported endpoint gets a new one."""

from __future__ import annotations

from collections import Counter
from typing import Any

from apps.core import crypto
from apps.core.problems import Conflict
from apps.core.timestamps import api_time
from apps.deploy import selectors as deploy_selectors
from apps.deploy import services as deploy_services
from apps.monitoring import selectors as monitoring_selectors
from apps.monitoring import services as monitoring_services
from apps.monitoring.alerts import channel_url
from apps.monitoring.url_credentials import split as url_split
from apps.webhooks import selectors as webhook_selectors

from .sealing import seal

FORMAT = "quayside.config"
FORMAT_VERSION = 1
KEYS = {
    "apps": "name",
    "alert_channels": "name",
    "monitors": "name",
    "maintenance_windows": "name",
    "status_pages": "slug",
    "webhook_endpoints": "url",
}
SINGULAR = {
    "apps": "app",
    "alert_channels": "alert channel",
    "monitors": "monitor",
    "maintenance_windows": "maintenance window",
    "status_pages": "status page",
    "webhook_endpoints": "webhook endpoint",
}
APP_FIELDS = (
    "name", "source_kind", "git_url", "branch", "image_ref", "health_check_path", "formation",
    "env_vars", "domains",
)  # fmt: skip
CHANNEL_FIELDS = ("name", "kind", "enabled", "config")
WINDOW_FIELDS = ("name", "starts_at", "ends_at", "monitors")
PAGE_FIELDS = ("slug", "title", "description", "announcement", "public", "monitors")
ENDPOINT_FIELDS = ("url", "description", "event_types", "enabled")
MASK = "***"


def monitor_fields(kind: str) -> tuple[str, ...]:
    """A monitor's fields in the document: its kind's editable ones, its kind, its channels."""
    editable = monitoring_services.EDITABLE[kind]
    return ("kind", "channels", *editable)


def canonical(value: Any) -> Any:
    """`value` with every mapping's keys sorted (the document's one order)."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    return value


def _refuse_duplicates(section: str, items: list[dict[str, Any]]) -> None:
    key = KEYS[section]
    twice = sorted(name for name, n in Counter(item[key] for item in items).items() if n > 1)
    if twice:
        raise Conflict(
            f"Two {section.replace('_', ' ')} have the {key} {twice[0]!r}; the document refers "
            f"to each by its {key}: rename one, then export again."
        )


def _apps(secrets: dict[str, Any] | None) -> list[dict[str, Any]]:
    items = []
    for app in deploy_selectors.apps_list().order_by("name"):
        env_names = sorted(var.key for var in deploy_selectors.env_vars_list(app=app))
        items.append(
            {
                "name": app.name,
                "source_kind": app.source_kind,
                "git_url": app.git_url_display,
                "branch": app.branch,
                "image_ref": app.image_ref,
                "health_check_path": app.health_check_path,
                "formation": deploy_selectors.formation_get(app=app),
                "env_vars": env_names,
                "domains": sorted(d.hostname for d in deploy_selectors.domains_list(app=app)),
            }
        )
        if secrets is not None:
            sealed: dict[str, Any] = {}
            if env_names:
                sealed["env"] = deploy_services.config_of(app)
            full_url = deploy_services.git_url(app)
            if full_url and full_url != app.git_url_display:
                sealed["git_url"] = full_url
            if sealed:
                secrets.setdefault("apps", {})[app.name] = sealed
    return items


def _channels(secrets: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[Any, str]]:
    items, names = [], {}
    for channel in monitoring_selectors.alert_channels_list():
        names[channel.pk] = channel.name
        config = {"to": channel.config.get("to", [])} if channel.kind == "email" else {}
        items.append(
            {"name": channel.name, "kind": channel.kind, "enabled": channel.enabled,
             "config": config}
        )  # fmt: skip
        url = channel_url(channel) if channel.kind != "email" else ""
        if secrets is not None and url:
            secrets.setdefault("alert_channels", {})[channel.name] = {"url": url}
    return items, names


def _monitor_url(monitor) -> str:
    """The monitor's URL with its Basic credentials put back (a secret)."""
    userinfo = crypto.decrypt(monitor.url_credentials_encrypted)
    bare, _ = url_split(monitor.url)
    scheme, _, rest = bare.partition("//")
    return f"{scheme}//{userinfo}@{rest}"


def _monitors(secrets, channel_names) -> tuple[list[dict[str, Any]], dict[Any, str]]:
    items, names = [], {}
    monitors = monitoring_selectors.monitors_list().filter(app_id__isnull=True)
    for monitor in monitors:
        names[monitor.pk] = monitor.name
        item: dict[str, Any] = {
            field: getattr(monitor, field) for field in monitoring_services.EDITABLE[monitor.kind]
        }
        item["kind"] = monitor.kind
        item["channels"] = sorted(channel_names[c.pk] for c in monitor.channels.all())
        items.append(item)
        if secrets is not None and monitor.url_credentials_encrypted:
            secrets.setdefault("monitors", {})[monitor.name] = {"url": _monitor_url(monitor)}
    return items, names


def _windows(monitor_names) -> list[dict[str, Any]]:
    return [
        {
            "name": window.name,
            "starts_at": api_time(window.starts_at),
            "ends_at": api_time(window.ends_at),
            "monitors": sorted(
                monitor_names[m.pk] for m in window.monitors.all() if m.pk in monitor_names
            ),
        }
        for window in monitoring_selectors.maintenance_windows_list()
    ]


def _pages(monitor_names) -> list[dict[str, Any]]:
    items = []
    for page in monitoring_selectors.status_pages_list():
        entries = sorted(page.entries.all(), key=lambda entry: entry.position)
        items.append(
            {
                "slug": page.slug,
                "title": page.title,
                "description": page.description,
                "announcement": page.announcement,
                "public": page.public,
                "monitors": [
                    monitor_names[e.monitor_id] for e in entries if e.monitor_id in monitor_names
                ],
            }
        )
    return items


def _endpoints() -> list[dict[str, Any]]:
    return [
        {"url": e.url, "description": e.description, "event_types": list(e.event_types),
         "enabled": e.enabled}
        for e in webhook_selectors.webhook_endpoints_list()
    ]  # fmt: skip


def document_build(*, include_values: bool = False, passphrase: str | None = None) -> dict:
    """The current tenant's configuration (the schema the request is routed to). With
    `include_values`, the secrets sealed to `passphrase`; without, `secrets` is null."""
    secrets: dict[str, Any] | None = {} if include_values else None
    channels, channel_names = _channels(secrets)
    monitors, monitor_names = _monitors(secrets, channel_names)
    sections = {
        "apps": _apps(secrets),
        "alert_channels": channels,
        "monitors": monitors,
        "maintenance_windows": _windows(monitor_names),
        "status_pages": _pages(monitor_names),
        "webhook_endpoints": _endpoints(),
    }
    for section, items in sections.items():
        _refuse_duplicates(section, items)
        items.sort(key=lambda item, key=KEYS[section]: item[key])
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **sections,
        "secrets": seal(secrets, passphrase or "") if secrets is not None else None,
    }
    return canonical(document)


def masked(url: str) -> bool:
    """A URL shown with its credentials as *** (a git URL exported without its secrets)."""
    return MASK in url
