"""Fixtures of the tenants tests: a full team in tenant alpha, and invitations."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model

from apps.core.actor import Actor
from apps.tenants import services
from apps.tenants.models import Membership, Role


@pytest.fixture
def make_user(db):
    def make(email: str, *, staff: bool = False):
        return get_user_model().objects.create_user(
            username=email, email=email, password="pw-" + email, is_staff=staff
        )

    return make


@pytest.fixture
def team(world, make_user) -> SimpleNamespace:
    """Tenant alpha with one person per role (owner alice, admin dave, member erin, viewer
    frank), plus bob (owner of bravo), the outsider charlie and the operator."""
    alpha = world["tenant_a"]
    people = {
        "admin": make_user("dave@example.com"),
        "member": make_user("erin@example.com"),
        "viewer": make_user("frank@example.com"),
    }
    memberships = {
        role: Membership.objects.create(tenant=alpha, user=user, role=role)
        for role, user in people.items()
    }
    memberships["owner"] = Membership.objects.get(tenant=alpha, user=world["alice"])
    return SimpleNamespace(
        alpha=alpha,
        bravo=world["tenant_b"],
        owner=world["alice"],
        admin=people["admin"],
        member=people["member"],
        viewer=people["viewer"],
        outsider=world["outsider"],
        operator=world["operator"],
        bob=world["bob"],
        memberships=memberships,
        bob_membership=Membership.objects.get(tenant=world["tenant_b"], user=world["bob"]),
    )


@pytest.fixture
def invite(db):
    """invite(tenant, email, role="member", by=None) -> (invitation, token), as its owner."""

    def make(tenant, email: str, role: str = Role.MEMBER, by=None):
        invitation = services.invitation_create(
            tenant=tenant, email=email, role=role, actor=Actor(user=by, role=Role.OWNER)
        )
        return invitation, services.invitation_token(invitation)

    return make
