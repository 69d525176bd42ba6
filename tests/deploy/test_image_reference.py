"""Image references: what parses, how it is normalised, and what is refused (and why)."""

from __future__ import annotations

import pytest

from apps.deploy.runtime.images.reference import InvalidReference, parse

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "path", "tag", "digest"),
    [
        ("registry.example.com/team/app:1.4", "registry.example.com", "team/app", "1.4", ""),
        (f"registry.example.com/team/app@{DIGEST}", "registry.example.com", "team/app", "", DIGEST),
        (f"reg.example.com:5000/a/b/c:v2@{DIGEST}", "reg.example.com:5000", "a/b/c", "v2", DIGEST),
        ("localhost:5000/app", "localhost:5000", "app", "", ""),
        ("localhost/app:latest", "localhost", "app", "latest", ""),
        ("redis", "docker.io", "library/redis", "", ""),
        ("redis:7-alpine", "docker.io", "library/redis", "7-alpine", ""),
        ("bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", ""),
        ("ghcr.io/acme/my_app.web-1:Tag_1", "ghcr.io", "acme/my_app.web-1", "Tag_1", ""),
        ("10.0.0.1:5000/app:1", "10.0.0.1:5000", "app", "1", ""),
    ],
)
def test_references_that_parse(text, registry, path, tag, digest):
    ref = parse(text)
    assert (ref.registry, ref.path, ref.tag, ref.digest) == (registry, path, tag, digest)
    assert ref.pinned(DIGEST) == f"{registry}/{path}@{DIGEST}"


def test_normalised_text_and_the_api_host():
    assert str(parse("redis:7")) == "docker.io/library/redis:7"
    assert parse("redis").api_host == "registry-1.docker.io"
    assert parse("redis").manifest_ref == "latest"
    assert parse(f"ghcr.io/a/b:1@{DIGEST}").manifest_ref == DIGEST


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Give an image reference"),
        ("registry.example.com/team/app :1.4", "spaces or control"),
        ("registry.example.com/team/app:1.4\n", "spaces or control"),
        ("registry.example.com/te\x00am/app", "spaces or control"),
        ("registry.example.com/Team/App:1.4", "lower case"),
        ("Redis", "lower case"),
        ("registry.example.com/team/app:" + "x" * 129, "A tag is"),
        ("registry.example.com/team/app:-bad", "A tag is"),
        ("registry.example.com/team/app@sha256:abc", "digest"),
        ("registry.example.com/team/app@md5:" + "a" * 32, "digest"),
        (f"registry.example.com/team/app@{DIGEST.upper()}", "digest"),
        ("registry.example.com/" + "a/" * 130 + "b", "at most 255"),
        ("registry.example.com:99999/app", "registry host"),
        ("-bad.example.com/app", "registry host"),
        ("registry.example.com/team//app", "not a repository path"),
        ("registry.example.com/team/app-", "not a repository path"),
        ("registry.example.com/", "not a repository path"),
        ("régistry.example.com/app", "ASCII"),
        ("http://registry.example.com/app", "registry host"),
    ],
)
def test_references_refused(text, message):
    with pytest.raises(InvalidReference, match=message):
        parse(text)
