"""Tag → digest, by asking the image's registry (the OCI distribution API).

    HEAD /v2/<path>/manifests/<tag or digest>    → 200 with a Docker-Content-Digest header

A 401 names how to authenticate in its WWW-Authenticate header:
- `Bearer realm="…",service="…",scope="…"`: a token is fetched from the realm
  (`GET realm?service=…&scope=repository:<path>:pull`), anonymously or with the app's
  registry credentials as basic auth, and the manifest asked for again with it;
- `Basic realm="…"`: asked again with the credentials.
When the registry leaves out Docker-Content-Digest, the manifest is fetched (GET) and its
SHA-256 computed. A reference given with a digest must come back with that digest.

Every connection, to the registry and to its token realm, goes through the SSRF guard
(apps.core.net): a tenant's image cannot point Quayside at its own network. Plain HTTP is used
only for registries listed in DEPLOY_IMAGE_INSECURE_REGISTRIES; credentials are never sent over
it to anything else. Errors are RuntimeProblem subclasses whose message a person can act on."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx
from django.conf import settings

from apps.core import net

from ..base import RuntimeProblem
from .reference import ImageReference, is_digest

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
MAX_BODY = 4 * 1024 * 1024  # manifests and token responses; anything larger is not one
USER_AGENT = "Quayside-Registry/1"
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class RegistryError(RuntimeProblem):
    """The registry could not tell us the image's digest."""


class ImageNotFound(RegistryError):
    pass


class RegistryDenied(RegistryError):
    pass


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def basic(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"


def challenge(header: str) -> tuple[str, dict[str, str]]:
    """('bearer'|'basic'|…, {param: value}) of a WWW-Authenticate header."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        key.lower(): (quoted.replace('\\"', '"') if quoted is not None else bare)
        for key, quoted, bare in _PARAM.findall(rest)
    }
    return scheme.lower(), params


def _insecure(host: str) -> bool:
    return host.lower() in {h.lower() for h in settings.DEPLOY_IMAGE_INSECURE_REGISTRIES}


def _base_url(reference: ImageReference) -> str:
    scheme = "http" if _insecure(reference.api_host) else "https"
    return f"{scheme}://{reference.api_host}"


def _read(response: httpx.Response) -> bytes:
    body = b""
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_BODY:
            raise RegistryError("The registry's answer is too large to be a manifest or a token.")
    return body


class Resolver:
    """One resolution's HTTP conversation (a guarded client, closed afterwards)."""

    def __init__(self, reference: ImageReference, credentials: Credentials | None) -> None:
        self.reference = reference
        self.credentials = credentials
        self.client = net.guarded_client(
            timeout=settings.DEPLOY_IMAGE_REGISTRY_TIMEOUT_S,
            follow_redirects=True,
            max_redirects=3,
            headers={"User-Agent": USER_AGENT},
        )

    def _request(self, method: str, url: str, **headers: str) -> tuple[httpx.Response, bytes]:
        try:
            with self.client.stream(method, url, headers=headers) as response:
                return response, _read(response) if method != "HEAD" else b""
        except net.BlockedTarget as exc:
            raise RegistryError(f"{exc} Images cannot be pulled from there.") from exc
        except httpx.HTTPError as exc:
            raise RegistryError(
                f"The registry {self.reference.api_host} could not be reached: "
                f"{type(exc).__name__}.",
                permanent=False,
            ) from exc

    def _may_send_credentials(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme == "https" or _insecure(parts.netloc)

    def _token(self, params: dict[str, str]) -> str:
        realm = params.get("realm", "")
        parts = net.http_url_parts(realm)
        if parts is None:
            raise RegistryError("The registry asked for a token from a realm that is not a URL.")
        query = {"service": params["service"]} if params.get("service") else {}
        query["scope"] = params.get("scope") or f"repository:{self.reference.path}:pull"
        url = f"{realm}{'&' if parts.query else '?'}{urlencode(query)}"
        headers = {}
        if self.credentials is not None:
            if not self._may_send_credentials(url):
                raise RegistryError("The registry's token realm is plain HTTP: no credentials.")
            headers["Authorization"] = self.credentials.basic()
        response, body = self._request("GET", url, **headers)
        if response.status_code in (401, 403):
            raise RegistryDenied(self._denied())
        if response.status_code != 200:
            raise RegistryError(f"The registry's token service answered {response.status_code}.")
        try:
            data = httpx.Response(200, content=body).json()
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError("The registry's token service gave no token.")
        return token

    def _denied(self) -> str:
        if self.credentials is None:
            return (
                f"The registry refused access to {self.reference.repository}: it may be private "
                "(set the app's registry credentials) or not exist."
            )
        return f"The registry refused the app's credentials for {self.reference.repository}."

    def manifest(self, method: str) -> tuple[httpx.Response, bytes]:
        url = (
            f"{_base_url(self.reference)}/v2/{self.reference.path}"
            f"/manifests/{self.reference.manifest_ref}"
        )
        response, body = self._request(method, url, Accept=MANIFEST_TYPES)
        if response.status_code != 401:
            return response, body
        scheme, params = challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "bearer":
            authorization = f"Bearer {self._token(params)}"
        elif scheme == "basic" and self.credentials is not None:
            if not self._may_send_credentials(url):
                raise RegistryError("The registry is plain HTTP: credentials are not sent to it.")
            authorization = self.credentials.basic()
        else:
            raise RegistryDenied(self._denied())
        response, body = self._request(
            method, url, Accept=MANIFEST_TYPES, Authorization=authorization
        )
        if response.status_code in (401, 403):
            raise RegistryDenied(self._denied())
        return response, body

    def digest(self) -> str:
        response, _ = self.manifest("HEAD")
        digest = response.headers.get("Docker-Content-Digest", "")
        if response.status_code == 200 and not digest:
            response, body = self.manifest("GET")
            if response.status_code == 200:
                digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if response.status_code == 404:
            raise ImageNotFound(
                f"{self.reference} was not found in its registry (no such repository, tag "
                "or digest)."
            )
        if response.status_code != 200:
            raise RegistryError(
                f"The registry answered {response.status_code} for {self.reference}.",
                permanent=response.status_code < 500,
            )
        if not is_digest(digest):
            raise RegistryError("The registry answered with a digest Quayside cannot read.")
        if self.reference.digest and digest != self.reference.digest:
            raise RegistryError(
                f"The registry holds {digest} under {self.reference}, not the digest asked for."
            )
        return digest

    def close(self) -> None:
        self.client.close()


def resolve_digest(reference: ImageReference, credentials: Credentials | None = None) -> str:
    """The digest (`sha256:…`) `reference` names in its registry right now."""
    resolver = Resolver(reference, credentials)
    try:
        return resolver.digest()
    finally:
        resolver.close()
