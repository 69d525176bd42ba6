"""The signed-in person's landing page on the root host: /accounts/ (LOGIN_REDIRECT_URL)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from apps.tenants.selectors import memberships_for_user

from .mfa_policy import mfa_state_for_user


@login_required
def account_home(request: HttpRequest) -> HttpResponse:
    memberships = list(memberships_for_user(user=request.user).order_by("tenant__name"))
    for membership in memberships:  # each workspace's console, on its own host (handoff.py)
        membership.console_url = reverse("account_console_open", args=[membership.tenant.slug])
    return render(
        request,
        "account/home.html",
        {
            "memberships": memberships,
            "mfa": mfa_state_for_user(user=request.user),
            "base_domain": settings.BASE_DOMAIN,
        },
    )
