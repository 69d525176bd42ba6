"""Auth routes: allauth's pages under /accounts/ and its headless JSON API under /api/v1/auth/.

The headless API keeps allauth's own layout, so allauth's clients and its OpenAPI document work
unchanged with `/api/v1/auth` as their base URL: `/api/v1/auth/app/v1/auth/login`,
`…/app/v1/auth/signup`, `…/app/v1/tokens/refresh`, and the document at
`/api/v1/auth/openapi.json`. Ours, `/api/v1/auth/me`, comes first."""

from django.contrib import admin
from django.urls import include, path, re_path

from apps.accounts.auth.admin_site import admin_site_secure
from apps.accounts.auth.handoff import console_handoff, console_open
from apps.accounts.auth.me import MeView
from apps.accounts.auth.pages import account_home

# The admin signs people in through allauth (MFA included); see admin_site.py.
admin_site_secure(admin.site)

page_urlpatterns: list = [
    path("", account_home, name="account_home"),
    path("open/<slug:slug>/", console_open, name="account_console_open"),
    path("handoff/", console_handoff, name="account_console_handoff"),
    path("", include("allauth.urls")),
]
api_urlpatterns: list = [
    re_path(r"^me/?$", MeView.as_view(), name="auth-me"),
    path("", include("allauth.headless.urls")),
]
