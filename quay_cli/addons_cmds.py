"""`quay addons`: an app's PostgreSQL and Redis add-ons (/api/v1/apps/{id}/addons;
docs/addons.md), and `quay addons psql` for a one-off session with short-lived credentials."""

from __future__ import annotations

import os
import shutil
from urllib.parse import parse_qs, urlsplit

import click

from .api import QuayError
from .output import print_json, print_table


def _addon(api, app: dict, name: str | None, kind: str | None = None) -> dict:
    """The app's add-on called `name`, or its only one (of `kind`)."""
    rows = [a for a in api.items(f"/api/v1/apps/{app['id']}/addons")
            if kind is None or a.get("kind") == kind]  # fmt: skip
    if name:
        for addon in rows:
            if name in (addon.get("name"), addon.get("id")):
                return addon
        raise QuayError(f"No add-on {name!r} on {app['name']}.", exit_code=4)
    if len(rows) != 1:
        what = f"{kind} add-on" if kind else "add-on"
        raise QuayError(
            f"{app['name']} has {len(rows)} {what}s: name one." if rows
            else f"{app['name']} has no {what}.",
            exit_code=4 if not rows else 2,
        )  # fmt: skip
    return rows[0]


@click.group("addons")
def addons() -> None:
    """An app's databases: PostgreSQL and Redis add-ons."""


@addons.command("list")
@click.argument("app")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def addons_list(obj, app: str, as_json: bool) -> None:
    """APP's add-ons."""
    found = obj.api.app(app)
    rows = list(obj.api.items(f"/api/v1/apps/{found['id']}/addons"))
    if as_json:
        print_json(rows)
        return
    print_table(
        [(a.get("name"), a.get("kind"), a.get("status"), a.get("env_var"),
          a.get("size_used_bytes"), a.get("size_mb")) for a in rows],
        ["name", "kind", "status", "env var", "bytes used", "limit MB"],
    )  # fmt: skip


@addons.command("create")
@click.argument("app")
@click.option("--kind", type=click.Choice(["postgres", "redis"]), required=True)
@click.option("--name", help="The add-on's name (default: its kind).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def addons_create(obj, app: str, kind: str, name: str | None, as_json: bool) -> None:
    """Add a PostgreSQL or Redis add-on to APP (its URL goes into the app's environment)."""
    found = obj.api.app(app)
    body = {"kind": kind, **({"name": name} if name else {})}
    addon = obj.api.post(f"/api/v1/apps/{found['id']}/addons", body)
    if as_json:
        print_json(addon)
    else:
        click.echo(f"{addon.get('name')} ({kind}) is {addon.get('status')}.")


@addons.command("psql")
@click.argument("app")
@click.argument("addon", required=False)
@click.option("--minutes", default=60, show_default=True, help="How long the credentials live.")
@click.option("--print", "print_only", is_flag=True, help="Print the credentials; run nothing.")
@click.pass_obj
def addons_psql(obj, app: str, addon: str | None, minutes: int, print_only: bool) -> None:
    """A psql session on APP's PostgreSQL add-on, with credentials that expire.

    The add-on listens on a unix socket on the runtime's host (or on an operator's server):
    psql runs here when that socket (or server) is reachable from here; otherwise the
    credentials are printed, to use where it is."""
    api = obj.api
    found = api.app(app)
    chosen = _addon(api, found, addon, kind="postgres")
    session = api.post(f"/api/v1/apps/{found['id']}/addons/{chosen['id']}/sessions",
                       {"minutes": minutes})  # fmt: skip
    url = session["url"]
    click.echo(
        f"PostgreSQL {session.get('server_version')}, user {session.get('user')}, "
        f"valid until {session.get('expires_at')}.",
        err=True,
    )
    parts = urlsplit(url)
    socket_dir = (parse_qs(parts.query).get("host") or [""])[0]
    reachable = bool(parts.hostname) or (socket_dir and os.path.isdir(socket_dir))
    psql = shutil.which("psql")
    if print_only or not psql or not reachable:
        if not print_only:
            why = (
                "psql is not installed here"
                if not psql
                else (f"its socket ({socket_dir}) is on the runtime's host, not here")
            )
            click.echo(f"Not starting psql: {why}. The session's URL:", err=True)
        click.echo(url)
        return
    os.execv(psql, [psql, url])  # noqa: S606 (the person's own psql, their own credentials)
