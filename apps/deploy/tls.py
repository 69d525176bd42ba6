"""HTTPS for apps: what the settings ask of Caddy, app URLs, and the certificate of a hostname.

DEPLOY_TLS is "off", "internal" (Caddy's local CA) or "acme". With TLS on, Caddy obtains a
certificate for a hostname at its first HTTPS request (on-demand TLS), after asking Quayside
whether the name is one of its routed hosts (apps/deploy/tls_ask.py). The URL it asks carries a
token (DEPLOY_TLS_ASK_TOKEN, or one derived from SECRET_KEY) so that the endpoint answers
nobody else; the runtime config (caddy.json, 0600 in a 0700 directory) is the only place it is
written down.

Certificates are read from Caddy's storage (its data directory), where certmagic keeps one
file per name and issuer: no admin API call, no query."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings

from .runtime.caddy import TlsOptions, issuer_key, stored_certificate

MODES = ("off", "internal", "acme")
ASK_PATH = "internal/tls/ask"  # config/urls_public.py; production.py exempts it from SSL redirect


def mode() -> str:
    return (settings.DEPLOY_TLS or "off").strip().lower()


def enabled() -> bool:
    return mode() in ("internal", "acme")


def ask_token() -> str:
    """The secret Caddy sends to the ask endpoint: the setting, else derived from SECRET_KEY
    (so every process of one installation agrees without configuration)."""
    if settings.DEPLOY_TLS_ASK_TOKEN:
        return settings.DEPLOY_TLS_ASK_TOKEN
    return hmac.new(
        settings.SECRET_KEY.encode(), b"quayside.deploy.tls-ask", hashlib.sha256
    ).hexdigest()


def ask_url() -> str:
    """DEPLOY_TLS_ASK_URL with the token added to its query (Caddy keeps the query and adds
    `domain=<name>` to it)."""
    parts = urlsplit(settings.DEPLOY_TLS_ASK_URL)
    query = "&".join(q for q in (parts.query, urlencode({"token": ask_token()})) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def https_port() -> str:
    return settings.DEPLOY_HTTPS_PUBLIC_PORT or settings.DEPLOY_HTTPS_LISTEN.rsplit(":", 1)[-1]


def tls_options() -> TlsOptions | None:
    """What Caddy's config needs, or None with TLS off."""
    current = mode()
    if current not in MODES:
        from .runtime.base import RuntimeProblem

        raise RuntimeProblem(f"DEPLOY_TLS={current!r} is none of {', '.join(MODES)}.")
    if current == "off":
        return None
    return TlsOptions(
        issuer=current,
        listen=settings.DEPLOY_HTTPS_LISTEN,
        public_port=https_port(),
        ask_url=ask_url(),
        acme_email=settings.DEPLOY_TLS_ACME_EMAIL,
        acme_ca=settings.DEPLOY_TLS_ACME_CA,
    )


def app_url(hostname: str) -> str:
    """The URL people use for an app's host: https:// with TLS on."""
    if enabled():
        scheme, port, default = "https", https_port(), "443"
    else:
        listen = settings.DEPLOY_HTTP_LISTEN
        scheme, port, default = (
            "http",
            settings.DEPLOY_PUBLIC_PORT or listen.rsplit(":", 1)[-1],
            "80",
        )
    return f"{scheme}://{hostname}" + ("" if port in (default, "") else f":{port}") + "/"


# --- Certificates ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CertificateState:
    """`none`: TLS is off, or the host may not have one (an unverified domain). `pending`: it
    may, and gets one at its first HTTPS request. `issued`: a valid one is stored. `expired`:
    the stored one has expired (Caddy renews before that; seen when Caddy was down)."""

    status: str
    issuer: str | None = None
    not_after: dt.datetime | None = None


NONE = CertificateState(status="none")


@functools.lru_cache(maxsize=4)
def _runtime_root(configured: str) -> Path:
    return Path(configured).absolute().resolve()  # as LocalProvider resolves it


def storage_dir() -> Path | None:
    """Caddy's data directory (the local runtime's `caddy/data`), or None for another
    provider."""
    if settings.DEPLOY_PROVIDER != "local":
        return None
    return _runtime_root(settings.DEPLOY_RUNTIME_DIR) / "caddy" / "data"


def local_ca_root() -> Path | None:
    """The internal CA's root certificate (what a browser or client must trust)."""
    if settings.DEPLOY_PROVIDER != "local":
        return None
    return _runtime_root(settings.DEPLOY_RUNTIME_DIR) / settings.DEPLOY_TLS_LOCAL_CA_ROOT


def certificate_state(hostname: str, *, eligible: bool) -> CertificateState:
    """The certificate Caddy holds for `hostname` from the issuer now configured. `eligible`:
    the ask endpoint approves the name (an app's own hostname, a verified domain)."""
    if not eligible or not enabled():
        return NONE
    options, root = tls_options(), storage_dir()
    if options is None or root is None:
        return NONE
    found = stored_certificate(str(root), issuer_key(options), hostname)
    if found is None:
        return CertificateState(status="pending")
    expired = found.not_after <= dt.datetime.now(dt.UTC)
    return CertificateState(
        status="expired" if expired else "issued",
        issuer=found.issuer,
        not_after=found.not_after,
    )
