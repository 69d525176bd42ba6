"""The tenant's API keys in the console (/console/team/api-keys/): the list (prefix…last 8,
authority, expiry, last use), making one (name, authority, an optional expiry day) and revoking
one after a confirmation page. Owners and admins only, as in the API
(apps/accounts/api/api_keys.py); members and viewers are told who manages keys and get 403 on a
forged POST. The raw key is on the page that answers the create POST and nowhere else: nothing
keeps it (no message, no session), the page is not cached, and its script swaps the address for
the list's, so reloading shows the list, not the key (nor makes a second one)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.cache import never_cache

from apps.tenants.console import console_role
from apps.tenants.models import Role
from apps.tenants.roles import role_at_least

from . import console_common as c
from . import selectors, services
from .models import ApiKeyAuthority

MANAGE = Role.ADMIN  # the API's floor for list, create, revoke


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=services.NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "CI deploys"}),
    )
    authority = forms.ChoiceField(
        choices=ApiKeyAuthority.choices,
        initial=ApiKeyAuthority.MEMBER,
        help_text="member: deploy and operate apps; admin: also members, keys and settings.",
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional: the key stops working at 00:00 UTC that day.",
    )

    def clean_expires_on(self) -> dt.datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        moment = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        if moment <= timezone.now():
            raise forms.ValidationError("Choose a day after today.")
        return moment


@never_cache
def api_keys_view(request: HttpRequest) -> HttpResponse:
    """GET: the keys; POST: make one, answered with its raw key, once."""
    allowed = c.may(request, MANAGE)
    form = ApiKeyCreateForm()
    status = 200
    if request.method == "POST":
        c.require(request, MANAGE)
        form = ApiKeyCreateForm(request.POST)
        if form.is_valid():
            made = c.run(
                request,
                form.cleaned_data["name"],
                lambda: services.api_key_create(
                    tenant=request.tenant,
                    name=form.cleaned_data["name"],
                    authority=form.cleaned_data["authority"],
                    expires_at=form.cleaned_data["expires_on"],
                    actor=c.actor(request),
                ),
            )
            if made is not None:
                key, raw = made
                return c.render(
                    request,
                    "console/team/secret_once.html",
                    title=f"API key {key.name}",
                    tab="api_keys",
                    heading=f"Your new API key: {key.name}",
                    secret=raw,
                    what="API key",
                    kept="Quayside keeps only its hash; if it is lost, make a new key.",
                    usage="Send it as Authorization: Bearer <key> (or X-API-Key) with X-Tenant-ID.",
                    back_url=c.url("team_api_keys"),
                    back_label="Back to API keys",
                )
        status = 400
    keys, page, has_next = [], 1, False
    if _reads(request):
        keys, page, has_next = c.paged(
            selectors.api_key_list(tenant=request.tenant).order_by("-created_at", "-id"), request
        )
    return c.render(
        request,
        "console/team/api_keys.html",
        title="API keys",
        tab="api_keys",
        keys=keys,
        page=page,
        has_next=has_next,
        form=form,
        may_manage=allowed,
        may_read=_reads(request),
        status=status,
    )


def _reads(request: HttpRequest) -> bool:
    """Owners and admins read the keys (also while the tenant is read-only)."""
    return role_at_least(console_role(request), MANAGE)


def api_key_revoke_view(request: HttpRequest, key_id) -> HttpResponse:
    """GET: what revoking does; POST: revoke (at once; it stays listed as revoked)."""
    c.require(request, MANAGE)
    key = selectors.api_key_get(tenant=request.tenant, key_id=key_id)
    if key is None:
        raise Http404("No such API key.")
    if request.method == "POST":
        c.require(request, MANAGE)
        done = c.run(
            request,
            key.name,
            lambda: services.api_key_revoke(api_key=key, actor=c.actor(request)),
        )
        if done is not None:
            messages.success(request, f"{key.name} ({key.prefix}…{key.last8}) is revoked.")
        return HttpResponseRedirect(c.url("team_api_keys"))
    return c.render(
        request,
        "console/team/confirm.html",
        title=f"Revoke {key.name}?",
        tab="api_keys",
        heading=f"Revoke {key.name} ({key.prefix}…{key.last8})?",
        explanation=(
            "Every request that presents it is refused from now on. This cannot be undone: "
            "make a new key if you need one."
        ),
        allowed=c.may(request, MANAGE) and key.is_active,
        refusal="This key is no longer active." if not key.is_active else "",
        button="Revoke key",
        danger=True,
        cancel_url=c.url("team_api_keys"),
    )
