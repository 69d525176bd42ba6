"""Container image references: `[registry[:port]/]path[:tag][@digest]`, parsed strictly.

The grammar is the distribution project's (github.com/distribution/reference), narrowed:
- the registry is the first component when it has a `.` or a `:`, or is `localhost`; with none,
  the image is on Docker Hub (`docker.io`, `library/` added to one-component paths), as
  `docker pull` reads it;
- path components are lower-case letters and digits joined by `.`, `_`, `__` or runs of `-`;
  upper case anywhere in the path is refused (registries would refuse it later, less clearly);
- a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; no tag and no digest means `latest`;
- a digest is `sha256:` and 64 lower-case hex digits (or `sha512:` and 128);
- whitespace, control characters and anything over REFERENCE_MAX characters are refused.
Parsing never touches the network; apps.deploy.runtime.images.registry resolves tags."""

from __future__ import annotations

import re
from dataclasses import dataclass

REFERENCE_MAX = 255  # the distribution project's limit for a name; ours for the whole reference
DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")


class InvalidReference(ValueError):
    """Not an image reference; the message says what is wrong, for people."""


@dataclass(frozen=True)
class ImageReference:
    registry: str  # host[:port] as written ("docker.io" for Docker Hub)
    path: str  # the repository: "team/app", "library/redis"
    tag: str = ""  # empty when only a digest was given
    digest: str = ""  # "sha256:…" when pinned

    @property
    def repository(self) -> str:
        """`registry/path`: what a tag or a digest is appended to."""
        return f"{self.registry}/{self.path}"

    @property
    def api_host(self) -> str:
        """Where the registry's HTTP API answers (Docker Hub's is not docker.io itself)."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def manifest_ref(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def pinned(self, digest: str) -> str:
        """`registry/path@digest`: the reference a release runs, whatever the tag says later."""
        return f"{self.repository}@{digest}"

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _is_registry(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def parse(text: str) -> ImageReference:
    """The reference `text` names; InvalidReference saying why when it is not one."""
    if not isinstance(text, str) or not text:
        raise InvalidReference("Give an image reference such as registry.example.com/team/app:1.4.")
    if len(text) > REFERENCE_MAX:
        raise InvalidReference(f"An image reference is at most {REFERENCE_MAX} characters.")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise InvalidReference("An image reference may not contain spaces or control characters.")
    if not text.isascii():
        raise InvalidReference("An image reference is ASCII only.")
    name, at, digest = text.partition("@")
    if at and not DIGEST.fullmatch(digest):
        raise InvalidReference(
            "The digest after @ must be sha256: and 64 lower-case hex digits (or sha512: and 128)."
        )
    first, slash, rest = name.partition("/")
    if slash and _is_registry(first):
        registry, remainder = first, rest
        host = HOST.fullmatch(registry)
        port = host and host.group("port")
        if not host or (port is not None and not 0 < int(port) < 65536):
            raise InvalidReference(f"'{registry}' is not a registry host[:port].")
    else:
        registry, remainder = DOCKER_HUB, name
    path, colon, tag = remainder.rpartition(":") if ":" in remainder else (remainder, "", "")
    if colon and not TAG.fullmatch(tag):
        raise InvalidReference(
            "A tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'."
        )
    if path != path.lower():
        raise InvalidReference("The repository path must be lower case.")
    if not PATH.fullmatch(path):
        raise InvalidReference(
            f"'{path}' is not a repository path: lower-case letters and digits, separated by "
            "'/', '.', '_' or '-'."
        )
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return ImageReference(registry=registry, path=path, tag=tag, digest=digest)


def is_digest(value: str) -> bool:
    return bool(DIGEST.fullmatch(value or ""))
