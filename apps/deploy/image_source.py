"""The pipeline's fetch step for apps whose source is a prebuilt image (SourceKind.IMAGE).

Nothing is fetched or built: the image's tag is resolved to the digest its registry holds now
(runtime/images/registry.py, with the app's registry credentials) and kept on a Build of kind
`image`, so the release made from it runs that digest whatever the tag says later. Its one
process type is `web`, with an empty command: the image's own entrypoint and command."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from . import services
from .models import App, Build, BuildKind, BuildStatus, SourceKind
from .runtime.base import LogSink, RuntimeProblem
from .runtime.images import LOCAL_REFUSAL, provider_runs_images
from .runtime.images.reference import InvalidReference, parse
from .runtime.images.registry import resolve_digest

# The process types of an image build: the image's own command serves web traffic.
IMAGE_PROCESS_TYPES = {"web": ""}


def refuse_images_unless_run(provider: object, kind: str) -> None:
    """Defence in depth: the API refuses image sources on a provider that cannot run them, but
    an app saved under another provider (or written directly) must get no further either."""
    if kind == SourceKind.IMAGE and not provider_runs_images(provider):
        raise RuntimeProblem(LOCAL_REFUSAL)


def image_build(
    app: App,
    text: str,
    *,
    log: LogSink,
    secrets: Callable[[Iterable[str]], None] = lambda values: None,
) -> Build:
    """A finished Build pinning the digest `text` (the app's image_ref) resolves to."""
    started = time.monotonic()
    build = Build.objects.create(app=app, ref=text, kind=BuildKind.IMAGE)
    try:
        try:
            reference = parse(text)
        except InvalidReference as exc:
            raise RuntimeProblem(f"The app's image reference cannot be used: {exc}") from exc
        credentials = services.registry_credentials(app)
        if credentials is not None:
            secrets([credentials.password])
        log(f"Resolving {reference} in its registry.")
        digest = resolve_digest(reference, credentials)
    except Exception:
        build.status = BuildStatus.FAILED
        build.duration_ms = round((time.monotonic() - started) * 1000)
        build.save(update_fields=["status", "duration_ms", "updated_at"])
        raise
    build.image_repository = reference.repository
    build.image_digest = digest
    build.process_types = dict(IMAGE_PROCESS_TYPES)
    build.status = BuildStatus.SUCCEEDED
    build.duration_ms = round((time.monotonic() - started) * 1000)
    build.save()
    log(f"{reference} is {digest}: the release runs {build.image}.")
    return build


def image_description(build: Build) -> str:
    """A release's description for an image build (fits Release.description)."""
    return f"Deploy {build.image_repository[-200:]}@{build.image_digest[:19]}"
