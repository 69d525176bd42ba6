"""Basic credentials in an HTTP monitor's URL (`https://user:password@host/…`).

The userinfo (`user:password`, or a lone token as in `https://<token>@host/`) is a credential.
When a monitor is saved it is split off the URL (`split`) and kept encrypted (apps.core.crypto) in
Monitor.url_credentials_encrypted; Monitor.url never holds it. Checks send it as a Basic
Authorization header (checks/http.py). Everywhere a monitor's URL is shown (API, consoles, event
payloads) it goes through `masked_url`, the one rendering: `https://***@example.com/health`, as
git URLs are shown (apps.deploy.runtime.git.display_url). The whole userinfo is masked, user name
included: services often take a token as the user name."""

from __future__ import annotations

import base64
from urllib.parse import unquote_to_bytes

MASK = "***"


def split(url: str) -> tuple[str, str]:
    """(the URL without its userinfo, the userinfo as written, percent-encoding kept).

    The rest of the URL is kept character for character. Like urllib and httpx, the userinfo
    ends at the authority's last `@`."""
    scheme, sep, rest = url.partition("//")
    if not sep:
        return url, ""
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            end = min(end, found)
    userinfo, at, hostport = rest[:end].rpartition("@")
    if not at:
        return url, ""
    return f"{scheme}//{hostport}{rest[end:]}", userinfo


def masked_url(url: str, *, has_credentials: bool) -> str:
    """What may be shown of a monitor's URL: its credentials as ***."""
    bare, userinfo = split(url)  # a URL saved before credentials were split off still has them
    if not (has_credentials or userinfo):
        return bare
    scheme, sep, rest = bare.partition("//")
    return f"{scheme}//{MASK}@{rest}" if sep else bare


def basic_authorization(userinfo: str) -> bytes:
    """The Authorization header value for a URL's userinfo (percent-escapes decoded)."""
    user, _, password = userinfo.partition(":")
    credentials = unquote_to_bytes(user) + b":" + unquote_to_bytes(password)
    return b"Basic " + base64.b64encode(credentials)
