"""The emulator's HTTP side: the Kubernetes REST paths, over plain HTTP on 127.0.0.1.

    /api/v1[/namespaces/NS]/PLURAL[/NAME[/status|/log]]
    /apis/GROUP/VERSION[/namespaces/NS]/PLURAL[/NAME[/status]]
    /apis/metrics.k8s.io/v1beta1[/namespaces/NS]/pods   (only while metrics are switched on)
    /version

GET (one or a list, with labelSelector), POST, PUT (resourceVersion checked), PATCH (apply-patch
with fieldManager and force; merge and strategic-merge patches as JSON merge patches), DELETE.
No watch, no dry run, no authentication (the kubeconfig has none)."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from .resources import BY_PATH, RESOURCES, Resource
from .store import ApiError, Store

APPLY = "application/apply-patch+yaml"
MERGE = ("application/merge-patch+json", "application/strategic-merge-patch+json")


def parse_selector(text: str):
    """A label selector ("a=b,c!=d,e,!f", set-based `in`/`notin` too) as a predicate."""
    tests = []
    for term in re.findall(r"[^,(]+(?:\([^)]*\))?", text or ""):
        term = term.strip()
        if not term:
            continue
        if m := re.fullmatch(r"(\S+)\s+(in|notin)\s+\(([^)]*)\)", term):
            key, op, values = m[1], m[2], {v.strip() for v in m[3].split(",")}
            tests.append(lambda labels, k=key, o=op, v=values: (labels.get(k) in v) == (o == "in"))
        elif "!=" in term:
            key, value = term.split("!=", 1)
            tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif term.startswith("!"):
            tests.append(lambda labels, k=term[1:]: k not in labels)
        else:
            tests.append(lambda labels, k=term: k in labels)
    return lambda labels: all(test(labels) for test in tests)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body are two writes: without this, Nagle and delayed ACKs add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # --- plumbing ----------------------------------------------------------------------------
    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise ApiError(400, "BadRequest", f"the body is not JSON or YAML: {exc}") from exc

    def _route(self) -> tuple[Resource | None, str | None, str | None, str, dict]:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", f"the server could not find {url.path}")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest:
            raise ApiError(404, "NotFound", f"the server could not find {url.path}")
        if group == "metrics.k8s.io":
            return None, namespace, None, "metrics", query
        res = BY_PATH.get((group, version, rest[0]))
        if res is None:
            raise ApiError(404, "NotFound", f"the server could not find the resource {url.path}")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        if res.namespaced and name is not None and namespace is None:
            raise ApiError(404, "NotFound", f"{res.plural} is namespaced: {url.path}")
        return res, namespace, name, sub, query

    def _handle(self, method: str) -> None:
        try:
            if urlsplit(self.path).path == "/version":
                major, minor = self.server.store.k8s_version.split(".")[:2]
                self._send(
                    200, {"major": major, "minor": minor, "gitVersion": f"v{major}.{minor}.0"}
                )
                return
            res, namespace, name, sub, query = self._route()
            if "dryRun" in query:
                raise ApiError(400, "BadRequest", "the emulator does not implement dryRun")
            if sub == "metrics":
                self._metrics(namespace)
            else:
                self.server.requests.append((method, self.path))
                getattr(self, f"_{method.lower()}")(res, namespace, name, sub, query)
        except ApiError as exc:
            self._send(exc.code, exc.status())

    do_GET = lambda self: self._handle("GET")  # noqa: E731
    do_POST = lambda self: self._handle("POST")  # noqa: E731
    do_PUT = lambda self: self._handle("PUT")  # noqa: E731
    do_PATCH = lambda self: self._handle("PATCH")  # noqa: E731
    do_DELETE = lambda self: self._handle("DELETE")  # noqa: E731

    # --- verbs -------------------------------------------------------------------------------
    def _get(self, res, namespace, name, sub, query) -> None:
        store = self.server.store
        if name is None:
            selector = parse_selector(query["labelSelector"]) if "labelSelector" in query else None
            items = store.list(res, namespace, selector)
            self._send(
                200,
                {
                    "kind": f"{res.kind}List",
                    "apiVersion": res.api_version,
                    "metadata": {"resourceVersion": str(len(store.objects))},
                    "items": items,
                },
            )
        elif sub == "log" and res.plural == "pods":
            pod = store.get(res, namespace, name)
            if pod["status"].get("phase") == "Pending":
                raise ApiError(
                    400, "BadRequest", f'container "app" in pod "{name}" is waiting to start'
                )
            lines = list(store.logs.get((namespace, name), []))
            if "tailLines" in query:
                lines = lines[-int(query["tailLines"]) :] if int(query["tailLines"]) else []
            text = "".join(f"{line}\n" for line in lines).encode()
            self._send(200, text, "text/plain")
        else:
            self._send(200, store.get(res, namespace, name))

    def _post(self, res, namespace, name, sub, query) -> None:
        manager = query.get("fieldManager", "unknown")
        self._send(201, self.server.store.create(res, namespace, self._body(), manager=manager))

    def _put(self, res, namespace, name, sub, query) -> None:
        manager = query.get("fieldManager", "unknown")
        obj = self.server.store.update(
            res, namespace, name, self._body(), manager=manager, status_only=sub == "status"
        )
        self._send(200, obj)

    def _patch(self, res, namespace, name, sub, query) -> None:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        store = self.server.store
        if content_type == APPLY:
            if "fieldManager" not in query:
                raise ApiError(400, "BadRequest", "PATCH, fieldManager is required for apply")
            force = query.get("force") in ("true", "True", "1")
            created = store.objects.get(store.key(res, namespace, name)) is None
            obj = store.apply(
                res, namespace, name, self._body(), manager=query["fieldManager"], force=force
            )
            self._send(201 if created else 200, obj)
        elif content_type in MERGE:
            manager = query.get("fieldManager", "unknown")
            obj = store.patch(
                res, namespace, name, self._body(), manager=manager, status_only=sub == "status"
            )
            self._send(200, obj)
        else:
            raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {content_type}")

    def _delete(self, res, namespace, name, sub, query) -> None:
        if name is None:
            raise ApiError(405, "MethodNotAllowed", "the emulator does not delete collections")
        self.server.store.delete(res, namespace, name)
        self._send(
            200,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Success",
                "metadata": {},
                "details": {"name": name, "kind": res.plural},
            },
        )

    def _metrics(self, namespace: str | None) -> None:
        samples = self.server.metrics
        if samples is None:  # like a cluster without metrics-server
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        items = [
            m for m in samples() if namespace is None or m["metadata"]["namespace"] == namespace
        ]
        self._send(
            200,
            {
                "kind": "PodMetricsList",
                "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {},
                "items": items,
            },
        )


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, store: Store) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.store = store
        self.requests: list[tuple[str, str]] = []
        self.metrics = None  # a callable returning PodMetrics items, when "installed"
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.05,), name="k8s-emulator", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


__all__ = ["RESOURCES", "EmulatorHTTPServer"]
