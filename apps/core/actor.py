"""Who acts: one `Actor` for every service in every app.

An actor is a person (`user`), an API key acting for its tenant (`api_key`), an operator (a
staff user; `is_operator`) or Quayside itself (`SYSTEM`: a task, a webhook, a management command;
`system_label` names it). `role` is the caller's role in the tenant when it is known (a key's is
its authority): services that check "only an admin may…" or "a key's authority may not exceed the
caller's role" read it. Services take `actor: Actor` as a keyword-only argument and record it
with `apps.core.audit.audit_as`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


def _is_api_key(auth) -> bool:
    return bool(getattr(auth, "is_api_key", False))


@dataclass(frozen=True)
class Actor:
    user: Any = None
    api_key: Any = None
    role: str | None = None
    system_label: str = ""

    @classmethod
    def from_request(cls, request, *, role: str | None = None) -> Actor:
        """The caller of a DRF request (a person or an API key; `request.tenant_role` is their
        role) or of a console/admin request (the signed-in person). `role` overrides the role
        read from the request (consoles work it out themselves)."""
        role = role if role is not None else getattr(request, "tenant_role", None)
        auth = getattr(request, "auth", None)
        if _is_api_key(auth):
            return cls(api_key=auth, role=role or auth.authority)
        user = getattr(request, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            user = None
        return cls(user=user, role=role)

    @classmethod
    def system(cls, label: str = "quayside") -> Actor:
        """Quayside itself, named `label` where a label is kept (a deployment's starter)."""
        return cls(system_label=label)

    def with_role(self, role: str | None) -> Actor:
        """The same actor with `role` (an operator acting as a tenant's owner, say)."""
        return replace(self, role=role)

    @property
    def kind(self) -> str:
        """api_key | operator | person | system."""
        if self.api_key is not None:
            return "api_key"
        if self.user_id is not None:
            return "operator" if self.is_operator else "person"
        return "system"

    @property
    def is_operator(self) -> bool:
        """A staff user (an operator, also when acting inside a tenant)."""
        return self.user_id is not None and bool(getattr(self.user, "is_staff", False))

    @property
    def user_id(self):
        user = self.user
        return user.pk if user is not None and getattr(user, "is_authenticated", False) else None

    @property
    def person(self):
        """The user behind the actor for a foreign key (`created_by`), or None."""
        return self.user if self.user_id is not None else None

    @property
    def label(self) -> str:
        """How it is named in a row (e.g. a deployment's `started_by_label`)."""
        if self.system_label:
            return self.system_label
        if self.api_key is not None:
            return str(self.api_key)[:255]
        if self.user_id is not None:
            return (getattr(self.user, "email", "") or str(self.user))[:255]
        return ""

    @property
    def display_name(self) -> str:
        """How it is named in a message to people ("Quayside" when no one in particular)."""
        if self.api_key is not None:
            return f"API key {self.api_key}"
        if self.user_id is not None:
            return getattr(self.user, "email", "") or str(self.user)
        return "Quayside"


SYSTEM = Actor.system()
