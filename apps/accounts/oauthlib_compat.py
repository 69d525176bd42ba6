"""Makes allauth's device grant work with the pinned oauthlib (4.0.1).

oauthlib 4 checks a polled device code itself, through `RequestValidator.validate_device_code`
(RFC 8628 §3.5 statuses). django-allauth 65.21.1 asks for oauthlib>=4 but its validator has no
such method: allauth checks the device code before it calls oauthlib (its `poll_device_code`
answers authorization_pending, slow_down, expired_token, access_denied, and consumes an approved
code), then hands oauthlib the approving user and the scope. Without the method every approved
login ends in a 500 (AttributeError). The method added here reports what allauth already found:
authorized when allauth put the approving user on the request, else an invalid grant.

Added only when allauth lacks it, so a fixed allauth replaces it by itself."""

from __future__ import annotations

from oauthlib.oauth2.rfc6749.utils import scope_to_list
from oauthlib.oauth2.rfc8628.grant_types.device_code import DeviceCodeGrant


def validate_device_code(self, client_id, code, request, *args, **kwargs):
    if getattr(request, "user", None) is None:  # allauth did not approve this poll
        return None
    if getattr(request, "scopes", None) is None:
        request.scopes = scope_to_list(request.scope) or request.client.get_default_scopes()
    return DeviceCodeGrant.DEVICE_CODE_AUTHORIZED


def install() -> None:
    from allauth.idp.oidc.internal.oauthlib.request_validator import OAuthLibRequestValidator

    if not hasattr(OAuthLibRequestValidator, "validate_device_code"):
        OAuthLibRequestValidator.validate_device_code = validate_device_code
