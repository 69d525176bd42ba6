"""The endpoint Caddy asks before it gets (or loads) a certificate for a name: 200 for
Quayside's routed hosts, 404 for everything else.

Caddy asks `GET <DEPLOY_TLS_ASK_URL>?token=<token>&domain=<name>` at a TLS handshake for a
name it holds no certificate for, so an unknown name costs one ask per handshake: anyone on
the internet chooses the names. Hence:
- approved: `<app>-<tenant>.<APPS_DOMAIN>` of an existing app of a tenant that is not deleted
  (two indexed queries), and verified custom domains (a snapshot of all of them, one query
  over every tenant schema, kept DEPLOY_TLS_ASK_CACHE_S seconds per process: a flood of
  invented names costs no more queries than one);
- nobody but Caddy gets an answer: the token (compared in constant time), a caller in
  DEPLOY_TLS_ASK_ALLOWED_NETWORKS (loopback by default) and no proxy header, else the same 404
  as for an unknown name, so the endpoint tells nothing about which tenants or apps exist;
- nothing is logged per ask (a 404 is the normal answer here, not a broken link)."""

from __future__ import annotations

import hmac
import ipaddress
import re
import threading
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from . import selectors, tls

NAME = re.compile(
    r"(?=.{1,253}\Z)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)


class _Snapshot:
    """The verified custom domains, refreshed at most every DEPLOY_TLS_ASK_CACHE_S."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hosts: frozenset[str] = frozenset()
        self.taken_at = float("-inf")

    def get(self) -> frozenset[str]:
        with self.lock:
            if time.monotonic() - self.taken_at >= settings.DEPLOY_TLS_ASK_CACHE_S:
                self.hosts = frozenset(selectors.verified_domain_hostnames())
                self.taken_at = time.monotonic()
            return self.hosts

    def forget(self) -> None:
        with self.lock:
            self.taken_at = float("-inf")


_domains = _Snapshot()
forget = _domains.forget  # for tests, and anything that must see a change at once


def host_approved(name: str) -> bool:
    """May `name` have a certificate? Exactly the hosts Quayside routes (or would, once the
    app is deployed): apps' own hostnames and verified custom domains."""
    host = (name or "").strip().lower().removesuffix(".")
    if not NAME.fullmatch(host):
        return False
    suffix = "." + settings.APPS_DOMAIN.lower()
    if host.endswith(suffix):
        label = host[: -len(suffix)]
        return "." not in label and selectors.app_hostname_exists(label)
    return host in _domains.get()


def _caller_allowed(request: HttpRequest) -> bool:
    if request.method != "GET":
        return False
    # Caddy calls directly; a proxy in front of the web process means the internet.
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if not any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.DEPLOY_TLS_ASK_ALLOWED_NETWORKS
    ):
        return False
    given = request.GET.get("token", "")
    return hmac.compare_digest(given.encode(), tls.ask_token().encode())


def _answer(status: int) -> HttpResponse:
    response = HttpResponse(status=status, content_type="text/plain")
    response["Cache-Control"] = "no-store"
    response._has_been_logged = True  # Django would log every 404 as a warning
    return response


def tls_ask(request: HttpRequest) -> HttpResponse:
    """200 if Caddy may get a certificate for `?domain=`; 404 otherwise, whoever asks."""
    if not tls.enabled() or not _caller_allowed(request):
        return _answer(404)
    return _answer(200 if host_approved(request.GET.get("domain", "")) else 404)
