from __future__ import annotations

import re
import time

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.core.audit import audit_record
from apps.core.problems import InvalidInput

from .models import Domain, Membership, Role, Tenant, TenantStatus
from .provisioning import schema_create

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "apps",
        "auth",
        "billing",
        "console",
        "docs",
        "help",
        "login",
        "mail",
        "public",
        "quayside",
        "root",
        "signup",
        "static",
        "status",
        "support",
        "www",
    }
)


def schema_name_for(slug: str) -> str:
    return "t_" + slug.replace("-", "_")


def tenant_slug_validate(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_PATTERN.match(slug) or "--" in slug:
        raise InvalidInput(
            "Use 3 to 40 lower-case letters, digits and single hyphens, "
            "starting and ending with a letter or digit.",
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise InvalidInput(f"'{slug}' is reserved.", field="slug", code="reserved")
    return slug


@transaction.atomic
def tenant_create(*, name: str, slug: str, owner=None, actor=None) -> Tenant:
    """Create a tenant with its schema, primary domain and (optionally) its owner's membership.

    Everything happens in one transaction: a failure leaves no row and no schema behind."""
    slug = tenant_slug_validate(slug)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("A name of 1 to 100 characters is required.", field="name")
    if Tenant.objects.filter(slug=slug).exists():
        raise InvalidInput(f"The slug '{slug}' is taken.", field="slug", code="taken")

    started = time.perf_counter()
    tenant = Tenant(name=name, slug=slug, schema_name=schema_name_for(slug))
    try:
        with transaction.atomic():
            tenant.save()
    except IntegrityError as exc:  # a concurrent request took the slug first
        raise InvalidInput(f"The slug '{slug}' is taken.", field="slug", code="taken") from exc
    Domain.objects.create(domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True)
    path = schema_create(tenant)
    tenant.status = TenantStatus.ACTIVE
    tenant.save(update_fields=["status", "updated_at"])
    if owner is not None:
        Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
    audit_record(
        action="tenant.created",
        actor=actor or owner,
        tenant=tenant,
        target=tenant,
        metadata={
            "slug": slug,
            "schema_path": path,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return tenant
