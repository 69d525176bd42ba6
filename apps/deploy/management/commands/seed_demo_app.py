"""The demo tenant's demo app for `make run`: a local git repository with a tiny WSGI app, the
app "hello" pointed at it, and a deployment queued (the worker runs it once the runtime is up).
Idempotent: a live app whose files are still there is left alone. Runs after seed_demo."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.deploy import selectors, services, tls
from apps.deploy.models import RUNNING_STATES, App, Deployment, DeploymentState
from apps.tenants.models import Tenant

DEMO_SLUG = "demo"
APP_NAME = "hello"
FILES = {
    "app.py": textwrap.dedent(
        '''
        """The Quayside demo app: a WSGI app that gunicorn serves on $QUAYSIDE_SOCKET."""
        import os
        import platform


        def app(environ, start_response):
            body = (
                "<!doctype html><title>hello from Quayside</title>"
                "<h1>Hello from Quayside</h1>"
                f"<p>Release {os.environ.get('QUAYSIDE_RELEASE', '?')} of "
                f"{os.environ.get('QUAYSIDE_APP', '?')}, served by gunicorn on "
                f"Python {platform.python_version()}.</p>"
                f"<p>{os.environ.get('GREETING', 'Set GREETING to change this line.')}</p>"
            )
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [body.encode()]
        '''
    ).lstrip(),
    "requirements.txt": "gunicorn>=23,<28\n",
    "Procfile": "web: gunicorn --bind unix:$QUAYSIDE_SOCKET --workers 2 app:app\n",
}


def git(repo: Path, *args: str) -> str:
    command = [shutil.which("git") or "git", "-c", "user.name=Quayside demo",
               "-c", "user.email=demo@quayside.localhost", *args]  # fmt: skip
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


class Command(BaseCommand):
    help = "Create the demo app's git repository and deploy it to the demo tenant (local use)."

    def add_arguments(self, parser):
        parser.add_argument("--repo", default=str(Path(settings.BASE_DIR) / ".local" / "demo-app"))

    def handle(self, *args, repo: str, **options):
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None:
            raise CommandError("No demo tenant: run `manage.py seed_demo` first.")
        repo_path = Path(repo).resolve()
        if not (repo_path / ".git").exists():
            repo_path.mkdir(parents=True, exist_ok=True)
            git(repo_path, "init", "-q", "-b", "main")
            for name, content in FILES.items():
                (repo_path / name).write_text(content)
            git(repo_path, "add", "-A")
            git(repo_path, "commit", "-q", "-m", "The Quayside demo app")
        with tenant_context(tenant):
            app = App.objects.filter(name=APP_NAME).first()
            actor = services.Actor.system("seed_demo_app")
            if app is None:
                app, _secret = services.app_create(
                    tenant=tenant, actor=actor, name=APP_NAME, git_url=str(repo_path)
                )
            elif services.git_url(app) != str(repo_path):
                app = services.app_update(
                    app=app, tenant=tenant, actor=actor, git_url=str(repo_path)
                )
            busy = Deployment.objects.filter(
                app=app, state__in=[DeploymentState.QUEUED, *RUNNING_STATES]
            ).exists()
            if not busy and not self._live_files_exist(app):
                deployment = services.deployment_create(app=app, tenant=tenant, actor=actor)
                self.stdout.write(f"Demo app: deployment {deployment.pk} queued.")
            hostname = selectors.app_hostname(app=app, tenant_slug=tenant.slug)
        self.stdout.write(self.style.SUCCESS(f"Demo app: {tls.app_url(hostname)}"))

    @staticmethod
    def _live_files_exist(app: App) -> bool:
        live = (
            Deployment.objects.select_related("release__build")
            .filter(pk=app.live_deployment_id)
            .first()
        )
        build = live.release.build if live and live.release else None
        return bool(build and build.source_dir and Path(build.source_dir).exists())
