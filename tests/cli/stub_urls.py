"""TEST-ONLY STUB of /api/v1/operations (issue 16, part 1, built on another branch): just enough
of its contract for `quay ops` to be tested against a live server. Replace it with the real
endpoint once that is merged (tests/cli/stub_settings.py points the tenant URLs here).

Contract: `GET /api/v1/operations` lists operations; `POST /api/v1/operations/{name}/execute`
with {"input": {...}}; a high-risk operation first answers 409 problem details of type
`/problems/confirmation-required` with `confirmation_token` and `summary`; the same call with
{"confirmation_token": ...} executes. Tokens are single use (kept in the cache, which all
gunicorn workers share), bound to the operation and its input."""

from __future__ import annotations

import hashlib
import json
import secrets

from django.core.cache import cache
from django.http import JsonResponse
from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.response import Response

from config.urls_tenant import urlpatterns as tenant_urlpatterns

OPERATIONS = {
    "app.restart": {"risk": "low", "role": "member", "description": "Restart an app."},
    "app.delete": {"risk": "high", "role": "admin", "description": "Delete an app."},
}


@api_view(["GET"])
def operations_list(request):
    return Response([{"name": name, **spec} for name, spec in OPERATIONS.items()])


@api_view(["POST"])
def operation_execute(request, name: str):
    spec = OPERATIONS.get(name)
    if spec is None:
        return JsonResponse(
            {"type": "/problems/not-found", "title": "Not found", "status": 404,
             "detail": f"No operation {name!r}."},
            status=404, content_type="application/problem+json",
        )  # fmt: skip
    data = request.data.get("input") or {}
    digest = hashlib.sha256(f"{name}:{json.dumps(data, sort_keys=True)}".encode()).hexdigest()
    if spec["risk"] == "high":
        token = request.data.get("confirmation_token")
        if not token or cache.get(f"stub-op-confirm:{token}") != digest:
            token = secrets.token_urlsafe(16)
            cache.set(f"stub-op-confirm:{token}", digest, timeout=300)
            return JsonResponse(
                {"type": "/problems/confirmation-required", "title": "Confirmation required",
                 "status": 409, "detail": "Repeat the call with confirmation_token.",
                 "confirmation_token": token,
                 "summary": f"This deletes the app {data.get('app')!r} and everything in it."},
                status=409, content_type="application/problem+json",
            )  # fmt: skip
        cache.delete(f"stub-op-confirm:{token}")
    # How many times this operation ran: a declined confirmation must not have run it.
    key = f"stub-op-runs:{name}"
    cache.add(key, 0, timeout=300)
    runs = cache.incr(key)
    return Response({"operation": name, "input": data, "executed": runs})


urlpatterns = [
    path("api/v1/operations", operations_list),
    path("api/v1/operations/<str:name>/execute", operation_execute),
    *tenant_urlpatterns,
]
