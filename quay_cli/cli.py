"""The `quay` commands. Each read takes --json; errors are one clear message and a non-zero
exit code (api.py lists them)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from . import __version__
from .addons_cmds import addons
from .api import EXIT_DEPLOY_FAILED, Api, QuayError
from .config import Credentials, base_url
from .config_cmds import export_cmd, import_cmd
from .follow import follow_deployment
from .login import device_login, revoke
from .ops import ops
from .output import parse_pairs, print_json, print_table

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


class Context:
    def __init__(self, tenant: str | None) -> None:
        self.tenant = tenant
        self._api: Api | None = None

    @property
    def api(self) -> Api:
        if self._api is None:
            self._api = Api(tenant=self.tenant)
        return self._api


pass_ctx = click.make_pass_decorator(Context)


class QuayGroup(click.Group):
    """Turns a QuayError anywhere below into its message on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QuayError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            # Following stops; what was started on the server (a deployment) goes on.
            click.echo("\nStopped following (anything started goes on on the server).", err=True)
            sys.exit(130)


@click.group(cls=QuayGroup)
@click.option(
    "--tenant",
    envvar="QUAY_TENANT",
    help="The tenant (slug or id) to act in; else QUAY_TENANT, else the one stored at login.",
)
@click.version_option(__version__, prog_name="quay")
@click.pass_context
def cli(ctx: click.Context, tenant: str | None) -> None:
    """Quayside from the command line. Sign in with `quay login` (or set QUAY_API_KEY); the
    server is QUAY_URL (default http://127.0.0.1:8000)."""
    ctx.obj = Context(tenant)


# --- signing in ------------------------------------------------------------------------------
@cli.command()
@click.option("--tenant", "default_tenant", help="Remember this tenant for later commands.")
@click.pass_obj
def login(obj: Context, default_tenant: str | None) -> None:
    """Sign in through the browser (OAuth 2.0 device login)."""
    url = base_url()

    def show(uri: str, code: str, complete: str) -> None:
        click.echo(f"Open {uri} in a browser and enter the code:\n\n    {code}\n")
        if complete:
            click.echo(f"(or open {complete})")
        click.echo("Waiting for approval…")

    creds = device_login(url, show=show)
    api = Api(credentials=creds)
    me = api.get("/api/v1/auth/me") or {}
    creds.email = me.get("email", "")
    tenants = [t["slug"] for t in me.get("tenants", [])]
    # The tenant to act in: the one named, else the only one the person belongs to.
    creds.tenant = default_tenant or obj.tenant or (tenants[0] if len(tenants) == 1 else "")
    path = creds.save()
    click.echo(f"Signed in as {creds.email or 'you'}. Credentials saved to {path} (mode 0600).")
    if creds.tenant:
        click.echo(f"Tenant: {creds.tenant} (another one: --tenant SLUG).")
    elif tenants:
        click.echo(f"Your tenants: {', '.join(tenants)}. Name one with --tenant SLUG.")


@cli.command()
def logout() -> None:
    """Revoke the stored login on the server and forget it here."""
    creds = Credentials.load()
    if creds is None:
        click.echo("Not signed in.")
        return
    if not revoke(creds):
        click.echo(f"Could not reach {creds.url} to revoke the tokens; forgetting them.", err=True)
    Credentials.forget()
    click.echo("Signed out.")


@cli.command()
@json_option
@pass_ctx
def whoami(obj: Context, as_json: bool) -> None:
    """Who the credential is."""
    me = obj.api.get("/api/v1/auth/me")
    if as_json:
        print_json(me)
    else:
        click.echo(me.get("email") or json.dumps(me))


# --- apps ------------------------------------------------------------------------------------
@cli.command("apps")
@json_option
@pass_ctx
def apps_list(obj: Context, as_json: bool) -> None:
    """The tenant's apps."""
    obj.api.require_tenant()
    rows = list(obj.api.items("/api/v1/apps"))
    if as_json:
        print_json(rows)
        return
    print_table(
        [(a["name"], a["status"], (a.get("current_release") or {}).get("version"), a.get("url"))
         for a in rows],
        ["name", "status", "release", "url"],
    )  # fmt: skip


def _deployment_done(obj: Context, deployment: dict, *, follow: bool, as_json: bool) -> None:
    if follow:
        deployment = follow_deployment(obj.api, deployment)
    if as_json:
        print_json(deployment)
    elif not follow:
        click.echo(
            f"Deployment {deployment['id']} ({deployment['kind']}) is {deployment['state']}. "
            "Follow it with --follow."
        )
    if follow:
        state = deployment["state"]
        if state != "live":
            reason = deployment.get("failure_reason") or ""
            step = deployment.get("failure_step") or ""
            raise QuayError(
                f"Deployment {state}" + (f" at {step}" if step else "")
                + (f": {reason}" if reason else "."),
                exit_code=EXIT_DEPLOY_FAILED,
            )  # fmt: skip
        if not as_json:
            release = (deployment.get("release") or {}).get("version")
            click.echo("Deployed: live" + (f" as v{release}." if release else "."))


@cli.command()
@click.argument("app")
@click.option("--branch", help="Deploy this branch (default: the app's branch).")
@click.option("--commit", help="Deploy this commit (or tag).")
@click.option("--follow", "-f", is_flag=True, help="Show progress and logs until it is over.")
@json_option
@pass_ctx
def deploy(obj: Context, app: str, branch: str | None, commit: str | None, follow: bool,
           as_json: bool) -> None:  # fmt: skip
    """Deploy APP from git."""
    if branch and commit:
        raise click.UsageError("Give --branch or --commit, not both.")
    target = obj.api.app(app)
    ref = commit or branch or ""
    deployment = obj.api.post(f"/api/v1/apps/{target['id']}/deploy", {"ref": ref})
    if not as_json:
        click.echo(f"Deploying {target['name']} ({deployment['ref'] or 'default branch'})…")
    _deployment_done(obj, deployment, follow=follow, as_json=as_json)


@cli.command()
@click.argument("app")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines.")
@click.option("--lines", "-n", default=100, show_default=True, help="How many recent lines.")
@click.option(
    "--deployment", "deployment_id", metavar="ID|latest",
    help="A deployment's build and release output instead of the processes' output.",
)  # fmt: skip
@json_option
@pass_ctx
def logs(obj: Context, app: str, follow: bool, lines: int, deployment_id: str | None,
         as_json: bool) -> None:  # fmt: skip
    """Output of APP's processes (or of one deployment)."""
    target = obj.api.app(app)
    if deployment_id:
        _deployment_logs(obj, target, deployment_id, follow=follow, as_json=as_json)
        return
    path = f"/api/v1/apps/{target['id']}/logs"
    seen = obj.api.get(path, params={"lines": lines})["lines"]
    if as_json and not follow:
        print_json(seen)
        return
    for line in seen:
        click.echo(json.dumps(line) if as_json else line)
    while follow:
        time.sleep(2)
        fresh = obj.api.get(path, params={"lines": lines})["lines"]
        for line in _new_lines(seen, fresh):
            click.echo(json.dumps(line) if as_json else line)
        seen = fresh


def _new_lines(old: list[str], new: list[str]) -> list[str]:
    """The lines of `new` after the longest overlap of old's end with new's start."""
    for size in range(min(len(old), len(new)), 0, -1):
        if old[-size:] == new[:size]:
            return new[size:]
    return new


def _deployment_logs(obj: Context, app: dict, deployment_id: str, *, follow: bool,
                     as_json: bool) -> None:  # fmt: skip
    base = f"/api/v1/apps/{app['id']}/deployments"
    if deployment_id == "latest":
        page = obj.api.get(base, params={"page_size": 1})
        rows = page.get("results", []) if isinstance(page, dict) else page
        if not rows:
            raise QuayError(f"{app['name']} has no deployments yet.", exit_code=4)
        deployment = rows[0]
    else:
        deployment = obj.api.get(f"{base}/{deployment_id}")
    if follow:
        _deployment_done(obj, deployment, follow=True, as_json=as_json)
        return
    lines = list(_log_pages(obj, f"{base}/{deployment['id']}/logs"))
    if as_json:
        print_json(lines)
        return
    for line in lines:
        click.echo(f"{line['stream']:>7} | {line['line']}")


def _log_pages(obj: Context, path: str):
    after = 0
    while True:
        page = obj.api.get(path, params={"after": after})
        yield from page["results"]
        if not page["results"]:
            return
        after = page["next_after"]


# --- env vars --------------------------------------------------------------------------------
@cli.group()
def env() -> None:
    """An app's environment variables (values are never listed)."""


@env.command("list")
@click.argument("app")
@json_option
@pass_ctx
def env_list(obj: Context, app: str, as_json: bool) -> None:
    """The names of APP's variables."""
    target = obj.api.app(app)
    rows = list(obj.api.items(f"/api/v1/apps/{target['id']}/env-vars"))
    if as_json:
        print_json(rows)
    else:
        print_table([(r["key"], r["updated_at"]) for r in rows], ["key", "updated"])


def _env_update(obj: Context, app: str, changes: dict, restart: bool, as_json: bool) -> None:
    target = obj.api.app(app)
    answer = obj.api.call(
        "PATCH", f"/api/v1/apps/{target['id']}/env-vars", json={"vars": changes, "restart": restart}
    )
    if as_json:
        print_json(answer)
        return
    release = answer["release"]
    click.echo(f"{release['description']}: release v{release['version']}.")
    if answer.get("deployment"):
        click.echo(f"Deploying it ({answer['deployment']['id']}).")


@env.command("set")
@click.argument("app")
@click.argument("pairs", nargs=-1, required=True, metavar="KEY=VALUE…")
@click.option("--no-restart", is_flag=True, help="Make the release but do not deploy it now.")
@json_option
@pass_ctx
def env_set(obj: Context, app: str, pairs: tuple[str, ...], no_restart: bool,
            as_json: bool) -> None:  # fmt: skip
    """Set variables of APP (a new release)."""
    _env_update(obj, app, parse_pairs(pairs, what="KEY"), not no_restart, as_json)


@env.command("unset")
@click.argument("app")
@click.argument("keys", nargs=-1, required=True, metavar="KEY…")
@click.option("--no-restart", is_flag=True, help="Make the release but do not deploy it now.")
@json_option
@pass_ctx
def env_unset(obj: Context, app: str, keys: tuple[str, ...], no_restart: bool,
              as_json: bool) -> None:  # fmt: skip
    """Remove variables of APP (a new release)."""
    _env_update(obj, app, dict.fromkeys(keys), not no_restart, as_json)


# --- scale, rollback -------------------------------------------------------------------------
@cli.command()
@click.argument("app")
@click.argument("counts", nargs=-1, required=True, metavar="TYPE=COUNT…")
@click.option("--follow", "-f", is_flag=True, help="Show progress until it is over.")
@json_option
@pass_ctx
def scale(obj: Context, app: str, counts: tuple[str, ...], follow: bool, as_json: bool) -> None:
    """Change how many processes of each type APP runs, e.g. `quay scale shop web=2`."""
    try:
        formation = {k: int(v) for k, v in parse_pairs(counts, what="TYPE").items()}
    except ValueError:
        raise click.BadParameter("counts are whole numbers, e.g. web=2") from None
    target = obj.api.app(app)
    deployment = obj.api.post(f"/api/v1/apps/{target['id']}/scale", {"formation": formation})
    _deployment_done(obj, deployment, follow=follow, as_json=as_json)


@cli.command()
@click.argument("app")
@click.argument("version", required=False, metavar="[vN]")
@click.option("--follow", "-f", is_flag=True, help="Show progress until it is over.")
@json_option
@pass_ctx
def rollback(obj: Context, app: str, version: str | None, follow: bool, as_json: bool) -> None:
    """Deploy an earlier release of APP again (default: the one before the current)."""
    target = obj.api.app(app)
    releases = list(obj.api.items(f"/api/v1/apps/{target['id']}/releases"))
    if version:
        try:
            wanted = int(version.lower().removeprefix("v"))
        except ValueError:
            raise click.BadParameter(f"{version!r} is not a release like v3") from None
        release = next((r for r in releases if r["version"] == wanted), None)
        if release is None:
            raise QuayError(f"{target['name']} has no release v{wanted}.", exit_code=4)
    else:
        current = next((r["version"] for r in releases if r.get("current")), None)
        older = [
            r for r in releases
            if r.get("build") and r.get("status") == "succeeded"
            and (current is None or r["version"] < current)
        ]  # fmt: skip
        if not older:
            raise QuayError(f"{target['name']} has no earlier release to roll back to.")
        release = max(older, key=lambda r: r["version"])
    deployment = obj.api.post(f"/api/v1/apps/{target['id']}/releases/{release['id']}/rollback")
    if not as_json:
        click.echo(f"Rolling {target['name']} back to v{release['version']}.")
    _deployment_done(obj, deployment, follow=follow, as_json=as_json)


# --- monitoring ------------------------------------------------------------------------------
@cli.command()
@json_option
@pass_ctx
def monitors(obj: Context, as_json: bool) -> None:
    """The tenant's monitors and their state."""
    obj.api.require_tenant()
    rows = list(obj.api.items("/api/v1/monitors"))
    if as_json:
        print_json(rows)
        return
    print_table(
        [(m["name"], m["kind"], _state(m.get("state")), m["interval_s"], m["id"]) for m in rows],
        ["name", "kind", "state", "every s", "id"],
    )


def _state(state: Any) -> str:
    if isinstance(state, dict):
        return str(state.get("status") or state.get("state") or "")
    return str(state or "")


@cli.group()
def incidents() -> None:
    """Incidents of the tenant's monitors."""


@incidents.command("list")
@click.option("--status", help="open or resolved")
@json_option
@pass_ctx
def incidents_list(obj: Context, status: str | None, as_json: bool) -> None:
    """Incidents, newest first."""
    obj.api.require_tenant()
    rows = list(obj.api.items("/api/v1/incidents", params={"status": status} if status else None))
    if as_json:
        print_json(rows)
        return
    print_table(
        [(i["id"], (i.get("monitor") or {}).get("name"), i["status"], i["started_at"], i["cause"])
         for i in rows],
        ["id", "monitor", "status", "started", "cause"],
    )  # fmt: skip


@incidents.command("ack")
@click.argument("incident_id")
@json_option
@pass_ctx
def incidents_ack(obj: Context, incident_id: str, as_json: bool) -> None:
    """Acknowledge an incident (POST /api/v1/incidents/ID/acknowledge)."""
    obj.api.require_tenant()
    answer = obj.api.post(f"/api/v1/incidents/{incident_id}/acknowledge")
    if as_json:
        print_json(answer)
    else:
        click.echo(f"Incident {incident_id} acknowledged.")


cli.add_command(ops)
cli.add_command(addons)
cli.add_command(export_cmd)
cli.add_command(import_cmd)


def main() -> None:
    cli(prog_name="quay")
