"""Caddy: its whole JSON config rendered from the host table, loaded through the admin API.

Facts this relies on (docs/deploy.md, ../shared/notes/local-runtime-measurements.md):
- the admin API listens on a unix socket in a 0700 directory and wants an empty Host header;
- every real config change restarts the HTTP server and closes idle keep-alive connections of
  every app, so the config is loaded only when the host table changes (compared with what Caddy
  reports), never on a release switch: routes dial a stable per-app symlink instead;
- an identical config is a no-op; with no routes Caddy answers 200 with an empty body, so the
  last route is a catch-all 404; autosave is off (`admin.config.persist: false`) because the
  control plane is the source of truth (the rendered file is what Caddy starts from).

With TLS on (`TlsOptions`), a second server terminates TLS: certificates are obtained on
demand (at the first handshake for a name), from Caddy's internal CA or an ACME CA, and only
for names Quayside's ask endpoint approves (apps/deploy/tls.py). Caddy's own "automatic HTTPS"
stays off on both servers: it would try to obtain certificates for every host of the table at
once; the plain HTTP server redirects routed hosts to HTTPS itself (ACME's HTTP challenge is
answered by every server before its routes)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from .base import Route, RuntimeProblem

SERVER = "quayside"
HTTP_SERVER = "quayside-http"  # with TLS on: redirects to SERVER, ACME's HTTP challenge
# The internal CA's id: its root is <storage>/pki/authorities/local/root.crt, and certificates
# it signs are stored under <storage>/certificates/local/.
INTERNAL_CA = "local"
# What the router answers (503) for the hosts of an app that does not run, by route kind.
UNAVAILABLE_BODIES = {
    "stopped": "This app is not running.\n",
    "suspended": "This app is unavailable: its account is suspended.\n",
}


@dataclass(frozen=True)
class TlsOptions:
    """HTTPS for the routed hosts. `issuer` is "internal" or "acme"; `ask_url` is the full URL
    (token included) Caddy asks before it gets or loads a certificate for a name."""

    issuer: str
    listen: str
    public_port: str
    ask_url: str
    acme_email: str = ""
    acme_ca: str = ""


def render_config(
    *,
    routes: list[Route],
    admin_socket: str,
    listen: str,
    socket_path_for,
    site_root_for,
    storage_dir: str,
    tls: TlsOptions | None = None,
) -> dict:
    """The whole config. `socket_path_for(app_key, index)` and `site_root_for(app_key)` give the
    stable paths a route points at; switching a release changes their targets, not this.
    `listen` is the plain HTTP address; with `tls`, apps are served on `tls.listen` and plain
    HTTP redirects there."""
    rendered: list[dict] = []
    seen: set[str] = set()
    for route in routes:
        hosts = [h for h in route.hosts if h not in seen]
        seen.update(hosts)
        if not hosts:
            continue
        if route.kind == "python" and route.web_count > 0:
            handler = {
                "handler": "reverse_proxy",
                "upstreams": [
                    {"dial": f"unix/{socket_path_for(route.app_key, index)}"}
                    for index in range(route.web_count)
                ],
                # A dial that fails (a process restarting) is retried; nothing was sent yet.
                "load_balancing": {
                    "selection_policy": {"policy": "round_robin"},
                    "try_duration": "3s",
                    "try_interval": "100ms",
                },
            }
        elif route.kind == "static":
            handler = {"handler": "file_server", "root": site_root_for(route.app_key)}
        else:  # "stopped", "suspended"
            handler = {
                "handler": "static_response",
                "status_code": 503,
                "body": UNAVAILABLE_BODIES.get(route.kind, UNAVAILABLE_BODIES["stopped"]),
            }
        rendered.append(
            {
                "@id": f"app-{route.app_key}",
                "match": [{"host": sorted(hosts)}],
                "handle": [handler],
                "terminal": True,
            }
        )
    rendered.append(_catch_all())
    config = {
        "admin": {"listen": f"unix/{admin_socket}", "config": {"persist": False}},
        "storage": {"module": "file_system", "root": storage_dir},
        "apps": {
            "http": {
                "servers": {
                    SERVER: {
                        "listen": [listen],
                        "automatic_https": {"disable": True},
                        "routes": rendered,
                    }
                }
            }
        },
    }
    if tls is not None:
        _add_tls(config, tls, plain_listen=listen, hosts=sorted(seen))
    return config


def _catch_all(ident: str = "catch-all") -> dict:
    """The last route: 404 for hosts of no app (`@id`s must be unique in the whole config)."""
    return {
        "@id": ident,
        "handle": [{"handler": "static_response", "status_code": 404, "body": "No such app.\n"}],
    }


def _port(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


def _add_tls(config: dict, tls: TlsOptions, *, plain_listen: str, hosts: list[str]) -> None:
    """Serve the routes on `tls.listen` with TLS; plain HTTP redirects the routed hosts there
    (308 keeps the method and body; path and query are kept) and answers 404 for the rest."""
    http = config["apps"]["http"]
    servers = http["servers"]
    servers[SERVER]["listen"] = [tls.listen]
    # An empty policy: TLS on this listener, certificates from the tls app's automation.
    servers[SERVER]["tls_connection_policies"] = [{}]
    port = "" if tls.public_port in ("", "443") else f":{tls.public_port}"
    redirect: list[dict] = []
    if hosts:
        redirect.append(
            {
                "@id": "to-https",
                "match": [{"host": hosts}],
                "handle": [
                    {
                        "handler": "static_response",
                        "status_code": 308,
                        "headers": {
                            "Location": [f"https://{{http.request.host}}{port}{{http.request.uri}}"]
                        },
                    }
                ],
                "terminal": True,
            }
        )
    servers[HTTP_SERVER] = {
        "listen": [plain_listen],
        "protocols": ["h1"],  # HTTP/2 and 3 need TLS
        "automatic_https": {"disable": True},
        "routes": [*redirect, _catch_all("http-catch-all")],
    }
    # Caddy's idea of the HTTP and HTTPS ports (its ACME solvers use them).
    http["http_port"] = _port(plain_listen)
    http["https_port"] = _port(tls.listen)
    if tls.issuer == "internal":
        issuer: dict = {"module": "internal", "ca": INTERNAL_CA}
        # Never into the system's trust store by itself (it would, running as root): the
        # operator decides (README: "Trusting the local CA").
        config["apps"]["pki"] = {"certificate_authorities": {INTERNAL_CA: {"install_trust": False}}}
    else:
        issuer = {
            "module": "acme",
            "ca": tls.acme_ca,
            # Caddy answers ACME's challenges on its own listeners, wherever they are.
            "challenges": {
                "http": {"alternate_port": _port(plain_listen)},
                "tls-alpn": {"alternate_port": _port(tls.listen)},
            },
        }
        if tls.acme_email:
            issuer["email"] = tls.acme_email
    config["apps"]["tls"] = {
        "automation": {
            "policies": [{"issuers": [issuer], "on_demand": True}],
            "on_demand": {"permission": {"module": "http", "endpoint": tls.ask_url}},
        }
    }


# --- Certificates in Caddy's storage ----------------------------------------------------------
def issuer_key(tls: TlsOptions) -> str:
    """The directory under <storage>/certificates/ that holds this issuer's certificates
    (certmagic: the internal CA's id; an ACME CA's host and path, slashes made hyphens)."""
    if tls.issuer == "internal":
        return INTERNAL_CA
    parts = urlsplit(tls.acme_ca)
    path = parts.path.replace("/", "-").replace("\\", "-").strip("-")
    return f"{parts.netloc}-{path}" if path else parts.netloc


def _safe(name: str) -> str:
    """certmagic's KeyBuilder.Safe for the names we store (lowercase DNS names)."""
    name = name.strip().lower().replace(":", "-").replace("..", "").replace("*", "wildcard_")
    return _UNSAFE.sub("", name)


_UNSAFE = re.compile(r"[^A-Za-z0-9_@.-]")


@dataclass(frozen=True)
class StoredCertificate:
    issuer: str  # the issuing CA's common name (or organisation)
    not_before: dt.datetime
    not_after: dt.datetime


def certificate_path(storage_dir: str, key: str, hostname: str) -> Path:
    safe = _safe(hostname)
    return Path(storage_dir) / "certificates" / _safe(key) / safe / f"{safe}.crt"


_parsed: dict[tuple[str, int], StoredCertificate] = {}


def stored_certificate(storage_dir: str, key: str, hostname: str) -> StoredCertificate | None:
    """The certificate Caddy keeps for `hostname` from the issuer `key`, or None. Parsed once
    per file version (path and mtime)."""
    path = certificate_path(storage_dir, key, hostname)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    cached = _parsed.get((str(path), stamp))
    if cached is not None:
        return cached
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        leaf = x509.load_pem_x509_certificates(path.read_bytes())[0]
    except (OSError, ValueError, IndexError):
        return None
    names = leaf.issuer.get_attributes_for_oid(NameOID.COMMON_NAME) or (
        leaf.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    )
    found = StoredCertificate(
        issuer=str(names[0].value) if names else leaf.issuer.rfc4514_string(),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
    )
    if len(_parsed) > 10_000:
        _parsed.clear()
    _parsed[(str(path), stamp)] = found
    return found


class Caddy:
    def __init__(self, admin_socket: str, config_file: str) -> None:
        self.admin_socket = admin_socket
        self.config_file = Path(config_file)

    def _client(self) -> httpx.Client:
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=self.admin_socket),
            base_url="http://localhost",
            headers={"Host": ""},  # the admin API refuses any other Host on a unix socket
            timeout=10,
        )

    def current(self) -> dict | None:
        try:
            with self._client() as client:
                response = client.get("/config/")
        except httpx.HTTPError as exc:
            raise RuntimeProblem(
                f"Caddy's admin API does not answer ({exc}).", permanent=False
            ) from exc
        if response.status_code != 200:
            raise RuntimeProblem(f"Caddy's admin API answered {response.status_code}.")
        return response.json()

    def write_file(self, config: dict) -> None:
        """What Caddy starts from after a restart (supervisord restarts it)."""
        temporary = self.config_file.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(config, indent=1, sort_keys=True))
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.config_file)

    def load(self, config: dict) -> None:
        try:
            with self._client() as client:
                response = client.post(
                    "/load",
                    content=json.dumps(config),
                    headers={"Content-Type": "application/json"},
                )
        except httpx.HTTPError as exc:
            raise RuntimeProblem(
                f"Caddy did not take its config ({exc}).", permanent=False
            ) from exc
        if response.status_code != 200:
            raise RuntimeProblem(f"Caddy refused its config: {response.text[:500]}")

    def ensure(self, config: dict) -> bool:
        """Load `config` unless Caddy runs it already; True if it was loaded."""
        self.write_file(config)
        if self.current() == config:
            return False
        self.load(config)
        return True
