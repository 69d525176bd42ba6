"""What the console app-page tests share: a person per role in alpha, requests on alpha's host,
and the console URLs of an app's pages."""

from __future__ import annotations

import pytest

from apps.tenants.models import Membership, Role

HOST = "alpha.localhost"
BASE = "/console/deploy/app/"


@pytest.fixture
def people(world, django_user_model) -> dict:
    """alpha's owner (alice), one person per other role, bravo's owner (bob)."""
    made = {"owner": world["alice"], "bob": world["bob"], "outsider": world["outsider"]}
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        email = f"{role}-apps@example.com"
        user = django_user_model.objects.create_user(
            username=email, email=email, password=f"pw-{role}"
        )
        Membership.objects.create(tenant=world["tenant_a"], user=user, role=role)
        made[role] = user
    return made


def get(client, user, path, host=HOST, **extra):
    client.force_login(user)
    return client.get(path, HTTP_HOST=host, **extra)


def post(client, user, path, data=None, host=HOST):
    client.force_login(user)
    return client.post(path, data or {}, HTTP_HOST=host)


def page(app, suffix: str = "") -> str:
    return f"{BASE}{app.pk}/{suffix}"
