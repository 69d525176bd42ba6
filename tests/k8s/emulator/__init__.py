"""A Kubernetes API emulator for tests: a real HTTP server that the provider's real client
(lightkube) talks to through a generated kubeconfig. See docs/kubernetes.md ("What is emulated")
for exactly what it does and does not do.

    with Emulator() as k8s:
        k8s.kubeconfig        # a file to point DEPLOY_K8S_KUBECONFIG at
        k8s.store             # the objects (store.find("Deployment", namespace, **labels))
        k8s.controller        # behave(image, mode), job_outcome(...), metrics(True)

Why not kmock (PyPI, nolar/kmock 0.8): it is an in-memory dict-over-HTTP for Kopf operators;
it stores a write *before* any user reaction runs (so a schema check could not refuse it),
merges every write as a plain dict merge (no server-side apply, no field managers, no
managedFields, no resourceVersion checks), has no label selectors, no subresources (status,
log) and says of itself that it is early and will break its API. Extending it would mean
replacing its request handling, i.e. writing this anyway on top of private modules."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from .controller import FakeController, wait_for
from .server import EmulatorHTTPServer
from .store import ApiError, Store


class Emulator:
    def __init__(self, *, k8s_version: str = "1.34.0", controller: bool = True) -> None:
        self.store = Store(k8s_version=k8s_version)
        self.server = EmulatorHTTPServer(self.store)
        self.controller = FakeController(self.store, self.server)
        self._run_controller = controller
        self._dir = tempfile.TemporaryDirectory(prefix="k8s-emulator-")
        self.kubeconfig = str(Path(self._dir.name) / "kubeconfig")

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> Emulator:
        self.server.start()
        if self._run_controller:
            self.controller.start()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "quayside", "user": {}}],
            "contexts": [
                {"name": "emulator", "context": {"cluster": "emulator", "user": "quayside"}}
            ],
            "current-context": "emulator",
        }
        Path(self.kubeconfig).write_text(yaml.safe_dump(config))
        return self

    def stop(self) -> None:
        self.controller.stop()
        self.server.stop()
        self._dir.cleanup()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


__all__ = ["ApiError", "Emulator", "FakeController", "Store", "wait_for"]
