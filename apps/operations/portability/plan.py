"""The plan of an import: for each object of the document, `create`, `update` (with the fields
that change, from what to what) or `unchanged`, against the tenant's configuration now.

An import adds and changes; it never deletes. Lists that belong to one object are set whole
(a monitor's channels, a status page's or a window's monitors, an app's formation); an app's
env vars and domains are added to (the names the tenant has beyond the document stay). Secret
values never appear in a plan: env vars are named, a channel's URL is `(secret)`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.core.problems import InvalidInput
from apps.deploy import selectors as deploy_selectors
from apps.deploy import services as deploy_services
from apps.monitoring import selectors as monitoring_selectors
from apps.monitoring.alerts import channel_url

from .document import KEYS, masked

SECRET = "(secret)"  # noqa: S105 (what a plan shows instead of one)
APP_SIMPLE = ("source_kind", "branch", "image_ref", "health_check_path")


@dataclass
class Step:
    section: str
    key: str
    action: str = "unchanged"  # create, update, unchanged
    changes: dict[str, Any] = field(default_factory=dict)  # shown: field -> {from, to}
    values: dict[str, Any] = field(default_factory=dict)  # for the service (may hold secrets)
    warnings: list[str] = field(default_factory=list)

    def change(self, name: str, before: Any, after: Any, value: Any = None) -> None:
        self.changes[name] = {"from": before, "to": after}
        self.values[name] = after if value is None else value

    def shown(self) -> dict[str, Any]:
        body: dict[str, Any] = {"section": self.section, "key": self.key, "action": self.action}
        if self.action == "update":
            body["changes"] = self.changes
        if self.action != "unchanged":
            body["fields"] = sorted(self.changes)
        if self.warnings:
            body["warnings"] = self.warnings
        return body


def _settle(step: Step, created: bool) -> Step:
    step.action = "create" if created else ("update" if step.changes else "unchanged")
    return step


def _app_step(item, current, sealed) -> Step:
    step = Step("apps", item["name"])
    cur = current.get(item["name"])
    for name in APP_SIMPLE:
        if cur is None or cur[name] != item[name]:
            step.change(name, cur[name] if cur else None, item[name])
    git_url = sealed.get("git_url") or item["git_url"]
    before = cur["git_url"] if cur else None
    if cur is None or item["git_url"] != before:
        if masked(git_url):
            step.warnings.append(
                "git_url carries credentials this document does not hold (export it with "
                "include_values): set it after the import."
            )
        else:
            step.change("git_url", before, item["git_url"], git_url)
    if (cur["formation"] if cur else {}) != item["formation"]:
        running = deploy_selectors.apps_list().filter(
            name=item["name"], live_deployment__isnull=False
        )
        if cur is not None and running.exists():
            step.warnings.append(
                "formation differs from the running app's: an import does not scale a running "
                "app (POST /api/v1/apps/{id}/scale does)."
            )
        else:
            step.change("formation", cur["formation"] if cur else None, item["formation"])
    have = set(cur["env_vars"]) if cur else set()
    values = {k: v for k, v in (sealed.get("env") or {}).items() if k in item["env_vars"]}
    if cur is not None and values:
        app = deploy_selectors.apps_list().get(name=item["name"])
        now = deploy_services.config_of(app)
        values = {k: v for k, v in values.items() if now.get(k) != v}
    missing = sorted(n for n in item["env_vars"] if n not in have and n not in values)
    if values:
        step.changes["env_vars"] = {"set": sorted(values)}
        step.values["env"] = values
    if missing:
        step.warnings.append(
            f"No value for {', '.join(missing)} in the document (export with include_values): "
            "set them after the import."
        )
    added = sorted(set(item["domains"]) - set(cur["domains"] if cur else []))
    if added:
        step.changes["domains"] = {"add": added}
        step.values["domains_add"] = added
    return _settle(step, cur is None)


def _channel_step(item, current, sealed) -> Step:
    step = Step("alert_channels", item["name"])
    cur = current.get(item["name"])
    if cur is not None and cur["kind"] != item["kind"]:
        raise InvalidInput(
            f"The channel {item['name']!r} is a {cur['kind']} channel here: a kind cannot "
            "change (rename one of them).",
            field=f"alert_channels[{item['name']}].kind",
        )
    if cur is None or cur["enabled"] != item["enabled"]:
        step.change("enabled", cur["enabled"] if cur else None, item["enabled"])
    url = (sealed.get("url") or "") if item["kind"] != "email" else ""
    if item["kind"] == "email":
        if cur is None or cur["config"] != item["config"]:
            step.change("config", cur["config"] if cur else None, item["config"])
    elif url:
        channel = None
        if cur is not None:
            channel = monitoring_selectors.alert_channels_list().get(name=item["name"])
        if channel is None or channel_url(channel) != url:
            step.change("config", SECRET if cur else None, SECRET, {"url": url})
    elif cur is None:
        raise InvalidInput(
            f"The {item['kind']} channel {item['name']!r} is new here and the document does not "
            "hold its URL: export with include_values and a passphrase.",
            field=f"alert_channels[{item['name']}].config",
        )
    if cur is None:
        step.values.update(name=item["name"], kind=item["kind"])
    return _settle(step, cur is None)


def _generic_step(section: str, item, current, skip=()) -> Step:
    key = KEYS[section]
    step = Step(section, item[key])
    cur = current.get(item[key])
    for name, value in item.items():
        if name == key or name in skip:
            continue
        before = cur.get(name) if cur else None
        if cur is None or before != value:
            step.change(name, before, value)
    return _settle(step, cur is None)


def _monitor_step(item, current, sealed) -> Step:
    cur = current.get(item["name"])
    if cur is not None and cur["kind"] != item["kind"]:
        raise InvalidInput(
            f"The monitor {item['name']!r} is a {cur['kind']} monitor here: a kind cannot "
            "change (rename one of them).",
            field=f"monitors[{item['name']}].kind",
        )
    step = _generic_step("monitors", item, current, skip=("kind",))
    if sealed.get("url"):
        step.values["url"] = sealed["url"]  # with its credentials (the plan shows the bare one)
    step.values["kind"] = item["kind"]
    return step


def plan_build(incoming: dict, current: dict, secrets: dict) -> list[Step]:
    """The steps, section by section in the order they are applied (what is referred to
    first: channels before the monitors routed to them, monitors before pages and windows)."""
    by_key = {
        section: {item[key]: item for item in current.get(section, [])}
        for section, key in KEYS.items()
    }
    steps: list[Step] = []
    for item in incoming["alert_channels"]:
        sealed = secrets.get("alert_channels", {}).get(item["name"], {})
        steps.append(_channel_step(item, by_key["alert_channels"], sealed))
    for item in incoming["monitors"]:
        sealed = secrets.get("monitors", {}).get(item["name"], {})
        steps.append(_monitor_step(item, by_key["monitors"], sealed))
    for section in ("maintenance_windows", "status_pages"):
        steps += [_generic_step(section, item, by_key[section]) for item in incoming[section]]
    for item in incoming["apps"]:
        sealed = secrets.get("apps", {}).get(item["name"], {})
        steps.append(_app_step(item, by_key["apps"], sealed))
    steps += [
        _generic_step("webhook_endpoints", item, by_key["webhook_endpoints"])
        for item in incoming["webhook_endpoints"]
    ]
    return steps


def plan_summary(steps: list[Step]) -> dict[str, int]:
    counts = {"create": 0, "update": 0, "unchanged": 0}
    for step in steps:
        counts[step.action] += 1
    return counts
