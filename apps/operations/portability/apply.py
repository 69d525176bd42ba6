"""Carrying out a plan (plan.py) through each domain's services, which check what they always
check: the tenant's quotas (apps, monitors, processes, custom domains, webhook endpoints), the
claims on hostnames and status-page slugs across tenants, the values themselves. The caller runs
this in one transaction: the first refusal undoes everything before it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.utils.dateparse import parse_datetime

from apps.core.actor import Actor
from apps.core.problems import ApplicationError, InvalidInput
from apps.deploy import selectors as deploy_selectors
from apps.deploy import services as deploy_services
from apps.monitoring import selectors as monitoring_selectors
from apps.monitoring import services as monitoring_services
from apps.webhooks import selectors as webhook_selectors
from apps.webhooks import services as webhook_services

from .document import SINGULAR
from .plan import APP_SIMPLE, Step


@contextlib.contextmanager
def _about(step: Step) -> Iterator[None]:
    """A refusal names the object it is about: `monitor 'Website': …`, field
    `monitors[Website].url`."""
    try:
        yield
    except ApplicationError as exc:
        prefix = f"{SINGULAR[step.section]} {step.key!r}: "
        if not exc.detail.startswith(prefix):
            exc.detail = prefix + exc.detail
            exc.args = (exc.detail,)
        if isinstance(exc, InvalidInput):
            for error in exc.errors:
                error["field"] = f"{step.section}[{step.key}].{error['field']}"
                error["message"] = prefix + error["message"]
        raise


def _ids(names: list[str] | None, known: dict[str, Any], what: str, field: str) -> list | None:
    if names is None:
        return None
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidInput(f"There is no {what} called {unknown[0]!r} here or in the document.",
                           field=field)  # fmt: skip
    return [known[name] for name in names]


def _channel_ids() -> dict[str, Any]:
    return dict(monitoring_selectors.alert_channels_list().values_list("name", "pk"))


def _monitor_ids() -> dict[str, Any]:
    monitors = monitoring_selectors.monitors_list().filter(app_id__isnull=True)
    return dict(monitors.values_list("name", "pk"))


def _channel(step: Step, who: dict, result: dict, deploy: bool) -> None:
    values = dict(step.values)
    if step.action == "create":
        monitoring_services.alert_channel_create(
            **who, name=values["name"], kind=values["kind"], config=values.get("config", {}),
            enabled=values.get("enabled", True),
        )  # fmt: skip
        return
    channel = monitoring_selectors.alert_channels_list().get(name=step.key)
    changes = {k: values[k] for k in ("enabled", "config") if k in values}
    monitoring_services.alert_channel_update(channel=channel, **who, **changes)


def _monitor(step: Step, who: dict, result: dict, deploy: bool) -> None:
    values = dict(step.values)
    kind = values.pop("kind")
    channel_ids = _ids(values.pop("channels", None), _channel_ids(), "alert channel", "channels")
    if step.action == "create":
        monitoring_services.monitor_create(
            **who, name=step.key, kind=kind, channel_ids=channel_ids, **values
        )
        return
    monitor = monitoring_selectors.monitors_list().filter(app_id__isnull=True).get(name=step.key)
    monitoring_services.monitor_update(monitor=monitor, **who, channel_ids=channel_ids, **values)


def _times(values: dict[str, Any]) -> None:
    for name in ("starts_at", "ends_at"):
        if name in values:
            try:
                parsed = parse_datetime(str(values[name]))
            except ValueError:  # well formed, but no such date (2026-13-45)
                parsed = None
            if parsed is None or parsed.tzinfo is None:
                raise InvalidInput(
                    "An ISO 8601 date and time with its zone is required.", field=name
                )
            values[name] = parsed


def _window(step: Step, who: dict, result: dict, deploy: bool) -> None:
    values = dict(step.values)
    _times(values)
    ids = _ids(values.pop("monitors", None), _monitor_ids(), "monitor", "monitors")
    if step.action == "create":
        monitoring_services.maintenance_window_create(
            **who, name=step.key, starts_at=values["starts_at"], ends_at=values["ends_at"],
            monitor_ids=ids,
        )  # fmt: skip
        return
    window = monitoring_selectors.maintenance_windows_list().get(name=step.key)
    monitoring_services.maintenance_window_update(window=window, **who, monitor_ids=ids, **values)


def _page(step: Step, who: dict, result: dict, deploy: bool) -> None:
    values = dict(step.values)
    ids = _ids(values.pop("monitors", None), _monitor_ids(), "monitor", "monitors")
    if ids is not None:
        values["monitor_ids"] = ids
    if step.action == "create":
        monitoring_services.status_page_create(**who, slug=step.key, **values)
        return
    page = monitoring_selectors.status_pages_list().get(slug=step.key)
    monitoring_services.status_page_update(page=page, **who, **values)


def _app(step: Step, who: dict, result: dict, deploy: bool) -> None:
    values = step.values
    if step.action == "create":
        app, _webhook_secret = deploy_services.app_create(
            **who, name=step.key, git_url=values.get("git_url", ""),
            **{name: values[name] for name in APP_SIMPLE},
        )  # fmt: skip
    else:
        app = deploy_selectors.apps_list().get(name=step.key)
        changes = {k: values[k] for k in (*APP_SIMPLE, "git_url") if k in values}
        if changes:
            app = deploy_services.app_update(app=app, **who, **changes)
    if "formation" in values:
        deploy_services.formation_set(app=app, **who, formation=values["formation"])
    if values.get("env"):
        deploy_services.env_vars_update(app=app, **who, changes=dict(values["env"]), restart=False)
    for hostname in values.get("domains_add", []):
        deploy_services.domain_add(app=app, **who, hostname=hostname)
    if deploy:
        if app.source_kind == "git" and not app.git_url_encrypted:
            result["warnings"].append(f"app {step.key!r}: not deployed, it has no git URL yet.")
            return
        deployment = deploy_services.deployment_create(app=app, **who, source="import")
        result["deployments"].append({"app": step.key, "deployment_id": str(deployment.pk)})


def _endpoint(step: Step, who: dict, result: dict, deploy: bool) -> None:
    values = dict(step.values)
    if step.action == "create":
        _endpoint_made, secret = webhook_services.webhook_endpoint_create(
            **who, url=step.key, **values
        )
        result["webhook_secrets"][step.key] = secret  # shown once, in this answer
        return
    endpoint = webhook_selectors.webhook_endpoints_list().get(url=step.key)
    webhook_services.webhook_endpoint_update(endpoint=endpoint, **who, **values)


APPLY = {
    "alert_channels": _channel,
    "monitors": _monitor,
    "maintenance_windows": _window,
    "status_pages": _page,
    "apps": _app,
    "webhook_endpoints": _endpoint,
}


def plan_apply(steps: list[Step], *, tenant, actor: Actor, deploy: bool) -> dict[str, Any]:
    """Every step that creates or updates, in order. Returns the new webhook endpoints'
    signing secrets (shown this once), the deployments started (`deploy`), and warnings."""
    who = {"tenant": tenant, "actor": actor}
    result: dict[str, Any] = {"webhook_secrets": {}, "deployments": [], "warnings": []}
    for step in steps:
        if step.action == "unchanged":
            continue
        with _about(step):
            APPLY[step.section](step, who, result, deploy)
    return result
