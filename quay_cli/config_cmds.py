"""`quay export` and `quay import`: a tenant's configuration as one JSON document
(GET/POST /api/v1/export, POST /api/v1/import; docs/export-import.md)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from .api import QuayError, problem_message
from .output import print_json, print_table

PASSPHRASE_ENV = "QUAY_EXPORT_PASSPHRASE"  # noqa: S105 (the variable's name)


def _passphrase(given: bool, *, confirm: bool) -> str | None:
    if not given:
        return None
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    return click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)


@click.command("export")
@click.option("--values", "with_values", is_flag=True,
              help=f"Include env var values and other secrets, sealed to a passphrase "
                   f"(asked for, or {PASSPHRASE_ENV}).")  # fmt: skip
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file.")
@click.pass_obj
def export_cmd(obj, with_values: bool, output: str | None) -> None:
    """The tenant's configuration as JSON (stdout, or --output)."""
    api = obj.api
    api.require_tenant()
    if with_values:
        passphrase = _passphrase(True, confirm=True)
        document = api.post("/api/v1/export", {"include_values": True, "passphrase": passphrase})
    else:
        document = api.get("/api/v1/export")
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if output:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        click.echo(f"Wrote {output}.", err=True)
    else:
        sys.stdout.write(text)


@click.command("import")
@click.argument("path", type=click.File("r"))
@click.option("--dry-run", is_flag=True, help="Show the plan; change nothing.")
@click.option("--deploy", is_flag=True, help="Deploy the apps the import creates or changes.")
@click.option("--passphrase", "ask_passphrase", is_flag=True,
              help=f"The document has sealed values: ask for the passphrase "
                   f"(or {PASSPHRASE_ENV}).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_obj
def import_cmd(obj, path, dry_run: bool, deploy: bool, ask_passphrase: bool,
               as_json: bool) -> None:  # fmt: skip
    """Apply a configuration document (PATH, or - for stdin) to the tenant."""
    api = obj.api
    api.require_tenant()
    try:
        document = json.load(path)
    except ValueError as exc:
        raise QuayError(f"{path.name} is not JSON: {exc}", exit_code=2) from None
    body: dict[str, Any] = {"document": document, "dry_run": dry_run, "deploy": deploy}
    passphrase = _passphrase(ask_passphrase, confirm=False)
    if passphrase:
        body["passphrase"] = passphrase
    response = api.request("POST", "/api/v1/import", json=body)
    if not response.is_success:
        raise problem_message(response)
    answer = response.json()
    if as_json:
        print_json(answer)
        return
    rows = [(step.get("section"), step.get("key"), step.get("action"),
             ", ".join(step.get("fields") or [])) for step in answer.get("plan", [])
            if step.get("action") != "unchanged"]  # fmt: skip
    if rows:
        print_table(rows, ["section", "name", "action", "fields"])
    summary = answer.get("summary") or {}
    counts = ", ".join(f"{summary.get(k, 0)} to {k}" for k in ("create", "update"))
    if not answer.get("valid", True):
        problem = answer.get("problem") or {}
        raise QuayError(
            f"The import would fail: {problem.get('detail') or problem.get('title')}", exit_code=1
        )
    verb = "Would apply" if answer.get("dry_run") else "Applied"
    click.echo(f"{verb}: {counts}, {summary.get('unchanged', 0)} unchanged.")
