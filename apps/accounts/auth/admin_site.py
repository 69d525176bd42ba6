"""The operator console (Django admin) signs people in through allauth, so MFA applies to it.

`admin_site_secure(admin.site)`:
- `/admin/login/` redirects to `/accounts/login/?next=…` (allauth's `secure_admin_login`, the way
  allauth documents it), so the admin's own password form can no longer skip the second factor;
  signed-in non-staff get 403.
- with settings.MFA_REQUIRED_FOR_STAFF, every admin page first sends staff without an
  authenticator to the TOTP enrolment page (logging out stays possible)."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from allauth.account.decorators import secure_admin_login
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.http import HttpResponseRedirect
from django.urls import reverse

from .mfa_policy import staff_mfa_enrolment_pending

_SECURED = "_quayside_auth_secured"


def admin_site_secure(site: AdminSite) -> None:
    if getattr(site, _SECURED, False):
        return
    site.login = secure_admin_login(site.login)
    site.admin_view = _mfa_enrolment_guard(site.admin_view)
    setattr(site, _SECURED, True)


def _mfa_enrolment_guard(admin_view):
    """Wraps AdminSite.admin_view, which every admin URL (sites and model admins) goes through
    at request time."""

    @wraps(admin_view)
    def guarded_admin_view(view, cacheable=False):
        protected = admin_view(view, cacheable)

        @wraps(protected)
        def inner(request, *args, **kwargs):
            match = getattr(request, "resolver_match", None)
            if match is not None and match.url_name == "logout":
                return protected(request, *args, **kwargs)
            if staff_mfa_enrolment_pending(user=request.user):
                messages.warning(
                    request,
                    "Set up two-factor authentication before using the operator console.",
                )
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reverse('mfa_activate_totp')}?{query}")
            return protected(request, *args, **kwargs)

        return inner

    return guarded_admin_view
