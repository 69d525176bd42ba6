"""Tenants test helpers that tests import (fixtures stay in conftest.py)."""

from __future__ import annotations

from types import SimpleNamespace


def caller(team: SimpleNamespace, who: str):
    """The user called `who` in the role tables: owner, admin, member, viewer, outsider,
    operator."""
    return {
        "owner": team.owner,
        "admin": team.admin,
        "member": team.member,
        "viewer": team.viewer,
        "outsider": team.outsider,
        "operator": team.operator,
    }[who]
