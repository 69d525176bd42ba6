"""Who runs an operation, whichever door they came in by (REST /execute or MCP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Caller:
    request: HttpRequest  # the Django request being served (headers for the in-process call)
    user: Any  # request.user: a person, or the key's ApiKeyPrincipal
    api_key: Any = None
    tenant: Any = None
    role: str | None = None  # role in the tenant (a key's is its authority)
    via: str = "rest"  # rest | mcp
    auth: Any = None  # the credential the outer request authenticated with (a token, a key)

    @property
    def ident(self) -> str:
        """The caller as a confirmation token is bound to it."""
        if self.api_key is not None:
            return f"key:{self.api_key.pk}"
        return f"user:{self.user.pk}"

    @property
    def is_operator(self) -> bool:
        return self.api_key is None and bool(getattr(self.user, "is_staff", False))

    @property
    def person(self):
        return None if self.api_key is not None else self.user

    @property
    def allowed_operations(self) -> list[str]:
        return list(getattr(self.api_key, "allowed_operations", None) or [])
