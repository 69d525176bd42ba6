"""Regenerate the vendored schemas from checkouts of the upstream repositories.

    python tests/k8s/schemas/vendor.py GATEWAY_API_GIT_DIR CERT_MANAGER_GIT_DIR

Reads, at the pinned tags (git show, so bare clones do), Gateway API's standard-channel HTTPRoute
CRD and cert-manager's annotation-name constants, and writes the JSON files beside this script.
The only change made to the schema is that `description` texts are dropped (they do not take
part in validation and are most of the file's size)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).parent
GATEWAY_API_TAG = "v1.3.0"
HTTPROUTE_CRD = "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml"
CERT_MANAGER_TAG = "v1.19.6"
CM_CONSTANTS = ["pkg/apis/certmanager/v1/types.go", "pkg/apis/acme/v1/types.go"]
CM_SHIM = ["pkg/controller/certificate-shim/sync.go", "pkg/controller/certificate-shim/helper.go"]


GIT = shutil.which("git") or "git"


def git(repo: str, *args: str) -> str:
    return subprocess.run([GIT, "-C", repo, *args], check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def show(repo: str, tag: str, path: str) -> str:
    return git(repo, "show", f"{tag}:{path}")


def commit(repo: str, tag: str) -> str:
    return git(repo, "rev-parse", f"{tag}^{{commit}}").strip()


def strip_descriptions(node, *, in_properties: bool = False):
    """Drop schema `description`s; a *field* named description (a key of `properties`) stays."""
    if isinstance(node, list):
        return [strip_descriptions(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: strip_descriptions(value, in_properties=key == "properties" and not in_properties)
        for key, value in node.items()
        if in_properties or not (key == "description" and isinstance(value, str))
    }


def httproute(repo: str) -> None:
    text = show(repo, GATEWAY_API_TAG, HTTPROUTE_CRD)
    crd = yaml.safe_load(text)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    schema = strip_descriptions(version["schema"]["openAPIV3Schema"])
    out = HERE / "gateway.networking.k8s.io_v1_httproute.json"
    out.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    print(out.name, GATEWAY_API_TAG, commit(repo, GATEWAY_API_TAG),
          "sha256", hashlib.sha256(text.encode()).hexdigest())  # fmt: skip


def cert_manager(repo: str) -> None:
    constants: dict[str, str] = {}
    for path in CM_CONSTANTS:
        prefix = "cmacme" if "/acme/" in path else "cmapi"
        source = show(repo, CERT_MANAGER_TAG, path)
        for name, value in re.findall(r'^\s*(\w+)\s*=\s*"([^"]+)"', source, re.M):
            constants[f"{prefix}.{name}"] = value
    used = set()
    for path in CM_SHIM:
        used |= set(re.findall(r"\b(cm(?:api|acme)\.\w+)\b", show(repo, CERT_MANAGER_TAG, path)))
    keys = {
        name: constants[name]
        for name in sorted(used)
        if name in constants and "/" in constants[name] and "cert-manager.io" in constants[name]
    }
    out = HERE / "cert-manager_shim_annotations.json"
    doc = {
        "source": f"cert-manager {CERT_MANAGER_TAG} ({commit(repo, CERT_MANAGER_TAG)}): "
        f"constants in {', '.join(CM_CONSTANTS)} that {', '.join(CM_SHIM)} read",
        "annotations": keys,
    }
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(out.name, len(keys), "annotation keys")


if __name__ == "__main__":
    httproute(sys.argv[1])
    cert_manager(sys.argv[2])
