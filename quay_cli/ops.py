"""`quay ops`: the operations registry (GET /api/v1/operations, POST
/api/v1/operations/{name}/execute). A high-risk operation first answers 409 with a problem whose
type ends in `confirmation-required`, carrying `confirmation_token` and `summary`: the summary is
shown, the person confirms (unless --yes), and the call is repeated with the token."""

from __future__ import annotations

import json
from typing import Any

import click

from .api import EXIT_ABORTED, QuayError, problem_message
from .output import print_json, print_table


def parse_input(raw: str | None, pairs: tuple[str, ...]) -> dict[str, Any]:
    """--input JSON, and/or k=v pairs whose values are JSON when they parse (2, true, null,
    [..]) and strings otherwise."""
    data: dict[str, Any] = {}
    if raw:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise click.BadParameter(f"--input is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise click.BadParameter("--input must be a JSON object")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE")
        try:
            data[key] = json.loads(value)
        except ValueError:
            data[key] = value
    return data


def _is_confirmation(problem: dict) -> bool:
    return str(problem.get("type", "")).rstrip("/").endswith("confirmation-required")


@click.group()
def ops() -> None:
    """Operations: every write the API can make, by name, with its risk level."""


@ops.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def ops_list(obj, as_json: bool) -> None:
    """The operations your role may run."""
    rows = list(obj.api.items("/api/v1/operations"))
    if as_json:
        print_json(rows)
        return
    print_table(
        [(o.get("name"), o.get("risk"), o.get("role") or o.get("required_role"),
          o.get("description", "").split("\n")[0][:70]) for o in rows],
        ["name", "risk", "role", "description"],
    )  # fmt: skip


@ops.command("run")
@click.argument("name")
@click.argument("pairs", nargs=-1, metavar="[KEY=VALUE]…")
@click.option("--input", "raw_input", metavar="JSON", help="The input as a JSON object.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before a high-risk operation.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def ops_run(obj, name: str, pairs: tuple[str, ...], raw_input: str | None, yes: bool,
            as_json: bool) -> None:  # fmt: skip
    """Run operation NAME with its input."""
    api = obj.api
    body: dict[str, Any] = {"input": parse_input(raw_input, pairs)}
    path = f"/api/v1/operations/{name}/execute"
    response = api.request("POST", path, json=body)
    if response.status_code == 409:
        problem = response.json() if response.content else {}
        if not _is_confirmation(problem):
            raise problem_message(response)
        click.echo(problem.get("summary") or problem.get("detail") or f"Run {name}?", err=True)
        if not yes and not click.confirm("Go ahead?", default=False, err=True):
            raise QuayError("Not confirmed: nothing was done.", exit_code=EXIT_ABORTED)
        body["confirmation_token"] = problem["confirmation_token"]
        response = api.request("POST", path, json=body)
    if not response.is_success:
        raise problem_message(response)
    result = response.json() if response.content else None
    if as_json:
        print_json(result)
    else:
        click.echo(f"{name}: done.")
        if result is not None:
            click.echo(json.dumps(result, indent=2, sort_keys=True))
