"""Container images as a deploy source, for providers that run images (Kubernetes).

    reference.py   image references parsed strictly (registry/path:tag@digest)
    registry.py    tag → digest from the registry (OCI distribution API, through the SSRF guard)
    dockerfile.py  the repository's own Dockerfile, or one written from the language builders
    build_job.py   the in-cluster build Job (Kaniko or BuildKit) and its Secrets, as manifests

Pure functions and one HTTP client: nothing here talks to a cluster. The provider that runs
images says so with a true `runs_images` attribute; `local` does not (it builds from git)."""

from __future__ import annotations

LOCAL_REFUSAL = (
    "Image sources need the Kubernetes provider; this Quayside runs apps with the local "
    "provider, which builds from git."
)


def provider_runs_images(provider: object) -> bool:
    """Whether a runtime provider deploys image sources (its `runs_images` attribute)."""
    return bool(getattr(provider, "runs_images", False))


__all__ = ["LOCAL_REFUSAL", "provider_runs_images"]
