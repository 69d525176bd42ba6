"""The HTTP side of `quay`: one httpx client with the caller's credential and tenant, RFC 9457
problem details turned into `QuayError`s, refreshing an expired login once, and pagination."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx

from . import __version__
from .config import CLIENT_ID, Credentials, base_url

TOKEN_PATH = "/identity/o/api/token"  # noqa: S105 (a path, no secret)

# Exit codes (docs/cli.md).
EXIT_ERROR = 1  # the server refused (a problem) or could not be reached
EXIT_AUTH = 3  # not signed in, or the credential is invalid or expired
EXIT_NOT_FOUND = 4  # no such app, tenant, object (or another tenant's: the same answer)
EXIT_DEPLOY_FAILED = 5  # a followed deployment ended failed or canceled
EXIT_ABORTED = 6  # a confirmation was declined


class QuayError(Exception):
    """Something to tell the person, and the exit code that goes with it."""

    def __init__(self, message: str, *, exit_code: int = EXIT_ERROR, problem: dict | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.problem = problem or {}


def problem_message(response: httpx.Response) -> QuayError:
    """A clear sentence from an RFC 9457 problem (or whatever the server said)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        body = {"status": response.status_code, "title": response.reason_phrase, "detail": text}
    status = body.get("status") or response.status_code
    title = body.get("title") or response.reason_phrase
    detail = body.get("detail") or ""
    lines = [f"{title} ({status})" + (f": {detail}" if detail and detail != title else "")]
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            field = error.get("field") or error.get("attr") or ""
            message = error.get("message") or error.get("detail") or error.get("code") or ""
            lines.append(f"  {field}: {message}" if field else f"  {message}")
    if body.get("request_id"):
        lines.append(f"  request id: {body['request_id']}")
    if response.status_code == 401:
        lines.append("  Sign in with `quay login`, or set QUAY_API_KEY.")
        code = EXIT_AUTH
    elif response.status_code == 404:
        code = EXIT_NOT_FOUND
    else:
        code = EXIT_ERROR
    if retry := response.headers.get("Retry-After"):
        lines.append(f"  retry after {retry} s")
    return QuayError("\n".join(lines), exit_code=code, problem=body)


class Api:
    def __init__(
        self,
        *,
        tenant: str | None = None,
        credentials: Credentials | None = None,
        timeout: float = 30.0,
    ) -> None:
        """With `credentials` (a login just made): those; else QUAY_API_KEY, else the stored
        login."""
        self.api_key = "" if credentials else os.environ.get("QUAY_API_KEY", "").strip()
        self.credentials = credentials or (None if self.api_key else Credentials.load())
        stored_url = self.credentials.url if self.credentials else None
        self.url = base_url(stored_url)
        self.tenant = (
            tenant
            or os.environ.get("QUAY_TENANT")
            or (self.credentials.tenant if self.credentials else "")
            or ""
        )
        self.http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers={"User-Agent": f"quay-cli/{__version__}", "Accept": "application/json"},
        )

    # --- credentials -------------------------------------------------------------------------
    def _token(self) -> str:
        if self.api_key:
            return self.api_key
        creds = self.credentials
        if creds is None or not creds.access_token:
            raise QuayError(
                "Not signed in: run `quay login` (or set QUAY_API_KEY).", exit_code=EXIT_AUTH
            )
        if creds.url and creds.url.rstrip("/") != self.url:
            # Never hand one server's token to another (QUAY_URL changed since the login).
            raise QuayError(
                f"Signed in to {creds.url}, not {self.url}: run `quay login` for this one.",
                exit_code=EXIT_AUTH,
            )
        if creds.expires_at and creds.expires_at < time.time() + 30 and creds.refresh_token:
            self._refresh()
        return creds.access_token

    def _refresh(self) -> bool:
        """Trade the refresh token for a new pair (the server rotates it); False if refused."""
        creds = self.credentials
        if creds is None or not creds.refresh_token:
            return False
        try:
            answer = self.http.post(
                TOKEN_PATH,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": creds.refresh_token,
                    "client_id": CLIENT_ID,
                },
            )
        except httpx.TransportError as exc:
            raise QuayError(f"Cannot reach {self.url}: {exc}") from None
        if answer.status_code != 200:
            return False
        store_token(creds, answer.json())
        creds.save()
        return True

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._token()}"}
        if self.tenant:
            headers["X-Tenant-ID"] = self.tenant
        headers.update(extra or {})
        return headers

    # --- requests ----------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        extra = kwargs.pop("headers", None)
        try:
            response = self.http.request(method, path, headers=self.headers(extra), **kwargs)
            if response.status_code == 401 and not self.api_key and self._refresh():
                response = self.http.request(method, path, headers=self.headers(extra), **kwargs)
        except httpx.TransportError as exc:
            raise QuayError(f"Cannot reach {self.url}: {exc}") from None
        return response

    def call(self, method: str, path: str, *, ok: tuple[int, ...] = (), **kwargs: Any) -> Any:
        """The JSON body of a 2xx answer (None for 204); a QuayError for anything else."""
        response = self.request(method, path, **kwargs)
        if response.is_success or response.status_code in ok:
            if response.status_code == 204 or not response.content:
                return None
            return response.json()
        raise problem_message(response)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json=body, **kwargs)

    def items(self, path: str, params: dict | None = None) -> Iterator[dict]:
        """Every row of a list, following the cursor's `next` links (or a plain JSON list)."""
        page = self.get(path, params=params)
        while True:
            if isinstance(page, list):
                yield from page
                return
            yield from page.get("results", [])
            next_url = page.get("next")
            if not next_url:
                return
            page = self.get(next_url)

    # --- lookups -----------------------------------------------------------------------------
    def app(self, name_or_id: str) -> dict:
        """An app by name (or id) in the current tenant."""
        self.require_tenant()
        for app in self.items("/api/v1/apps"):
            if name_or_id in (app.get("name"), app.get("id")):
                return app
        raise QuayError(f"No app {name_or_id!r} in tenant {self.tenant}.", exit_code=4)

    def require_tenant(self) -> None:
        if not self.tenant:
            raise QuayError(
                "Which tenant? Pass --tenant SLUG (or set QUAY_TENANT, or `quay login --tenant`).",
                exit_code=2,
            )


def store_token(creds: Credentials, token: dict) -> None:
    creds.access_token = token["access_token"]
    if token.get("refresh_token"):
        creds.refresh_token = token["refresh_token"]
    expires_in = token.get("expires_in")
    creds.expires_at = time.time() + float(expires_in) if expires_in else 0.0
