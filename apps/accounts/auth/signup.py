"""What a sign-up adds to a new user: their personal tenant, and the audit event.

Called by the allauth adapters (apps/accounts/auth/adapters.py) inside the transaction that
saves the user, for password and social sign-ups alike."""

from __future__ import annotations

import re
import secrets
import unicodedata

from django.db import transaction

from apps.core.audit import audit_record
from apps.core.problems import InvalidInput
from apps.tenants.models import Tenant
from apps.tenants.services import RESERVED_SLUGS, tenant_create

SLUG_MIN, SLUG_MAX = 3, 40
# Room for a "-xxxxxx" suffix when the plain slug is taken.
SLUG_BASE_MAX = SLUG_MAX - 7
NAME_MAX = 100
PERSONAL_NAME_FALLBACK = "Personal workspace"


def personal_slug_base(email: str) -> str:
    """`Jane.Doe+ci@example.com` → `jane-doe`: the email's local part as a valid tenant slug."""
    local = (email or "").split("@", 1)[0].split("+", 1)[0]
    ascii_only = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")
    slug = slug[:SLUG_BASE_MAX].strip("-")
    if len(slug) < SLUG_MIN:
        slug = f"{slug}-workspace" if slug else "workspace"
    return slug


def personal_slug_choose(email: str) -> str:
    """The first free slug among `base`, `base-2` … `base-9`, else `base-<random>`."""
    base = personal_slug_base(email)
    candidates = [base, *(f"{base}-{n}" for n in range(2, 10))]
    taken = set(Tenant.objects.filter(slug__in=candidates).values_list("slug", flat=True))
    for slug in candidates:
        if slug not in taken and slug not in RESERVED_SLUGS:
            return slug
    return personal_slug_random(base)


def personal_slug_random(base: str) -> str:
    return f"{base}-{secrets.token_hex(3)}"


def personal_tenant_name(user) -> str:
    who = (user.first_name or "").strip() or (user.email or "").split("@", 1)[0].strip()
    if not who:
        return PERSONAL_NAME_FALLBACK
    name = f"{who}'s workspace"
    return name if len(name) <= NAME_MAX else PERSONAL_NAME_FALLBACK


@transaction.atomic
def personal_tenant_create(*, user) -> Tenant:
    """The new user's own tenant, owned by them. A slug taken by a concurrent sign-up between
    the check and the insert is retried with a random suffix."""
    name = personal_tenant_name(user)
    slug = personal_slug_choose(user.email)
    for _attempt in range(3):
        try:
            return tenant_create(name=name, slug=slug, owner=user)
        except InvalidInput as exc:
            if exc.errors[0]["code"] != "taken":
                raise
            slug = personal_slug_random(personal_slug_base(user.email))
    return tenant_create(name=name, slug=slug, owner=user)


@transaction.atomic
def user_provision(*, user, method: str) -> Tenant:
    """Everything a freshly signed-up user gets. `method`: `password` or `social:<provider>`."""
    tenant = personal_tenant_create(user=user)
    audit_record(
        action="user.signed_up",
        actor=user,
        tenant=tenant,
        target=user,
        metadata={"method": method, "personal_tenant": tenant.slug},
    )
    return tenant
