"""Roles inside a tenant and what they rank. See ARCHITECTURE.md §4."""

from .models import Role

RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_at_least(role: str | None, minimum: str) -> bool:
    return role is not None and RANK[Role(role)] >= RANK[Role(minimum)]
