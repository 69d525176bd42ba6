"""The deploy pipeline's first two steps, fetching and building (a mixin of pipeline.Runner).

Fetching takes the app's source (a git commit, or a prebuilt image that then needs no build);
building turns it into an artefact through the runtime provider, recording the Build row's
outcome and duration either way. Both run on the Runner's state (`self.d`, `self.app`,
`self.provider`, log sinks and heartbeat)."""

from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING

from django.conf import settings

from . import selectors, services
from .image_source import image_build, refuse_images_unless_run
from .models import Build, BuildKind, BuildStatus, LogStream, SourceKind
from .runtime.base import BuildSource
from .runtime.git import GitSource, fetch

if TYPE_CHECKING:
    from .pipeline import Runner


class StepFailed(Exception):
    """A step failed for a reason the tenant should read (it goes to the deployment's log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BuildSteps:
    def step_fetching(self: Runner) -> None:
        refuse_images_unless_run(self.provider, self.app.source_kind)
        self.provider.ensure_ready(wait_s=15)
        self.provider.prepare_app(self.app_key, selectors.resource_limits(tenant=self.tenant))
        if self.app.source_kind == SourceKind.IMAGE:
            self.d.build = image_build(
                self.app, self.d.ref, log=self.sink(LogStream.BUILD), secrets=self.add_secrets
            )
            self.d.commit_sha = ""
            self._save("build", "commit_sha")
            return
        allow_local = services.git_allow_local()
        try:
            source: GitSource = services.git_source(services.git_url(self.app))
        except ValueError as exc:
            raise StepFailed(f"The app's git URL cannot be used: {exc}") from exc
        self.add_secrets(source.secrets)
        self.git = source
        build = Build.objects.create(app=self.app, ref=self.d.ref)
        dest = self.provider.source_dir(self.app_key, build.pk.hex[:12])
        build.source_dir = dest  # so a failure cleans it up
        build.save(update_fields=["source_dir"])
        self.d.build = build
        self._save("build")
        shutil.rmtree(dest, ignore_errors=True)
        sha = fetch(
            source, self.d.ref, dest,
            log=self.sink(LogStream.BUILD), tick=self.tick,
            timeout_s=settings.DEPLOY_GIT_TIMEOUT_S, allow_local=allow_local,
        )  # fmt: skip
        build.commit_sha = sha
        build.save(update_fields=["commit_sha", "updated_at"])
        self.d.commit_sha = sha
        self._save("commit_sha")

    def step_building(self: Runner) -> None:
        build = self.d.build
        if build.kind == BuildKind.IMAGE:
            return  # prebuilt: nothing to build (image_build made it complete)
        started = time.monotonic()
        source = BuildSource.of(self.git, commit_sha=build.commit_sha, ref=self.d.ref,
                                tenant=self.tenant.slug, app_name=self.app.name)  # fmt: skip
        try:
            artefact = self.provider.prepare(
                app_key=self.app_key,
                build_key=build.pk.hex[:12],
                source_dir=build.source_dir,
                log=self.sink(LogStream.BUILD),
                tick=self.tick,
                limits=selectors.resource_limits(tenant=self.tenant),
                source=source,
            )
        except Exception:
            build.status = BuildStatus.FAILED
            build.duration_ms = round((time.monotonic() - started) * 1000)
            build.save(update_fields=["status", "duration_ms", "updated_at"])
            raise
        build.kind = artefact.kind
        build.venv_dir = artefact.venv_dir
        build.run_needs = artefact.run_needs()
        build.process_types = artefact.process_types
        build.release_command = artefact.release_command
        # Built in a cluster: the release pins the pushed digest (Build.image).
        build.image_repository, _, build.image_digest = artefact.image.partition("@")
        build.status = BuildStatus.SUCCEEDED
        build.duration_ms = round((time.monotonic() - started) * 1000)
        build.save()
        self.log(f"Build finished in {build.duration_ms / 1000:.1f} s.", LogStream.BUILD)
