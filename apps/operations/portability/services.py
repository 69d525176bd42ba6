"""Export and import of a tenant's configuration (docs/export-import.md). Both run in the
schema of the tenant the request is routed to, and read and write only through the domain
apps' selectors and services."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.core.actor import Actor
from apps.core.audit import audit_as
from apps.core.problems import ApplicationError, problem_type

from .apply import plan_apply
from .document import document_build
from .parse import document_parse
from .plan import plan_build, plan_summary
from .sealing import passphrase_check, unseal


class _DryRunDone(Exception):
    """Raised at the end of a dry run's trial, to roll it back."""


def config_export(
    *, tenant, actor: Actor, include_values: bool = False, passphrase: str | None = None
) -> dict[str, Any]:
    """The configuration document. With `include_values`, its secrets are sealed to
    `passphrase` (an audited act, as revealing an env var is)."""
    if include_values:
        passphrase_check(passphrase)
    document = document_build(include_values=include_values, passphrase=passphrase)
    if include_values:
        with transaction.atomic():
            audit_as(actor, "config.exported", tenant=tenant, include_values=True)
    return document


def _problem(exc: ApplicationError) -> dict[str, Any]:
    body = {"type": problem_type(exc.slug), "status": exc.status, "detail": exc.detail}
    if getattr(exc, "errors", None):
        body["errors"] = exc.errors
    return body


def _trial(steps, *, tenant, actor: Actor) -> dict[str, Any] | None:
    """Apply the plan and roll it back: what a real import would refuse, found without
    changing anything (quotas, claims and values are checked by the very services)."""
    try:
        with transaction.atomic():
            plan_apply(steps, tenant=tenant, actor=actor, deploy=False)
            raise _DryRunDone
    except _DryRunDone:
        return None
    except ApplicationError as exc:
        return _problem(exc)


def config_import(
    *,
    tenant,
    actor: Actor,
    document: Any,
    passphrase: str | None = None,
    dry_run: bool = False,
    deploy: bool = False,
) -> dict[str, Any]:
    """The plan of `document` against this tenant and, unless `dry_run`, its application in
    one transaction (a refusal leaves nothing written; the ApplicationError goes out). A dry
    run answers the plan and the refusal a real import would meet (`problem`), changing
    nothing. Nothing deploys unless `deploy`: then each app created or changed starts one."""
    incoming = document_parse(document)
    sealed = document.get("secrets")
    secrets = unseal(sealed, passphrase) if sealed else {}
    steps = plan_build(incoming, document_build(), secrets)
    body: dict[str, Any] = {
        "dry_run": dry_run,
        "deploy": deploy,
        "summary": plan_summary(steps),
        "plan": [step.shown() for step in steps],
    }
    if dry_run:
        body["problem"] = _trial(steps, tenant=tenant, actor=actor)
        body["valid"] = body["problem"] is None
        return body
    with transaction.atomic():
        result = plan_apply(steps, tenant=tenant, actor=actor, deploy=deploy)
        audit_as(actor, "config.imported", tenant=tenant, deploy=deploy, **body["summary"])
    return {**body, "valid": True, "problem": None, **result}
