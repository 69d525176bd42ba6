"""Helpers of the operations tests: people of tenant alpha by role, API keys, calls."""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from apps.accounts.services import api_key_create
from apps.core.actor import Actor
from apps.tenants.models import Membership


def people(world) -> SimpleNamespace:
    """Tenant alpha's owner alice plus an admin, a member and a viewer (this test's rows)."""
    alpha = world["tenant_a"]
    made = {}
    for role, name in (("admin", "dana"), ("member", "ed"), ("viewer", "fay")):
        email = f"{name}@ops.example"
        user = get_user_model().objects.create_user(username=email, email=email, password="x")
        Membership.objects.create(tenant=alpha, user=user, role=role)
        made[role] = user
    return SimpleNamespace(owner=world["alice"], alpha=alpha, **made)


def make_key(tenant, owner, *, authority: str = "admin", allowed=()) -> tuple:
    """(ApiKey, raw key) made by the tenant's owner."""
    return api_key_create(
        tenant=tenant,
        name="agent",
        authority=authority,
        allowed_operations=list(allowed),
        actor=Actor(user=owner, role="owner"),
    )


def key_client(raw_key: str, tenant=None) -> APIClient:
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    if tenant is not None:
        headers["HTTP_X_TENANT_ID"] = tenant.slug
    client.credentials(**headers)
    return client


def execute(client, name: str, data: dict | None = None, token: str | None = None):
    body: dict = {"input": data or {}}
    if token is not None:
        body["confirmation_token"] = token
    return client.post(f"/api/v1/operations/{name}/execute", body, format="json")
