"""Public status pages on the root host: `/status/<slug>/` (HTML) and `/status/<slug>/json`.

No login. A page is found through the public index (slug -> tenant, page), then read in its
tenant's schema by one selector with a constant number of queries. The rendered answer is cached
in Redis for MONITORING_STATUS_PAGE_CACHE_S, keyed by slug (the services delete the keys when
the page changes; see _entry for stale-while-revalidate), so a cache hit costs no query;
answers carry Cache-Control and an ETag, and a matching If-None-Match gets 304."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe
from django_tenants.utils import schema_context

from apps.core.problems import problem_response

from . import selectors

STATUS_LABELS = {
    "up": "Operational",
    "down": "Down",
    "pending": "No data yet",
    "paused": "Paused",
    "maintenance": "Under maintenance",
}
OVERALL_LABELS = {
    "operational": "All systems operational",
    "degraded": "Some systems are down",
    "major_outage": "Major outage",
    "maintenance": "Maintenance in progress",
}
LEVEL_LABELS = {
    "full": "99.9 % or more",
    "high": "99-99.9 %",
    "partial": "95-99 %",
    "low": "under 95 %",
    "maintenance": "maintenance only",
    "no_data": "no data",
}


def _payload(slug: str) -> dict | None:
    route = selectors.status_route_get(slug)
    if route is None:
        return None
    with schema_context(route.tenant.schema_name):
        return selectors.status_page_payload(page_id=route.page_id)


def _when(iso: str | None) -> str:
    if not iso:
        return ""
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"


def _bars(days: list[str], monitor: dict) -> str:
    """The 90 bars of one monitor, built here rather than in the template: 90 x monitors
    template nodes were the bulk of the render time. Only dates, numbers and fixed words."""
    parts = []
    for day, pct, level in zip(
        days, monitor["daily_uptime_pct"], monitor["daily_level"], strict=True
    ):
        if pct is not None:
            text = f"{day}: {pct:g} % up"
        else:
            text = f"{day}: {'maintenance' if level == 'maintenance' else 'no data'}"
        parts.append(f'<span class="bar {level}" title="{text}"></span>')
    return "".join(parts)


def _html(payload: dict) -> str:
    monitors = [
        {
            **monitor,
            "label": STATUS_LABELS.get(monitor["status"], monitor["status"]),
            "bars": mark_safe(_bars(payload["days"], monitor)),  # noqa: S308 (no user input)
            "summary": (
                "90-day uptime: no data"
                if monitor["uptime_90d_pct"] is None
                else f"90-day uptime {monitor['uptime_90d_pct']:g} %"
            ),
        }
        for monitor in payload["monitors"]
    ]
    incidents = [
        {
            **i,
            "started": _when(i["started_at"]),
            "resolved": _when(i["resolved_at"]),
            "duration": _duration(i["duration_s"]),
        }
        for i in payload["incidents"]
    ]
    windows = [
        {**w, "starts": _when(w["starts_at"]), "ends": _when(w["ends_at"])}
        for w in payload["maintenance"]
    ]
    context = {
        "p": payload,
        "page": payload["page"],
        "overall_label": OVERALL_LABELS[payload["status"]],
        "monitors": monitors,
        "open_incidents": [i for i in incidents if i["status"] == "open"],
        "resolved_incidents": [i for i in incidents if i["status"] != "open"],
        "windows": windows,
        "levels": LEVEL_LABELS.items(),
        "generated": _when(payload["generated_at"]),
        "first_day": payload["days"][0],
        "cache_s": settings.MONITORING_STATUS_PAGE_CACHE_S,
    }
    return render_to_string("status/page.html", context)


def _entry(slug: str, kind: str) -> dict | None:
    """{"body", "etag", "content_type", "fresh_until"} from the cache, or rendered and cached;
    None: 404. An entry is fresh for MONITORING_STATUS_PAGE_CACHE_S and kept as long again:
    past its freshness one request (holding a short lock) renders it anew while the others are
    still served the stale copy, so a busy page never renders more than once at a time. Edits
    delete the entry (services), so they show at once."""
    ttl = settings.MONITORING_STATUS_PAGE_CACHE_S
    key = selectors.status_page_cache_keys(slug)[0 if kind == "html" else 1]
    entry = cache.get(key)
    if entry is not None and (
        entry["fresh_until"] > time.time() or not cache.add(f"{key}:lock", 1, timeout=10)
    ):
        return entry
    try:
        payload = _payload(slug)
        if payload is None:
            return None
        if kind == "html":
            body, content_type = _html(payload), "text/html; charset=utf-8"
        else:
            body, content_type = json.dumps(payload, separators=(",", ":")), "application/json"
        entry = {
            "body": body.encode(),
            "etag": f'"{hashlib.sha256(body.encode()).hexdigest()[:32]}"',
            "content_type": content_type,
            "fresh_until": time.time() + ttl,
        }
        cache.set(key, entry, timeout=2 * ttl)
        return entry
    finally:
        cache.delete(f"{key}:lock")


def _answer(request: HttpRequest, entry: dict) -> HttpResponse:
    cache_control = f"public, max-age={settings.MONITORING_STATUS_PAGE_CACHE_S}"
    headers = {"ETag": entry["etag"], "Cache-Control": cache_control}
    match = request.headers.get("If-None-Match", "")
    if entry["etag"] in [tag.strip() for tag in match.split(",")] or match.strip() == "*":
        response = HttpResponseNotModified(headers=headers)
        return response
    return HttpResponse(entry["body"], content_type=entry["content_type"], headers=headers)


@require_safe
def status_page(request: HttpRequest, slug: str) -> HttpResponse:
    entry = _entry(slug, "html")
    if entry is None:
        return render(request, "404.html", status=404)
    return _answer(request, entry)


@require_safe
def status_page_json(request: HttpRequest, slug: str) -> HttpResponse:
    entry = _entry(slug, "json")
    if entry is None:
        return problem_response(
            request, status=404, slug="not-found", detail="There is no public status page here."
        )
    return _answer(request, entry)
