"""The local runtime's own files, for `make run` (scripts/run.sh) and operators.

    manage.py deploy_runtime render    write supervisord.conf and caddy.json (routes from the
                                       database); prints the supervisord.conf path
    manage.py deploy_runtime reconcile one reconciler pass (what the deploy.reconcile beat task
                                       does), printed

Start the runtime with `supervisord -n -c <printed path>`: it runs Caddy and every app."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from apps.deploy import checks, reconcile, selectors
from apps.deploy.runtime import RuntimeProblem
from apps.deploy.runtime.local import LocalProvider


class Command(BaseCommand):
    help = "Render the local runtime's config files, or run one reconciler pass."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["render", "reconcile"])

    def handle(self, *args, action: str, **options):
        if action == "render":
            # The runtime starts from what this writes: refuse, or warn, as the worker does.
            try:
                warnings = checks.startup_guard("deploy_runtime", log=False)
            except checks.SandboxUnavailable as exc:
                raise CommandError(str(exc)) from exc
            for warning in warnings:
                self.stderr.write(f"Warning: {warning}")
            try:
                path = LocalProvider().render_files(selectors.routes_desired())
            except RuntimeProblem as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(str(path))
        else:
            self.stdout.write(json.dumps(reconcile.reconcile_all(), indent=2, default=str))
