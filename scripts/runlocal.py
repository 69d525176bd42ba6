#!/usr/bin/env python3
"""What `make run` (scripts/run.sh) needs besides PostgreSQL and Redis.

    .venv/bin/python scripts/runlocal.py env      `export NAME=value` lines for run.sh to eval
    .venv/bin/python scripts/runlocal.py ready    the `ready` process of Procfile.local

`env` decides, from the caller's environment:
  - where the web server listens: BIND (an address; HOST too when it is an IP address, since
    some shells set HOST to the machine's name), loopback (127.0.0.1) when neither is set.
    Anything else gets a warning: local mode has DEBUG on and demo logins whose passwords
    are in the README;
  - how much the processes log: warnings and errors only, unless VERBOSE=1 (every request,
    task and beat tick) or LOG_LEVEL says otherwise;
  - the default DEPLOY_RUNTIME_DIR (apps/core/local_dirs.py: reachable by the apps' user).

  - where Caddy asks whether a host may have a TLS certificate (DEPLOY_TLS_ASK_URL: the web
    server, as Caddy reaches it).

`ready` waits until the web server answers and the demo app is deployed (or a while has
passed), then prints the URLs and the demo logins: the last thing on screen once everything has
started. It then sleeps until honcho stops it. With TLS on (DEPLOY_TLS, `internal` in local
mode), the demo app is checked over HTTPS, verified against Caddy's local CA, and the URLs are
https:// ones.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.core.local_dirs import runtime_dir_default  # noqa: E402

LOOPBACK = "127.0.0.1"
TRUE = {"1", "true", "yes", "on"}
LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
# Celery warns, over 8 lines per worker, that it runs as root (as `make run` does when root:
# the apps run as DEPLOY_RUN_AS_USER). Shown with VERBOSE=1.
CELERY_ROOT_WARNING = "ignore:You're running the worker with superuser privileges"
WEB_TIMEOUT_S = 180.0
DEMO_APP_TIMEOUT_S = 90.0
DEMO_APP_LATE_TIMEOUT_S = 600.0
# Our own servers on this machine: never through an http_proxy of the environment.
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Where Caddy keeps its local CA's root certificate, under DEPLOY_RUNTIME_DIR.
LOCAL_CA_ROOT = "caddy/data/pki/authorities/local/root.crt"


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_port(host: str, port: str | int) -> str:
    """`host:port`, with an IPv6 address in brackets."""
    host = host.strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def reachable_host(host: str) -> str:
    """Where to connect to reach a server listening on `host` (0.0.0.0 and :: mean loopback)."""
    host = host.strip("[]")
    if host in ("", "0.0.0.0"):  # noqa: S104 (not a bind: where to connect)
        return LOOPBACK
    if host == "::":
        return "::1"
    return host


def bind_address(environ: Mapping[str, str]) -> str:
    """The web server's address: BIND, else HOST if it is an IP address, else loopback."""
    if environ.get("BIND"):
        return environ["BIND"].strip()
    host = environ.get("HOST", "").strip()
    return host if host and is_ip(host) else LOOPBACK


def exposure_warnings(environ: Mapping[str, str], bind: str, port: str) -> list[str]:
    warnings = []
    if not is_loopback(bind):
        warnings.append(
            f"WARNING: the web server listens on {host_port(bind, port)}, not only on this "
            "machine, with DEBUG on and the demo logins (their passwords are in the README): "
            "anyone who can reach that port can sign in as the operator. Unset BIND to listen "
            "on 127.0.0.1 only."
        )
    for name, default in (("DEPLOY_HTTP_LISTEN", "8080"), ("DEPLOY_HTTPS_LISTEN", "8443")):
        if name == "DEPLOY_HTTPS_LISTEN" and not tls_on(environ):
            continue
        listen = environ.get(name) or f"{LOOPBACK}:{default}"
        if not is_loopback(listen.rpartition(":")[0]):
            warnings.append(
                f"Note: deployed apps are served to other machines too ({name}={listen})."
            )
    return warnings


def tls_mode(environ: Mapping[str, str]) -> str:
    """DEPLOY_TLS as local mode reads it (config/settings/local.py: `internal` by default)."""
    return (environ.get("DEPLOY_TLS") or "internal").strip().lower()


def tls_on(environ: Mapping[str, str]) -> bool:
    return tls_mode(environ) in ("internal", "acme")


def ask_url(bind: str, port: str) -> str:
    """Where Caddy (on this machine) reaches the web server's TLS ask endpoint."""
    return f"http://{host_port(reachable_host(bind), port)}/internal/tls/ask"


def local_ca_root(environ: Mapping[str, str]) -> Path:
    return Path(environ["DEPLOY_RUNTIME_DIR"]).absolute().resolve() / LOCAL_CA_ROOT


def run_env(environ: Mapping[str, str], checkout: Path = ROOT) -> tuple[dict[str, str], list[str]]:
    """The variables `make run` exports (Procfile.local reads the QS_* ones), and warnings."""
    port = environ.get("PORT") or "8000"
    bind = bind_address(environ)
    verbose = environ.get("VERBOSE", "").strip().lower() in TRUE
    log_level = (environ.get("LOG_LEVEL") or ("INFO" if verbose else "WARNING")).upper()
    if log_level not in LOG_LEVELS:
        raise SystemExit(f"runlocal: LOG_LEVEL={log_level} is none of {sorted(LOG_LEVELS)}")
    chatty = verbose or log_level in ("DEBUG", "INFO")
    exports = {
        "PORT": port,
        "QS_WEB_PORT": port,  # honcho gives every process type a PORT of its own
        "BIND": bind,
        "QS_WEB_BIND": host_port(bind, port),
        "VERBOSE": "1" if verbose else "0",
        "LOG_LEVEL": log_level,
        # celery -q leaves out the start-up banner; -l sets the worker's and beat's log level.
        "QS_CELERY_OPTIONS": "" if chatty else "-q",
        "QS_CELERY_LOG_LEVEL": log_level.lower(),
        # gunicorn: its own messages at the same level; one line per request only when verbose.
        "QS_GUNICORN_OPTIONS": f"--log-level {log_level.lower()}"
        + (" --access-logfile -" if verbose else ""),
        "DEPLOY_RUNTIME_DIR": environ.get("DEPLOY_RUNTIME_DIR")
        or str(runtime_dir_default(checkout)),
        # honcho gives each process its own PORT: whoever renders Caddy's config (the worker)
        # must still name the web server's.
        "DEPLOY_TLS_ASK_URL": environ.get("DEPLOY_TLS_ASK_URL") or ask_url(bind, port),
    }
    asker = reachable_host(bind)
    if not is_loopback(asker) and not environ.get("DEPLOY_TLS_ASK_ALLOWED_NETWORKS"):
        # Caddy then reaches the web server at that address, and comes from it.
        exports["DEPLOY_TLS_ASK_ALLOWED_NETWORKS"] = f"127.0.0.0/8,::1/128,{asker}"
    if not chatty and not environ.get("PYTHONWARNINGS"):
        exports["PYTHONWARNINGS"] = CELERY_ROOT_WARNING
    return exports, exposure_warnings(environ, bind, port)


# --- ready ------------------------------------------------------------------------------------


def answers(url: str, host: str | None = None, ok_only: bool = False) -> bool:
    """True if `url` answers HTTP (with a 2xx/3xx status when `ok_only`)."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})  # noqa: S310
    try:
        with NO_PROXY.open(request, timeout=2) as response:
            return 200 <= response.status < 400
    except urllib.error.HTTPError as exc:
        return not ok_only or 300 <= exc.code < 400
    except (OSError, ValueError):
        return False


def wait_until(check: Callable[[], bool], timeout_s: float, step_s: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step_s)
    return True


def answers_https(address: str, port: str, host: str, cafile: Path | None) -> bool:
    """True if Caddy at address:port completes a TLS handshake for `host`, verified against
    `cafile` (the local CA; None: the system's), and answers GET / with a 2xx/3xx."""
    try:
        context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
        with (
            socket.create_connection((address, int(port)), timeout=2) as raw,
            context.wrap_socket(raw, server_hostname=host) as conn,
        ):
            conn.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            status = conn.recv(64).split(b"\r\n", 1)[0].split()
    except (OSError, ValueError):  # refused, no certificate (yet), no CA file yet
        return False
    return len(status) >= 2 and status[1][:1] in (b"2", b"3")


def apps_url(environ: Mapping[str, str], host: str) -> str:
    """The URL of an app's host, as Quayside shows it (apps/deploy/tls.py app_url)."""
    if tls_on(environ):
        listen = environ.get("DEPLOY_HTTPS_LISTEN") or f"{LOOPBACK}:8443"
        scheme, port = "https", environ.get("DEPLOY_HTTPS_PUBLIC_PORT") or listen.rpartition(":")[2]
    else:
        listen = environ.get("DEPLOY_HTTP_LISTEN") or f"{LOOPBACK}:8080"
        scheme, port = "http", environ.get("DEPLOY_PUBLIC_PORT") or listen.rpartition(":")[2]
    default = "443" if scheme == "https" else "80"
    return f"{scheme}://{host}" + ("" if port in ("", default) else f":{port}") + "/"


def demo_app_url(environ: Mapping[str, str]) -> str:
    apps_domain = environ.get("APPS_DOMAIN") or "apps.localhost"
    return apps_url(environ, f"hello-demo.{apps_domain}")


def banner(environ: Mapping[str, str], demo_app_live: bool) -> str:
    """The URLs and demo logins, and on which address the web server listens."""
    base = environ.get("BASE_DOMAIN") or "localhost"
    bind, port = environ.get("BIND") or LOOPBACK, environ.get("QS_WEB_PORT") or "8000"
    listen = environ.get("DEPLOY_HTTP_LISTEN") or f"{LOOPBACK}:8080"
    apps_domain = environ.get("APPS_DOMAIN") or "apps.localhost"
    site = f"http://{base}:{port}"
    demo_app = demo_app_url(environ)
    demo_state = "" if demo_app_live else "  (still deploying: see the demo console's Apps)"
    lines = [
        "",
        "  Quayside is running (Ctrl-C stops it):",
        f"    Operator admin  {site}/admin/",
        f"    API docs        {site}/api/docs/",
        f"    Demo tenant     http://demo.{base}:{port}/console/",
        f"    Demo app        {demo_app}{demo_state}",
        f"    Status page     {site}/status/demo/",
    ]
    if tls_on(environ):
        lines.append(
            f"    Apps (Caddy)    {apps_url(environ, f'<app>-<tenant>.{apps_domain}')}"
            f"  (plain HTTP on {listen} redirects there)"
        )
        if tls_mode(environ) == "internal" and environ.get("DEPLOY_RUNTIME_DIR"):
            lines.append(
                f"    Local CA        {local_ca_root(environ)}: trust it for no browser "
                'warnings (README, "HTTPS for apps")'
            )
    else:
        lines.append(f"    Apps (Caddy)    http://{listen}/  <app>-<tenant>.{apps_domain}")
    logins = [line.strip() for line in environ.get("QS_DEMO_LOGINS", "").splitlines()]
    if any(logins):
        lines.append("  Demo logins (made by seed_demo; their passwords are public):")
        lines += [f"    {line}" for line in logins if line]
    if is_loopback(bind):
        lines.append(
            f"  Listening on {host_port(bind, port)}: this machine only (BIND=0.0.0.0 opens it)."
        )
    lines += [f"  {warning}" for warning in exposure_warnings(environ, bind, port)]
    if environ.get("VERBOSE") != "1":
        lines.append(
            "  Logs: warnings and errors only; `make run VERBOSE=1` shows every request and task."
        )
    return "\n".join(lines) + "\n"


def cmd_ready(environ: Mapping[str, str]) -> int:
    bind, port = environ.get("BIND") or LOOPBACK, environ.get("QS_WEB_PORT") or "8000"
    web = f"http://{host_port(reachable_host(bind), port)}/healthz"
    listen = environ.get("DEPLOY_HTTP_LISTEN") or f"{LOOPBACK}:8080"
    listen_host, _, listen_port = listen.rpartition(":")
    caddy = f"http://{host_port(reachable_host(listen_host), listen_port)}/"
    demo_host = f"hello-demo.{environ.get('APPS_DOMAIN') or 'apps.localhost'}"

    def demo_live() -> bool:
        if tls_on(environ):
            tls_listen = environ.get("DEPLOY_HTTPS_LISTEN") or f"{LOOPBACK}:8443"
            tls_host, _, tls_port = tls_listen.rpartition(":")
            internal = tls_mode(environ) == "internal" and environ.get("DEPLOY_RUNTIME_DIR")
            cafile = local_ca_root(environ) if internal else None
            return answers_https(reachable_host(tls_host), tls_port, demo_host, cafile)
        return answers(caddy, demo_host, ok_only=True)

    if not wait_until(lambda: answers(web), WEB_TIMEOUT_S):
        print(f"The web server does not answer at {web} yet: see the messages above.", flush=True)
    live = wait_until(demo_live, DEMO_APP_TIMEOUT_S)
    print(banner(environ, live), flush=True)
    if not live and wait_until(demo_live, DEMO_APP_LATE_TIMEOUT_S, step_s=3.0):
        print(f"  The demo app is deployed: {demo_app_url(environ)}", flush=True)
    while True:  # honcho stops every process when one ends
        time.sleep(3600)


def main(argv: list[str]) -> int:
    if argv == ["env"]:
        exports, warnings = run_env(os.environ)
        for name, value in exports.items():
            print(f"export {name}={shlex.quote(value)}")
        for warning in warnings:
            print(f"runlocal: {warning}", file=sys.stderr)
        return 0
    if argv == ["ready"]:
        return cmd_ready(os.environ)
    print("usage: scripts/runlocal.py env|ready", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
