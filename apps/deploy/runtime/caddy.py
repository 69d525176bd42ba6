"""Caddy: its whole JSON config rendered from the host table, loaded through the admin API.

Facts this relies on (docs/deploy.md, ../shared/notes/local-runtime-measurements.md):
- the admin API listens on a unix socket in a 0700 directory and wants an empty Host header;
- every real config change restarts the HTTP server and closes idle keep-alive connections of
  every app, so the config is loaded only when the host table changes (compared with what Caddy
  reports), never on a release switch: routes dial a stable per-app symlink instead;
- an identical config is a no-op; with no routes Caddy answers 200 with an empty body, so the
  last route is a catch-all 404; autosave is off (`admin.config.persist: false`) because the
  control plane is the source of truth (the rendered file is what Caddy starts from)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from .base import Route, RuntimeProblem

SERVER = "quayside"
# What the router answers (503) for the hosts of an app that does not run, by route kind.
UNAVAILABLE_BODIES = {
    "stopped": "This app is not running.\n",
    "suspended": "This app is unavailable: its account is suspended.\n",
}


def render_config(
    *,
    routes: list[Route],
    admin_socket: str,
    listen: str,
    socket_path_for,
    site_root_for,
    storage_dir: str,
) -> dict:
    """The whole config. `socket_path_for(app_key, index)` and `site_root_for(app_key)` give the
    stable paths a route points at; switching a release changes their targets, not this."""
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
    rendered.append(
        {
            "@id": "catch-all",
            "handle": [
                {"handler": "static_response", "status_code": 404, "body": "No such app.\n"}
            ],
        }
    )
    return {
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
