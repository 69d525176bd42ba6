"""Git push webhooks: `POST /webhooks/git/<app id>/` on the root host.

GitHub signs the body with the app's webhook secret (`X-Hub-Signature-256: sha256=<hmac>`);
GitLab sends the secret itself (`X-Gitlab-Token`). Anything else, or a wrong signature (a header
with characters outside ASCII included), is 401 problem details. The signature is checked first;
then the delivery is recorded under its delivery id (unique), so a redelivered event is answered
200 and does nothing. A push is also recorded under the SHA-256 of its body (unique per app): the
delivery id is not covered by GitHub's signature, so a captured push sent again under a new id is
a replay, answered 200 `duplicate`, and cannot roll the app back to an old commit. Then a push to
the app's branch queues a deployment of the pushed commit (202). Other events and other branches
are answered 200 and ignored, and so are pushes to a suspended tenant's app (a 4xx would count as
a failing hook: GitLab disables hooks that keep failing)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_tenants.utils import tenant_context

from apps.core.problems import ApplicationError, problem_response
from apps.tenants.models import Tenant, TenantStatus

from . import selectors, services
from .models import App, WebhookDelivery

logger = logging.getLogger(__name__)

ZERO_SHA = "0" * 40


def _unauthorized(request, detail: str) -> HttpResponse:
    return problem_response(request, status=401, slug="not-authenticated", detail=detail)


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison of bytes. Django decodes headers as latin-1, and
    `hmac.compare_digest` refuses str with characters outside ASCII (TypeError): such a header
    cannot match an ASCII secret, so it is a mismatch."""
    try:
        given_bytes = given.encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected.encode(), given_bytes)


def _github_signature_ok(secret: str, body: bytes, header: str) -> bool:
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return _same(expected, header.removeprefix("sha256="))


@csrf_exempt
@require_POST
def git_webhook(request, app_id):
    located = selectors.app_locate(app_id)
    if located is None:
        return problem_response(request, status=404, slug="not-found", detail="No such app.")
    tenant = Tenant.objects.get(pk=located.tenant_id)
    with tenant_context(tenant):
        app = App.objects.get(pk=app_id)
        return _receive(request, app, tenant)


def _receive(request, app: App, tenant) -> HttpResponse:
    secret = services.webhook_secret(app)
    body = request.body
    headers = request.headers
    if "X-Hub-Signature-256" in headers:
        if not _github_signature_ok(secret, body, headers["X-Hub-Signature-256"]):
            return _unauthorized(request, "The X-Hub-Signature-256 signature does not match.")
        provider = "github"
        event = headers.get("X-GitHub-Event", "")
        delivery_id = headers.get("X-GitHub-Delivery", "")
    elif "X-Gitlab-Token" in headers:
        if not secret or not _same(secret, headers["X-Gitlab-Token"]):
            return _unauthorized(request, "The X-Gitlab-Token does not match.")
        provider = "gitlab"
        event = headers.get("X-Gitlab-Event", "")
        delivery_id = (
            headers.get("X-Gitlab-Event-UUID")
            or headers.get("X-Gitlab-Webhook-UUID")
            or headers.get("Idempotency-Key", "")
        )
    else:
        return _unauthorized(
            request, "Sign deliveries: GitHub's X-Hub-Signature-256 or GitLab's X-Gitlab-Token."
        )
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return problem_response(
            request, status=400, slug="malformed-request", detail="The body is not JSON."
        )
    if not isinstance(payload, dict):
        return problem_response(
            request, status=400, slug="malformed-request", detail="The body is not an object."
        )
    body_sha256 = hashlib.sha256(body).hexdigest()
    if not delivery_id:
        delivery_id = "sha256:" + body_sha256
    is_push = (provider == "github" and event == "push") or (
        provider == "gitlab" and event in ("Push Hook", "push")
    )
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                app=app,
                provider=provider,
                delivery_id=delivery_id[:100],
                event=event[:50],
                # The same signed push body again, whatever its delivery id, is a replay.
                body_sha256=body_sha256 if is_push else "",
            )
    except IntegrityError:
        return JsonResponse({"status": "duplicate", "delivery_id": delivery_id})

    if provider == "github" and event == "ping":
        return _done(delivery, "pong", 200)
    if not is_push:
        return _done(delivery, f"ignored: {event or 'unknown'} event", 200)
    ref = str(payload.get("ref", ""))
    sha = str(payload.get("after") or payload.get("checkout_sha") or "")
    if ref != f"refs/heads/{app.branch}":
        return _done(delivery, f"ignored: push to {ref}, not {app.branch}", 200)
    if not sha or sha == ZERO_SHA:
        return _done(delivery, "ignored: branch deleted", 200)
    if tenant.status == TenantStatus.SUSPENDED:
        # 2xx, not 423: git hosts count 4xx answers as failures and GitLab disables a hook that
        # keeps failing, so deploys would stay off after the tenant is reinstated.
        return _done(delivery, "ignored: tenant suspended", 200)
    try:
        deployment = services.deployment_create(
            app=app,
            tenant=tenant,
            actor=services.Actor.system(f"{provider} webhook"),
            ref=sha,
            source=provider,
        )
    except ApplicationError as exc:
        return _done(delivery, f"not deployed: {exc.detail}", 200)
    delivery.deployment = deployment
    return _done(delivery, "deployment queued", 202, deployment_id=str(deployment.pk))


def _done(delivery: WebhookDelivery, outcome: str, status: int, **extra) -> HttpResponse:
    delivery.outcome = outcome[:100]
    delivery.save(update_fields=["outcome", "deployment"])
    return JsonResponse({"status": outcome, **extra}, status=status)
