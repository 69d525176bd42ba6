"""An app's history in the tenant console: its releases with what changed (config keys, the
commit), rolling back to one after a confirmation page, and the activity feed (the audit log's
entries about the app and its deployments: who did what)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect

from apps.core.audit_selectors import audit_events_list

from .. import selectors, services
from ..models import Release, ReleaseStatus
from . import _common as c

RELEASES_PER_PAGE = 25
EVENTS_PER_PAGE = 50


@dataclass(frozen=True)
class ReleaseRow:
    release: Release
    added: list[str]
    removed: list[str]
    commit: str
    commit_changed: bool
    may_roll_back_to: bool


def _page_number(request: HttpRequest) -> int:
    value = request.GET.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 10_000 else 1


def releases_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """Newest first, a page at a time; each compared with the one before it (read with the
    page: one query for the page whatever its length)."""
    app = c.app_or_404(object_id)
    page = _page_number(request)
    start = (page - 1) * RELEASES_PER_PAGE
    releases = list(
        selectors.releases_list(app=app)
        .select_related("rollback_of")
        .order_by("-version")[start : start + RELEASES_PER_PAGE + 1]
    )
    shown, older = releases[:RELEASES_PER_PAGE], [*releases[1:], None]
    may_roll_back = c.may(request, c.ROLLBACK)
    rows = []
    for release, previous in zip(shown, older, strict=False):
        keys, before = set(release.config_keys), set(previous.config_keys if previous else [])
        commit = release.build.commit_sha[:8] if release.build else ""
        before_commit = previous.build.commit_sha[:8] if previous and previous.build else ""
        rows.append(
            ReleaseRow(
                release=release,
                added=sorted(keys - before),
                removed=sorted(before - keys),
                commit=commit,
                commit_changed=bool(previous) and commit != before_commit,
                may_roll_back_to=may_roll_back
                and release.status == ReleaseStatus.SUCCEEDED
                and release.build_id is not None
                and release.pk != app.current_release_id,
            )
        )
    return c.render(
        request,
        "console/deploy/releases.html",
        app=app,
        title=f"{app.name}: releases",
        tab="releases",
        rows=rows,
        page=page,
        has_next=len(releases) > RELEASES_PER_PAGE,
        may_restart=c.may(request, c.RESTART),
    )


def rollback_view(request: HttpRequest, object_id: str, release_id: str) -> HttpResponse:
    """GET: what rolling back to this release does; POST: do it (a new release, deployed)."""
    app = c.app_or_404(object_id)
    release = selectors.release_get(app=app, release_id=release_id)
    if release is None:
        raise Http404("No such release.")
    if request.method == "POST":
        c.require(request, c.ROLLBACK)
        deployment = c.run(
            request,
            f"Roll back to v{release.version}",
            lambda: services.release_rollback(
                app=app, release=release, tenant=request.tenant, actor=c.actor(request)
            ),
        )
        if deployment is not None:
            return HttpResponseRedirect(c.url("deployment", app.pk, deployment.pk))
        return HttpResponseRedirect(c.url("releases", app.pk))
    current = app.current_release
    return c.render(
        request,
        "console/deploy/rollback.html",
        app=app,
        title=f"{app.name}: roll back to v{release.version}",
        tab="releases",
        release=release,
        current=current,
        may_roll_back=c.may(request, c.ROLLBACK),
    )


def activity_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """The audit log's entries about this app and its deployments, newest first: one query
    per page."""
    app = c.app_or_404(object_id)
    page = _page_number(request)
    start = (page - 1) * EVENTS_PER_PAGE
    events = list(
        audit_events_list(tenant_ids=[request.tenant.pk]).filter(
            Q(target_type="deploy.app", target_id=str(app.pk))
            | Q(target_type="deploy.deployment", metadata__app=app.name)
        )[start : start + EVENTS_PER_PAGE + 1]
    )
    return c.render(
        request,
        "console/deploy/activity.html",
        app=app,
        title=f"{app.name}: activity",
        tab="activity",
        events=events[:EVENTS_PER_PAGE],
        page=page,
        has_next=len(events) > EVENTS_PER_PAGE,
    )
