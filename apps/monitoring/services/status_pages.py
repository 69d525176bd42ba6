"""Public status pages: create, update, delete, the monitors they show, their routes, and the
cached page generation they invalidate."""

from __future__ import annotations

import functools
import re
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from apps.core.actor import Actor
from apps.core.audit import audit_as
from apps.core.model_update import model_update, refuse_unknown
from apps.core.problems import ApplicationError, Conflict, InvalidInput
from apps.core.versioning import version_bump, version_lock

from ..models import Monitor, StatusPage, StatusPageMonitor
from ..schedule.models import StatusPageRoute
from ..selectors import status_page_generation_key

STATUS_PAGE_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$")
# Slugs that would read as something of ours (or be confusing) on /status/<slug>/.
RESERVED_STATUS_SLUGS = frozenset({
    "about", "admin", "api", "app", "apps", "assets", "auth", "billing", "blog", "console",
    "dashboard", "docs", "help", "json", "login", "logout", "media", "new", "ping", "quayside",
    "root", "security", "settings", "signup", "static", "status", "support", "system", "www",
})  # fmt: skip
STATUS_PAGE_FIELDS = ("slug", "title", "description", "announcement", "public", "monitor_ids")


class StatusPageNotFound(ApplicationError):
    status = 404
    slug = "not-found"


def _status_slug_check(slug: str) -> str:
    if not STATUS_PAGE_SLUG.match(slug or ""):
        raise InvalidInput(
            "3 to 50 lowercase letters, digits and hyphens, starting and ending with a letter "
            "or digit.",
            field="slug",
        )
    if slug in RESERVED_STATUS_SLUGS:
        raise InvalidInput(f"{slug!r} is reserved: choose another slug.", field="slug",
                           code="reserved")  # fmt: skip
    return slug


def _status_monitor_ids(monitor_ids) -> list:
    """The ids in their order, each once, all monitors of this tenant (else 400 naming
    monitor_ids)."""
    ids: list = []
    for value in monitor_ids or ():
        try:
            pk = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        except ValueError:
            raise InvalidInput(f"{value!r} is not a monitor id.", field="monitor_ids") from None
        if pk not in ids:
            ids.append(pk)
    limit = settings.MONITORING_STATUS_PAGE_MAX_MONITORS
    if len(ids) > limit:
        raise InvalidInput(f"A status page shows at most {limit} monitors.", field="monitor_ids")
    known = set(Monitor.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    unknown = [str(pk) for pk in ids if pk not in known]
    if unknown:
        raise InvalidInput(
            f"No such monitor: {', '.join(unknown[:5])}{' …' if len(unknown) > 5 else ''}.",
            field="monitor_ids",
            code="does_not_exist",
        )
    return ids


def _status_entries_write(page: StatusPage, ids: list) -> None:
    StatusPageMonitor.objects.filter(page=page).delete()
    StatusPageMonitor.objects.bulk_create(
        StatusPageMonitor(page=page, monitor_id=pk, position=n) for n, pk in enumerate(ids)
    )


def _status_route_claim(*, slug: str, tenant, page: StatusPage, create: bool) -> None:
    """Write the public slug index; a slug in use anywhere (any tenant) is 409 conflict."""
    taken = Conflict(f"The status page slug {slug!r} is taken: choose another.",
                     extra={"field": "slug"})  # fmt: skip
    if StatusPageRoute.objects.filter(slug=slug).exclude(page_id=page.pk).exists():
        raise taken
    try:
        with transaction.atomic():  # a savepoint: a concurrent claim loses cleanly
            if create:
                StatusPageRoute.objects.create(slug=slug, tenant_id=tenant.pk, page_id=page.pk)
            else:
                StatusPageRoute.objects.filter(page_id=page.pk).update(slug=slug)
    except IntegrityError:
        raise taken from None


def _status_cache_forget(*slugs: str) -> None:
    transaction.on_commit(functools.partial(_status_generation_bump, slugs))


def _status_generation_bump(slugs) -> None:
    for slug in slugs:
        key = status_page_generation_key(slug)
        cache.add(key, 0, timeout=None)
        cache.incr(key)


def _status_pages_forget() -> None:
    """A change every page of the tenant may show (a monitor renamed or deleted, maintenance)."""
    _status_cache_forget(*StatusPage.objects.values_list("slug", flat=True))


@transaction.atomic
def status_page_create(
    *,
    tenant,
    actor: Actor,
    slug: str,
    title: str,
    description: str = "",
    announcement: str = "",
    public: bool = True,
    monitor_ids=(),
) -> StatusPage:
    slug = _status_slug_check(slug)
    if not (title or "").strip():
        raise InvalidInput("A title is required.", field="title")
    ids = _status_monitor_ids(monitor_ids)
    page = StatusPage(slug=slug, title=title.strip(), description=description,
                      announcement=announcement, public=public,
                      created_by_id=actor.user_id)  # fmt: skip
    _status_route_claim(slug=slug, tenant=tenant, page=page, create=True)
    page.save()
    _status_entries_write(page, ids)
    _status_cache_forget(slug)
    audit_as(actor, "status_page.created", tenant=tenant, target=page, slug=slug,
             monitors=len(ids))  # fmt: skip
    return page


@transaction.atomic
def status_page_update(
    *, page: StatusPage, tenant, actor: Actor, expected_version: int | None = None, **changes
) -> StatusPage:
    """`expected_version`: the version the caller read (stale: 409 version-conflict)."""
    refuse_unknown(changes, STATUS_PAGE_FIELDS)
    page = StatusPage.objects.select_for_update().get(pk=page.pk)
    version_lock(page, expected=expected_version)
    old_slug = page.slug
    changed: list[str] = []
    if "monitor_ids" in changes:
        ids = _status_monitor_ids(changes.pop("monitor_ids"))
        current = list(
            StatusPageMonitor.objects.filter(page=page).values_list("monitor_id", flat=True)
        )
        if ids != current:
            _status_entries_write(page, ids)
            changed.append("monitor_ids")
    if "slug" in changes and changes["slug"] != page.slug:
        _status_route_claim(slug=_status_slug_check(changes["slug"]), tenant=tenant, page=page,
                            create=False)  # fmt: skip
    if "title" in changes:
        if not (changes["title"] or "").strip():
            raise InvalidInput("A title is required.", field="title")
        changes["title"] = changes["title"].strip()
    changed += model_update(page, changes.keys(), changes)
    if not changed:
        return page
    page.save()  # also when only the monitors changed: updated_at says the page changed
    version_bump(page)
    _status_cache_forget(old_slug, page.slug)
    audit_as(actor, "status_page.updated", tenant=tenant, target=page, fields=sorted(changed))
    return page


@transaction.atomic
def status_page_delete(
    *, page: StatusPage, tenant, actor: Actor, expected_version: int | None = None
) -> None:
    version_lock(page, expected=expected_version)
    StatusPageRoute.objects.filter(page_id=page.pk).delete()
    _status_cache_forget(page.slug)
    audit_as(actor, "status_page.deleted", tenant=tenant, target=page, slug=page.slug)
    page.delete()
