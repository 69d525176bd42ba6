"""Tag → digest against a registry of our own (tests/deploy/fake_registry.py, a real HTTP
server): anonymous, the Bearer token flow, Basic auth, unknown tags, the SSRF guard."""

from __future__ import annotations

import hashlib

import pytest

from apps.deploy.runtime.images.reference import parse
from apps.deploy.runtime.images.registry import (
    Credentials,
    ImageNotFound,
    RegistryDenied,
    RegistryError,
    challenge,
    resolve_digest,
)

from .fake_registry import DIGEST, MANIFEST, Registry, serve


@pytest.fixture
def registry(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    reg, stop = serve(Registry(images={"team/app": {"1.4": MANIFEST}}))
    settings.DEPLOY_IMAGE_INSECURE_REGISTRIES = [reg.host]
    yield reg
    stop()


def test_a_tag_resolves_to_the_digest_the_registry_names(registry):
    assert resolve_digest(parse(f"{registry.host}/team/app:1.4")) == DIGEST
    ((method, path, headers),) = registry.seen
    assert (method, path) == ("HEAD", "/v2/team/app/manifests/1.4")
    assert "application/vnd.oci.image.index.v1+json" in headers["Accept"]


def test_the_bearer_token_flow_anonymous(registry):
    registry.auth = "bearer"
    assert resolve_digest(parse(f"{registry.host}/team/app:1.4")) == DIGEST
    methods = [(m, p.split("?")[0]) for m, p, _ in registry.seen]
    assert methods == [
        ("HEAD", "/v2/team/app/manifests/1.4"),  # 401 with the challenge
        ("GET", "/token"),
        ("HEAD", "/v2/team/app/manifests/1.4"),
    ]
    token_request = registry.seen[1]
    assert "scope=repository%3Ateam%2Fapp%3Apull" in token_request[1]
    assert "service=fake-registry" in token_request[1]
    assert "Authorization" not in token_request[2]
    assert registry.seen[2][2]["Authorization"].startswith("Bearer t-")


def test_a_private_repository_needs_the_apps_credentials(registry):
    registry.auth, registry.private = "bearer", True
    registry.users = {"robot": "s3cret"}
    with pytest.raises(RegistryDenied, match="set the app's registry credentials"):
        resolve_digest(parse(f"{registry.host}/team/app:1.4"))
    digest = resolve_digest(parse(f"{registry.host}/team/app:1.4"), Credentials("robot", "s3cret"))
    assert digest == DIGEST
    with pytest.raises(RegistryDenied, match="refused the app's credentials"):
        resolve_digest(parse(f"{registry.host}/team/app:1.4"), Credentials("robot", "wrong"))


def test_basic_auth(registry):
    registry.auth, registry.users = "basic", {"robot": "s3cret"}
    assert resolve_digest(parse(f"{registry.host}/team/app:1.4"), Credentials("robot", "s3cret"))
    with pytest.raises(RegistryDenied):
        resolve_digest(parse(f"{registry.host}/team/app:1.4"))


def test_an_unknown_tag_is_a_clear_not_found(registry):
    with pytest.raises(ImageNotFound, match="was not found"):
        resolve_digest(parse(f"{registry.host}/team/app:9.9"))
    with pytest.raises(ImageNotFound):
        resolve_digest(parse(f"{registry.host}/team/other:1.4"))


def test_without_the_digest_header_the_manifest_is_hashed(registry):
    registry.send_digest_header = False
    assert resolve_digest(parse(f"{registry.host}/team/app:1.4")) == DIGEST
    assert [m for m, _, _ in registry.seen] == ["HEAD", "GET"]


def test_a_pinned_digest_must_be_what_the_registry_holds(registry):
    assert resolve_digest(parse(f"{registry.host}/team/app@{DIGEST}")) == DIGEST
    other = "sha256:" + hashlib.sha256(b"other").hexdigest()
    with pytest.raises(ImageNotFound):
        resolve_digest(parse(f"{registry.host}/team/app@{other}"))


def test_the_ssrf_guard_refuses_our_own_network(registry, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(RegistryError, match="loopback"):
        resolve_digest(parse(f"{registry.host}/team/app:1.4"))
    assert registry.seen == []


def test_https_unless_listed_insecure(registry, settings):
    settings.DEPLOY_IMAGE_INSECURE_REGISTRIES = []
    # The plain-HTTP server cannot speak TLS: the attempt fails, nothing is read over HTTP.
    with pytest.raises(RegistryError, match="could not be reached"):
        resolve_digest(parse(f"{registry.host}/team/app:1.4"))


def test_challenge_parsing():
    scheme, params = challenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:team/app:pull"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example.com/token",
        "service": "registry.example.com",
        "scope": "repository:team/app:pull",
    }
