"""`quay login`: the OAuth 2.0 device authorization grant (RFC 8628) against the server's
identity provider. Ask for a device code, show the URL and the user code, poll the token
endpoint until the person approves (or denies, or the code expires) in a browser, then store the
tokens in credentials.json (0600)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from .api import EXIT_AUTH, TOKEN_PATH, QuayError, store_token
from .config import CLIENT_ID, Credentials

DEVICE_CODE_PATH = "/identity/o/api/device/code"
REVOKE_PATH = "/identity/o/api/revoke"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "api"


def device_login(
    url: str,
    *,
    show: Callable[[str, str, str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> Credentials:
    http = httpx.Client(base_url=url, timeout=30)
    try:
        answer = http.post(DEVICE_CODE_PATH, data={"client_id": CLIENT_ID, "scope": SCOPE})
    except httpx.TransportError as exc:
        raise QuayError(f"Cannot reach {url}: {exc}") from None
    if answer.status_code != 200:
        raise QuayError(f"The server refused a device login ({answer.status_code}): {answer.text}")
    device = answer.json()
    show(
        device["verification_uri"],
        device["user_code"],
        device.get("verification_uri_complete") or "",
    )
    interval = float(device.get("interval") or 5)
    deadline = time.monotonic() + float(device.get("expires_in") or 600)
    while time.monotonic() < deadline:
        sleep(interval)
        try:
            answer = http.post(
                TOKEN_PATH,
                data={
                    "grant_type": GRANT_TYPE,
                    "device_code": device["device_code"],
                    "client_id": CLIENT_ID,
                },
            )
        except httpx.TransportError:
            continue  # the server may be restarting: keep polling until the code expires
        body = answer.json() if answer.content else {}
        if answer.status_code == 200:
            creds = Credentials(url=url)
            store_token(creds, body)
            return creds
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5  # RFC 8628 §3.5
            continue
        if error == "access_denied":
            raise QuayError("The sign-in was denied in the browser.", exit_code=EXIT_AUTH)
        if error in ("expired_token", "invalid_grant"):
            raise QuayError("The code expired: run `quay login` again.", exit_code=EXIT_AUTH)
        raise QuayError(f"Sign-in failed: {body or answer.text}", exit_code=EXIT_AUTH)
    raise QuayError("The code expired: run `quay login` again.", exit_code=EXIT_AUTH)


def revoke(creds: Credentials) -> bool:
    """Revoke both tokens (RFC 7009) at the server they came from; False if it is unreachable."""
    try:
        with httpx.Client(base_url=creds.url, timeout=10) as http:
            for value, hint in (
                (creds.refresh_token, "refresh_token"),
                (creds.access_token, "access_token"),
            ):
                if value:
                    http.post(
                        REVOKE_PATH,
                        data={"token": value, "token_type_hint": hint, "client_id": CLIENT_ID},
                    )
    except httpx.TransportError:
        return False
    return True
