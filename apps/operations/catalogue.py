"""The built-in operations: every write of the REST API that a tenant's people, keys or
operators make, and the reads agents need (apps, deployments, logs, monitors, incidents, audit).

Endpoint-backed: the schema, role and description come from the endpoint (registry.py). The risk
is ours: low (easily undone), medium (changes what runs or what is watched), high (stops
something, exposes or rotates a secret, removes access), critical (deletes or suspends a whole
app or tenant). High and critical ask for a confirmation first. Endpoints that are no operation
are listed with their reason in coverage.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .dispatch import call_endpoint
from .registry import register_operation

_ENV_VARS = ("app-env-vars", "PATCH")

# name, (url name, method), risk, effect (for confirmations), input names of path parameters
_WRITES: list[tuple[str, tuple[str, str], str, str, dict[str, str]]] = [
    # Members and access
    ("member.invite", ("invitation-list", "POST"), "medium", "Invite {email} as {role}.", {}),
    ("invitation.revoke", ("invitation-detail", "DELETE"), "low", "", {"pk": "invitation_id"}),
    ("invitation.resend", ("invitation-resend", "POST"), "low", "", {"pk": "invitation_id"}),
    (
        "member.update",
        ("member-detail", "PATCH"),
        "high",
        "Change member {member_id}'s role to {role}.",
        {"pk": "member_id"},
    ),
    (
        "member.remove",
        ("member-detail", "DELETE"),
        "high",
        "Remove member {member_id} from this tenant: they lose all access to it.",
        {"pk": "member_id"},
    ),
    (
        "api_key.create",
        ("api-key-list", "POST"),
        "high",
        "Create the API key {name!r} with {authority} authority.",
        {},
    ),
    (
        "api_key.revoke",
        ("api-key-revoke", "POST"),
        "high",
        "Revoke API key {api_key_id} at once: whatever uses it stops working.",
        {"pk": "api_key_id"},
    ),
    # Apps
    ("app.create", ("app-list", "POST"), "low", "", {}),
    ("app.update", ("app-detail", "PATCH"), "medium", "", {"pk": "app_id"}),
    (
        "app.delete",
        ("app-detail", "DELETE"),
        "critical",
        "Delete app {app_id}: its processes stop, its domains stop answering, and its releases, "
        "deployments and env vars are gone.",
        {"pk": "app_id"},
    ),
    ("app.deploy", ("app-deploy", "POST"), "medium", "", {"pk": "app_id"}),
    ("app.restart", ("app-restart", "POST"), "medium", "", {"pk": "app_id"}),
    ("app.scale", ("app-scale", "POST"), "medium", "", {"pk": "app_id"}),
    ("app.start", ("app-start", "POST"), "low", "", {"pk": "app_id"}),
    (
        "app.stop",
        ("app-stop", "POST"),
        "high",
        "Stop every process of app {app_id}: it stops serving until it is started again.",
        {"pk": "app_id"},
    ),
    (
        "app.webhook_secret.rotate",
        ("app-webhook-secret", "POST"),
        "high",
        "Make a new git webhook secret for app {app_id}: pushes signed with the old one are "
        "refused until the git host has the new one.",
        {"pk": "app_id"},
    ),
    (
        "app.env.reveal",
        ("app-env-var-reveal", "POST"),
        "high",
        "Show the value of env var {key} of app {app_id} (the reveal is audited).",
        {"app_pk": "app_id"},
    ),
    (
        "deployment.cancel",
        ("app-deployment-cancel", "POST"),
        "medium",
        "",
        {"pk": "deployment_id"},
    ),
    (
        "app.rollback",
        ("app-release-rollback", "POST"),
        "high",
        "Roll app {app_id} back to release {release_id}: a new release with that build and "
        "config is made and deployed in place of the current one.",
        {"pk": "release_id"},
    ),
    ("app.domain.add", ("app-domain-list", "POST"), "low", "", {}),
    (
        "app.domain.remove",
        ("app-domain-detail", "DELETE"),
        "high",
        "Remove domain {domain_id} from app {app_id}: it stops answering on that host.",
        {"pk": "domain_id"},
    ),
    ("app.domain.verify", ("app-domain-verify", "POST"), "low", "", {"pk": "domain_id"}),
    # Billing
    (
        "billing.change_plan",
        ("billing-checkout", "POST"),
        "high",
        "Buy plan {plan} ({interval}ly) or credit bundle {bundle}: a paid one is charged.",
        {},
    ),
    ("billing.update", ("billing", "PATCH"), "medium", "", {}),
    ("billing.portal", ("billing-portal", "POST"), "low", "", {}),
    (
        "billing.cancel",
        ("billing-cancel", "POST"),
        "high",
        "Cancel the subscription at the end of its period: then the tenant falls back to the "
        "free plan and its limits.",
        {},
    ),
    ("billing.resume", ("billing-resume", "POST"), "low", "", {}),
    ("billing.record_usage", ("billing-credit-usage", "POST"), "medium", "", {}),
    # Monitoring
    ("monitor.create", ("monitor-list", "POST"), "low", "", {}),
    ("monitor.update", ("monitor-detail", "PATCH"), "low", "", {"pk": "monitor_id"}),
    (
        "monitor.delete",
        ("monitor-detail", "DELETE"),
        "high",
        "Delete monitor {monitor_id} with its results and incidents.",
        {"pk": "monitor_id"},
    ),
    ("monitor.pause", ("monitor-pause", "POST"), "medium", "", {"pk": "monitor_id"}),
    ("monitor.resume", ("monitor-resume", "POST"), "low", "", {"pk": "monitor_id"}),
    ("alert_channel.create", ("alert-channel-list", "POST"), "low", "", {}),
    ("alert_channel.update", ("alert-channel-detail", "PATCH"), "low", "", {"pk": "channel_id"}),
    (
        "alert_channel.delete",
        ("alert-channel-detail", "DELETE"),
        "high",
        "Delete alert channel {channel_id}: nobody is told through it any more.",
        {"pk": "channel_id"},
    ),
    ("alert_channel.test", ("alert-channel-test", "POST"), "low", "", {"pk": "channel_id"}),
    ("maintenance_window.create", ("maintenance-window-list", "POST"), "medium", "", {}),
    (
        "maintenance_window.update",
        ("maintenance-window-detail", "PATCH"),
        "medium",
        "",
        {"pk": "window_id"},
    ),
    (
        "maintenance_window.delete",
        ("maintenance-window-detail", "DELETE"),
        "low",
        "",
        {"pk": "window_id"},
    ),
    ("silence.create", ("silence-list", "POST"), "medium", "", {}),
    ("silence.delete", ("silence-detail", "DELETE"), "low", "", {"pk": "silence_id"}),
    ("status_page.create", ("status-page-list", "POST"), "low", "", {}),
    ("status_page.update", ("status-page-detail", "PATCH"), "low", "", {"pk": "status_page_id"}),
    (
        "status_page.delete",
        ("status-page-detail", "DELETE"),
        "high",
        "Delete status page {status_page_id}: its public address stops answering.",
        {"pk": "status_page_id"},
    ),
    # Outgoing webhooks
    ("webhook_endpoint.create", ("webhook-endpoint-list", "POST"), "low", "", {}),
    (
        "webhook_endpoint.update",
        ("webhook-endpoint-detail", "PATCH"),
        "low",
        "",
        {"pk": "endpoint_id"},
    ),
    (
        "webhook_endpoint.delete",
        ("webhook-endpoint-detail", "DELETE"),
        "high",
        "Delete webhook endpoint {endpoint_id}: events are no longer sent to it.",
        {"pk": "endpoint_id"},
    ),
    (
        "webhook_endpoint.enable",
        ("webhook-endpoint-enable", "POST"),
        "low",
        "",
        {"pk": "endpoint_id"},
    ),
    (
        "webhook_endpoint.replay",
        ("webhook-endpoint-replay", "POST"),
        "medium",
        "",
        {"pk": "endpoint_id"},
    ),
    (
        "webhook_endpoint.replay_message",
        ("webhook-endpoint-replay-message", "POST"),
        "low",
        "",
        {"pk": "endpoint_id"},
    ),
    (
        "webhook_endpoint.rotate_secret",
        ("webhook-endpoint-rotate-secret", "POST"),
        "high",
        "Make a new signing secret for webhook endpoint {endpoint_id}: the receiver must be "
        "given it to verify what follows.",
        {"pk": "endpoint_id"},
    ),
    ("webhook_endpoint.test", ("webhook-endpoint-test", "POST"), "low", "", {"pk": "endpoint_id"}),
    ("incident.acknowledge", ("incident-acknowledge", "POST"), "low", "", {"pk": "incident_id"}),
    (
        "incident.resolve",
        ("incident-resolve", "POST"),
        "medium",
        "",
        {"pk": "incident_id"},
    ),
    # Add-ons (apps/addons)
    ("addon.create", ("app-addon-list", "POST"), "medium", "", {}),
    ("addon.attach", ("app-addon-attach", "POST"), "medium", "", {"pk": "addon_id"}),
    (
        "addon.detach",
        ("app-addon-detach", "POST"),
        "high",
        "Unset add-on {addon_id}'s env var on app {app_id} (a deployment): the app stops "
        "reaching it; the data stays.",
        {"pk": "addon_id"},
    ),
    (
        "addon.reveal",
        ("app-addon-reveal", "POST"),
        "high",
        "Show the connection URL (with its password) of add-on {addon_id} (audited).",
        {"pk": "addon_id"},
    ),
    (
        "addon.rotate",
        ("app-addon-rotate", "POST"),
        "high",
        "Give add-on {addon_id} new credentials: app {app_id} is deployed with them and the old "
        "ones stop working.",
        {"pk": "addon_id"},
    ),
    (
        "addon.session.create",
        ("app-addon-sessions", "POST"),
        "high",
        "Make short-lived credentials for a session (psql) on add-on {addon_id}'s data.",
        {"pk": "addon_id"},
    ),
    ("addon.backup", ("app-addon-backup-list", "POST"), "low", "", {"addon_pk": "addon_id"}),
    (
        "addon.restore",
        ("app-addon-backup-restore", "POST"),
        "high",
        "Restore backup {backup_id} of add-on {addon_id}: into the add-on itself (its data is "
        "replaced and app {app_id} is stopped meanwhile) or, with into_new, into a new add-on.",
        {"pk": "backup_id", "addon_pk": "addon_id"},
    ),
    # The tenant's configuration as one document (apps/operations/portability)
    ("config.export", ("config-export", "POST"), "medium", "", {}),
    (
        "config.import",
        ("config-import", "POST"),
        "high",
        "Import a configuration document (dry_run={dry_run}): creates and updates apps, "
        "domains, monitors, channels, status pages and webhook endpoints to match it.",
        {},
    ),
    # Operators (is_staff; on the root host, without X-Tenant-ID)
    (
        "tenant.suspend",
        ("admin-tenant-suspend", "POST"),
        "critical",
        "Suspend tenant {tenant_id}: its apps stop and it can be read but not changed.",
        {"pk": "tenant_id"},
    ),
    ("tenant.resume", ("admin-tenant-resume", "POST"), "medium", "", {"pk": "tenant_id"}),
    (
        "tenant.override_limits",
        ("admin-tenant-entitlement-overrides", "PATCH"),
        "high",
        "Override the plan limits of tenant {tenant_id}.",
        {"pk": "tenant_id"},
    ),
    (
        "config_variable.update",
        ("admin-config-variable-detail", "PATCH"),
        "high",
        "Change the platform config variable {name} for every tenant.",
        {},
    ),
]

# Reads for agents (MCP tools, /execute): never audited, never confirmed.
_READS: list[tuple[str, tuple[str, str], dict[str, str]]] = [
    ("app.list", ("app-list", "GET"), {}),
    ("app.get", ("app-detail", "GET"), {"pk": "app_id"}),
    ("app.status", ("app-status", "GET"), {"pk": "app_id"}),
    ("app.env.list", ("app-env-vars", "GET"), {}),
    ("deployment.list", ("app-deployment-list", "GET"), {}),
    ("deployment.get", ("app-deployment-detail", "GET"), {"pk": "deployment_id"}),
    ("deployment.logs", ("app-deployment-logs", "GET"), {"pk": "deployment_id"}),
    ("release.list", ("app-release-list", "GET"), {}),
    ("monitor.list", ("monitor-list", "GET"), {}),
    ("monitor.get", ("monitor-detail", "GET"), {"pk": "monitor_id"}),
    ("incident.list", ("incident-list", "GET"), {}),
    ("incident.get", ("incident-detail", "GET"), {"pk": "incident_id"}),
    ("audit_event.list", ("audit-event-list", "GET"), {}),
]

_APP_ID = {"type": "string", "format": "uuid", "description": "The app's id."}
_RESTART = {"type": "boolean", "default": True, "description": "Deploy the new release at once."}
_ENV_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": 255}


def _env_handler(name: str, to_vars):
    def handler(caller, data: dict[str, Any]):
        from .registry import get

        spec = get("app.env.set").spec
        body = {
            "app_id": data["app_id"],
            "vars": to_vars(data),
            "restart": data.get("restart", True),
        }
        return call_endpoint(caller, spec, body, operation=name)

    return handler


def _addon_delete(caller, data: dict[str, Any]):
    # The OpenAPI document has no bodies on DELETE; this endpoint reads `confirm` from one.
    from .registry import get

    spec = replace(get("addon.delete").spec, body_fields=("confirm",))
    return call_endpoint(caller, spec, data, operation="addon.delete")


def _provision_database(caller, data: dict[str, Any]):
    """MCTL's `provision-database`: a PostgreSQL add-on for an app (addon.create, kind fixed)."""
    from .registry import get

    body = {**data, "kind": "postgres"}
    return call_endpoint(caller, get("addon.create").spec, body, operation="provision-database")


def register_builtin() -> None:
    for name, endpoint, risk, effect, path_names in _WRITES:
        register_operation(name, endpoint=endpoint, risk=risk, effect=effect, path_names=path_names)
    for name, endpoint, path_names in _READS:
        register_operation(
            name, endpoint=endpoint, risk="low", read_only=True, path_names=path_names
        )
    # One REST endpoint (PATCH env-vars) sets and unsets; agents get one operation each. A key
    # calling the REST endpoint itself needs both in its allow-list.
    register_operation(
        "app.env.set",
        endpoint=_ENV_VARS,
        risk="medium",
        description="Set env vars of an app (a new release; deployed unless restart is false).",
        input_schema={
            "type": "object",
            "properties": {
                "app_id": _APP_ID,
                "vars": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": _ENV_NAME,
                    "additionalProperties": {"type": "string"},
                    "description": "Name → value.",
                },
                "restart": _RESTART,
            },
            "required": ["app_id", "vars"],
            "additionalProperties": False,
        },
        handler=_env_handler("app.env.set", lambda data: data["vars"]),
    )
    register_operation(
        "app.env.unset",
        endpoint=_ENV_VARS,
        risk="medium",
        description="Remove env vars from an app (a new release; deployed unless restart is "
        "false).",
        input_schema={
            "type": "object",
            "properties": {
                "app_id": _APP_ID,
                "names": {"type": "array", "items": _ENV_NAME, "minItems": 1},
                "restart": _RESTART,
            },
            "required": ["app_id", "names"],
            "additionalProperties": False,
        },
        handler=_env_handler("app.env.unset", lambda data: dict.fromkeys(data["names"])),
    )
    register_operation(
        "provision-database",
        endpoint=("app-addon-list", "POST"),
        risk="medium",
        description="Give an app a PostgreSQL database of its own (a PostgreSQL add-on): its "
        "URL is set as the app's env var (DATABASE_URL unless named) and the app is deployed.",
        input_schema={
            "type": "object",
            "properties": {
                "app_id": _APP_ID,
                "name": {"type": "string", "maxLength": 63, "description": "Default: postgres."},
                "env_var": {
                    "type": "string",
                    "maxLength": 255,
                    "description": "Default: DATABASE_URL.",
                },
            },
            "required": ["app_id"],
            "additionalProperties": False,
        },
        handler=_provision_database,
        effect="Create a PostgreSQL database for app {app_id} and deploy the app with its URL.",
        alias=True,  # POST …/addons is addon.create; this is its PostgreSQL case by MCTL's name
    )
    register_operation(
        "addon.delete",
        endpoint=("app-addon-detail", "DELETE"),
        risk="critical",
        description="Detach and delete an add-on and its data; `confirm` is its name.",
        input_schema={
            "type": "object",
            "properties": {
                "app_id": _APP_ID,
                "addon_id": {"type": "string", "format": "uuid", "description": "The add-on."},
                "confirm": {"type": "string", "description": "The add-on's name."},
            },
            "required": ["app_id", "addon_id", "confirm"],
            "additionalProperties": False,
        },
        handler=_addon_delete,
        path_names={"pk": "addon_id"},
        effect="Detach add-on {addon_id} ({confirm}) from app {app_id} and delete it with all "
        "its data.",
    )
