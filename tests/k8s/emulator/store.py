"""The emulator's object store: what an API server does between the HTTP request and etcd.

- every write is checked against the official OpenAPI schemas (kubernetes-validate, strict: an
  unknown field is an error, as with `kubectl apply --validate=strict`) before it is stored;
  a custom resource (HTTPRoute) against its CRD's published schema, vendored in tests/k8s/schemas;
- server-side apply (https://kubernetes.io/docs/reference/using-api/server-side-apply/): each
  field manager owns the leaf fields it applied; applying a field another manager owns with a
  different value is a 409 Conflict unless `force`; fields a manager applied before and leaves
  out now are removed (unless another manager owns them); `metadata.managedFields` records it.
  Simplification: every list is atomic (the real server merges some lists by key, e.g.
  containers by name);
- `resourceVersion` (one counter for the whole store) changes on every write; an update (PUT)
  whose body names an older resourceVersion is a 409 Conflict;
- `generation` grows when anything but metadata and status changes; `uid`, creationTimestamp;
- deleting a Namespace deletes what is in it; deleting an object deletes what names it as an
  owner (ownerReferences), as the garbage collector would (at once: no finalizers);
- ResourceQuota admission for pods (count and limits.memory/limits.cpu);
- an immutable Secret's (or ConfigMap's) data cannot change.

Everything is in memory, under one lock."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import threading
import uuid
from typing import Any

import kubernetes_validate

from ..schemas import crd_problem
from .resources import BY_KIND, Resource

Key = tuple[str, str, str, str]  # api_version, kind, namespace ("" for cluster), name
Path = tuple[str, ...]
SKIP_TOP = {"apiVersion", "kind", "status"}
SKIP_META = {"name", "namespace", "resourceVersion", "managedFields", "uid", "generation"}
SKIP_META |= {"creationTimestamp", "deletionTimestamp"}


class ApiError(Exception):
    """An error the server answers with a Status object."""

    def __init__(self, code: int, reason: str, message: str, causes: list | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.causes = code, reason, message, causes or []

    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.causes:
            body["details"] = {"causes": self.causes}
        return body


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def leaves(obj: Any, prefix: Path = ()) -> dict[Path, Any]:
    """The leaf fields of an object's managed part: dicts recurse, lists and scalars are
    leaves, and so is an empty dict (e.g. `emptyDir: {}`)."""
    out: dict[Path, Any] = {}
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            if not prefix and key in SKIP_TOP:
                continue
            if prefix == ("metadata",) and key in SKIP_META:
                continue
            out.update(leaves(value, (*prefix, key)))
    elif prefix:
        out[prefix] = obj
    return out


def get_path(obj: dict, path: Path) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def set_path(obj: dict, path: Path, value: Any) -> None:
    for part in path[:-1]:
        if not isinstance(obj.get(part), dict):
            obj[part] = {}
        obj = obj[part]
    obj[path[-1]] = copy.deepcopy(value)


def del_path(obj: dict, path: Path) -> None:
    parents = []
    for part in path[:-1]:
        if not isinstance(obj.get(part), dict):
            return
        parents.append((obj, part))
        obj = obj[part]
    obj.pop(path[-1], None)
    for parent, part in reversed(parents):  # prune dicts left empty
        if parent[part] == {}:
            del parent[part]


def fields_v1(paths) -> dict:
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return tree


_MISSING = object()


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (strategic merge patch is treated the same)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Store:
    def __init__(self, *, k8s_version: str = "1.34.0") -> None:
        self.k8s_version = k8s_version
        self.lock = threading.RLock()
        self.objects: dict[Key, dict] = {}
        self.owners: dict[Key, dict[str, set[Path]]] = {}  # key → manager → fields
        self.operations: dict[Key, dict[str, str]] = {}  # key → manager → "Apply"|"Update"
        self.logs: dict[tuple[str, str], list[str]] = {}  # (namespace, pod) → lines
        self.rejected: list[dict] = []  # every 422, for tests to look at
        self._rv = itertools.count(1000)

    # --- reading ---------------------------------------------------------------------------
    def get(self, res: Resource, namespace: str, name: str) -> dict:
        with self.lock:
            obj = self.objects.get(self.key(res, namespace, name))
            if obj is None:
                raise ApiError(404, "NotFound", f'{res.plural} "{name}" not found')
            return copy.deepcopy(obj)

    def list(self, res: Resource, namespace: str | None, selector=None) -> list[dict]:
        with self.lock:
            items = [
                copy.deepcopy(obj)
                for (api_version, kind, ns, _), obj in sorted(self.objects.items())
                if (api_version, kind) == (res.api_version, res.kind)
                and (namespace is None or ns == namespace)
                and (selector is None or selector(obj.get("metadata", {}).get("labels") or {}))
            ]
        return items

    def find(self, kind: str, namespace: str | None = None, **labels: str) -> list[dict]:
        """Objects of `kind` (in `namespace`) whose labels include `labels` (tests, controller)."""
        with self.lock:
            return [
                copy.deepcopy(obj)
                for (_, k, ns, _), obj in sorted(self.objects.items())
                if k == kind
                and (namespace is None or ns == namespace)
                and labels.items() <= (obj["metadata"].get("labels") or {}).items()
            ]

    # --- writing ---------------------------------------------------------------------------
    def create(self, res: Resource, namespace: str, body: dict, *, manager: str) -> dict:
        with self.lock:
            name = body.get("metadata", {}).get("name")
            if not name:
                raise ApiError(422, "Invalid", f"{res.kind}: metadata.name: Required value")
            key = self.key(res, namespace, name)
            if key in self.objects:
                raise ApiError(409, "AlreadyExists", f'{res.plural} "{name}" already exists')
            obj = self._fill(res, namespace, copy.deepcopy(body), None)
            if res.kind == "Pod":
                self._admit_pod(namespace, obj)
            self.owners[key] = {manager: set(leaves(obj))}
            self.operations[key] = {manager: "Update"}
            return self._store(res, key, obj)

    def update(
        self,
        res: Resource,
        namespace: str,
        name: str,
        body: dict,
        *,
        manager: str,
        status_only: bool = False,
    ) -> dict:
        """PUT: replace the object (or its status), refusing a stale resourceVersion."""
        with self.lock:
            key = self.key(res, namespace, name)
            old = self.objects.get(key)
            if old is None:
                raise ApiError(404, "NotFound", f'{res.plural} "{name}" not found')
            sent_rv = body.get("metadata", {}).get("resourceVersion")
            if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {res.plural} "{name}": the object has '
                    "been modified; please apply your changes to the latest version and try again",
                )
            if status_only:
                new = copy.deepcopy(old)
                new["status"] = copy.deepcopy(body.get("status", {}))
            else:
                new = copy.deepcopy(body)
                new.setdefault("metadata", {})
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
            return self._write(res, key, old, new, manager=manager)

    def patch(
        self,
        res: Resource,
        namespace: str,
        name: str,
        patch: dict,
        *,
        manager: str,
        status_only: bool = False,
    ) -> dict:
        with self.lock:
            key = self.key(res, namespace, name)
            old = self.objects.get(key)
            if old is None:
                raise ApiError(404, "NotFound", f'{res.plural} "{name}" not found')
            if status_only:
                patch = {"status": patch.get("status", {})}
            new = merge_patch(old, patch)
            return self._write(res, key, old, new, manager=manager)

    def apply(
        self, res: Resource, namespace: str, name: str, config: dict, *, manager: str, force: bool
    ) -> dict:
        """Server-side apply of `config` by `manager`."""
        with self.lock:
            meta = config.get("metadata") or {}
            if meta.get("name") not in (None, name):
                raise ApiError(400, "BadRequest", "the name of the object does not match the URL")
            if (config.get("apiVersion"), config.get("kind")) != (res.api_version, res.kind):
                raise ApiError(
                    400,
                    "BadRequest",
                    f"apply: apiVersion/kind must be {res.api_version}/{res.kind}",
                )
            key = self.key(res, namespace, name)
            old = self.objects.get(key)
            wanted = leaves(config)
            if old is None:
                obj = self._fill(res, namespace, copy.deepcopy(config), None)
                obj["metadata"]["name"] = name
                if res.kind == "Pod":
                    self._admit_pod(namespace, obj)
                self.owners[key] = {manager: set(wanted)}
                self.operations[key] = {manager: "Apply"}
                return self._store(res, key, obj)
            owners = self.owners.setdefault(key, {})
            conflicts = []
            for path, value in wanted.items():
                for other, fields in owners.items():
                    if other != manager and path in fields and get_path(old, path) != value:
                        conflicts.append((other, path))
            if conflicts and not force:
                causes = [
                    {
                        "type": "FieldManagerConflict",
                        "message": f'conflict with "{other}"',
                        "field": "." + ".".join(path),
                    }
                    for other, path in conflicts
                ]
                fields = ", ".join(c["field"] for c in causes)
                raise ApiError(409, "Conflict", f"Apply failed with conflicts: {fields}", causes)
            new = copy.deepcopy(old)
            for other, fields in owners.items():
                if other != manager:
                    fields -= {path for path in wanted if get_path(old, path) != wanted[path]}
            others = set().union(*(f for m, f in owners.items() if m != manager))
            for path in owners.get(manager, set()) - set(wanted) - others:
                del_path(new, path)
            for path, value in wanted.items():
                set_path(new, path, value)
            owners[manager] = set(wanted)
            self.operations.setdefault(key, {})[manager] = "Apply"
            return self._write(res, key, old, new, manager=None)

    def delete(self, res: Resource, namespace: str, name: str) -> dict:
        with self.lock:
            key = self.key(res, namespace, name)
            obj = self.objects.get(key)
            if obj is None:
                raise ApiError(404, "NotFound", f'{res.plural} "{name}" not found')
            self._remove(key)
            return obj

    def add_log(self, namespace: str, pod: str, *lines: str) -> None:
        with self.lock:
            self.logs.setdefault((namespace, pod), []).extend(lines)

    # --- internals ---------------------------------------------------------------------------
    @staticmethod
    def key(res: Resource, namespace: str | None, name: str) -> Key:
        return (res.api_version, res.kind, namespace or "" if res.namespaced else "", name)

    def _fill(self, res: Resource, namespace: str, obj: dict, old: dict | None) -> dict:
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            if meta.get("namespace") not in (None, namespace):
                raise ApiError(400, "BadRequest", "the namespace of the object does not match")
            meta["namespace"] = namespace
            ns_key = ("v1", "Namespace", "", namespace)
            if old is None and ns_key not in self.objects:
                raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')
        else:
            meta.pop("namespace", None)
        meta["uid"] = old["metadata"]["uid"] if old else str(uuid.uuid4())
        meta["creationTimestamp"] = old["metadata"]["creationTimestamp"] if old else now()
        if "spec" in obj or res.kind in ("Deployment", "ReplicaSet", "Job"):
            generation = old["metadata"].get("generation", 1) if old else 1
            if old is not None and _body(old) != _body(obj):
                generation += 1
            meta["generation"] = generation
        if res.kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj.setdefault("status", {"phase": "Active"})
        return obj

    def _write(self, res: Resource, key: Key, old: dict, new: dict, *, manager: str | None):
        immutable = res.kind in ("Secret", "ConfigMap") and old.get("immutable")
        if immutable and any(old.get(f) != new.get(f) for f in ("data", "immutable")):
            raise ApiError(
                422,
                "Invalid",
                f'{res.kind} "{key[3]}" is invalid: data: Forbidden: field is immutable '
                "when `immutable` is set",
            )
        new = self._fill(res, key[2], new, old)
        new["metadata"]["name"] = key[3]
        if manager is not None:  # an update: the fields it changed become its own
            before, after = leaves(old), leaves(new)
            changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
            owners = self.owners.setdefault(key, {})
            for fields in owners.values():
                fields -= changed
            owners.setdefault(manager, set()).update(p for p in changed if p in after)
            self.operations.setdefault(key, {}).setdefault(manager, "Update")
        return self._store(res, key, new)

    def _store(self, res: Resource, key: Key, obj: dict) -> dict:
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        obj["metadata"]["managedFields"] = [
            {
                "manager": manager,
                "operation": self.operations.get(key, {}).get(manager, "Update"),
                "apiVersion": res.api_version,
                "time": now(),
                "fieldsType": "FieldsV1",
                "fieldsV1": fields_v1(fields),
            }
            for manager, fields in sorted(self.owners.get(key, {}).items())
            if fields
        ]
        self.validate(obj)
        self.objects[key] = obj
        return copy.deepcopy(obj)

    def validate(self, obj: dict) -> None:
        """Raise 422 Invalid unless `obj` passes the official (or, for a CRD, published) schema."""
        res = BY_KIND.get((obj.get("apiVersion"), obj.get("kind")))
        if res is not None and res.crd:
            problem = crd_problem(obj)
        else:
            try:
                kubernetes_validate.validate(obj, self.k8s_version, strict=True)
                problem = ""
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                problem = f"{path or '(root)'}: {exc.message}"
            except kubernetes_validate.SchemaNotFoundError as exc:
                problem = str(exc)
        if problem:
            self.rejected.append({"object": obj, "problem": problem})
            raise ApiError(422, "Invalid", f"{obj.get('kind')} is invalid: {problem}")

    def _remove(self, key: Key) -> None:
        obj = self.objects.pop(key, None)
        self.owners.pop(key, None)
        self.operations.pop(key, None)
        if obj is None:
            return
        if key[1] == "Pod":
            self.logs.pop((key[2], key[3]), None)
        uid = obj["metadata"]["uid"]
        for other_key, other in list(self.objects.items()):
            refs = other["metadata"].get("ownerReferences") or []
            in_namespace = key[1] == "Namespace" and other_key[2] == key[3]
            if in_namespace or any(ref.get("uid") == uid for ref in refs):
                self._remove(other_key)

    def _admit_pod(self, namespace: str, pod: dict) -> None:
        """ResourceQuota admission: refuse a pod that would exceed a quota of its namespace."""
        pods = [
            p
            for p in self.find("Pod", namespace)
            if p["status"].get("phase") not in ("Succeeded", "Failed")
        ]
        for quota in self.find("ResourceQuota", namespace):
            hard = quota["spec"].get("hard", {})
            used = {"pods": len(pods), "limits.memory": 0, "limits.cpu": 0}
            for p in [*pods, pod]:
                for c in p["spec"]["containers"]:
                    lim = c.get("resources", {}).get("limits", {})
                    used["limits.memory"] += parse_quantity(lim.get("memory", "0"))
                    used["limits.cpu"] += parse_quantity(lim.get("cpu", "0"))
            used["pods"] += 1
            for name in ("pods", "count/pods", "limits.memory", "limits.cpu"):
                if name in hard and used[name.replace("count/", "")] > parse_quantity(hard[name]):
                    metadata_name = quota["metadata"]["name"]
                    raise ApiError(
                        403,
                        "Forbidden",
                        f'pods "{pod["metadata"]["name"]}" is forbidden: exceeded quota: '
                        f"{metadata_name}, requested: {name}, limited: {name}={hard[name]}",
                    )


def _body(obj: dict) -> str:
    return json.dumps(
        {k: v for k, v in obj.items() if k not in ("metadata", "status")}, sort_keys=True
    )


SUFFIXES = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "m": 0.001,
}


def parse_quantity(value: str | int | float) -> float:
    """A Kubernetes quantity ("512Mi", "250m", "2") as a number."""
    text = str(value)
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * SUFFIXES[suffix]
    return float(text)
