"""A small OCI registry of our own, for tests: a real HTTP server on 127.0.0.1 that answers
manifest requests the way the distribution API does, with the two ways registries make clients
authenticate (a Bearer token from a realm, or Basic). Never a real registry."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "1" * 64,
            "size": 2,
        },
        "layers": [],
    }
).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


@dataclass
class Registry:
    """What the server holds and how it wants clients to authenticate."""

    auth: str = "none"  # "none" | "bearer" | "basic"
    users: dict[str, str] = field(default_factory=dict)  # username → password
    private: bool = False  # bearer: a token only for users, none for anonymous callers
    send_digest_header: bool = True
    # repository path → {tag: manifest bytes}
    images: dict[str, dict[str, bytes]] = field(default_factory=dict)
    seen: list[tuple[str, str, dict]] = field(default_factory=list)
    url: str = ""
    tokens: set[str] = field(default_factory=set)

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")


def _handler(registry: Registry):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _user(self) -> str | None:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return None
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user if registry.users.get(user) == password else None

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization", "")
            if registry.auth == "none":
                return True
            if registry.auth == "basic":
                return self._user() is not None
            return header.startswith("Bearer ") and header[7:] in registry.tokens

        def do_GET(self):
            registry.seen.append((self.command, self.path, dict(self.headers)))
            parts = urlsplit(self.path)
            if parts.path == "/token":
                query = parse_qs(parts.query)
                if self.headers.get("Authorization") and self._user() is None:
                    return self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                if registry.private and self._user() is None:
                    return self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                token = f"t-{len(registry.tokens)}-{query.get('scope', [''])[0]}"
                registry.tokens.add(token)
                return self._send(200, json.dumps({"token": token}).encode())
            segments = parts.path.split("/")
            if len(segments) < 5 or segments[1] != "v2" or segments[-2] != "manifests":
                return self._send(404)
            if not self._authorized():
                if registry.auth == "bearer":
                    path = "/".join(segments[2:-2])
                    challenge = (
                        f'Bearer realm="{registry.url}/token",service="fake-registry",'
                        f'scope="repository:{path}:pull"'
                    )
                else:
                    challenge = 'Basic realm="fake-registry"'
                return self._send(401, b'{"errors":[]}', WWW_Authenticate=challenge)
            path, ref = "/".join(segments[2:-2]), segments[-1]
            tags = registry.images.get(path, {})
            body = tags.get(ref)
            if body is None:
                body = next(
                    (b for b in tags.values() if "sha256:" + hashlib.sha256(b).hexdigest() == ref),
                    None,
                )
            if body is None:
                return self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            headers = {"Content_Type": "application/vnd.oci.image.manifest.v1+json"}
            if registry.send_digest_header:
                headers["Docker_Content_Digest"] = "sha256:" + hashlib.sha256(body).hexdigest()
            return self._send(200, body, **headers)

        do_HEAD = do_GET

    return Handler


def serve(registry: Registry):
    """Start the server; returns (registry with its url set, stop function)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    registry.url = f"http://127.0.0.1:{httpd.server_address[1]}"

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()

    return registry, stop
