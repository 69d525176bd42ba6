"""Fixtures of the sign-up and login tests (tests/accounts/test_auth_*.py, test_lockout.py,
test_mfa.py, test_google.py).

allauth rate-limits by client IP as well as by account, in the real Redis, for the whole test
run: every client here gets an IP of its own and every user a unique email, so tests never
share a counter."""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core import mail
from django.test import Client

AUTH_API = "/api/v1/auth/app/v1"
PASSWORD = "Harbour-Crane-42"
_ips = itertools.count(1)


def fresh_ip() -> str:
    n = next(_ips)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class AuthResponse:
    status: int
    body: dict
    headers: Any

    @property
    def meta(self) -> dict:
        return self.body.get("meta", {})

    @property
    def flows(self) -> list[dict]:
        return self.body.get("data", {}).get("flows", [])

    def pending_flow(self) -> str | None:
        return next((f["id"] for f in self.flows if f.get("is_pending")), None)


@dataclass
class HeadlessClient:
    """allauth's headless "app" API, as a CLI would call it: JSON bodies, `X-Session-Token`
    while a login is in progress, `Authorization: Bearer <access>` afterwards."""

    client: Client
    session_token: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    history: list[AuthResponse] = field(default_factory=list)

    def _headers(self) -> dict[str, str]:
        headers = {}
        if self.session_token:
            headers["X-Session-Token"] = self.session_token
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        return headers

    def call(self, method: str, path: str, data: dict | None = None) -> AuthResponse:
        kwargs: dict[str, Any] = {"headers": self._headers()}
        if data is not None:
            kwargs.update(data=data, content_type="application/json")
        raw = getattr(self.client, method)(f"{AUTH_API}{path}", **kwargs)
        body = raw.json() if raw["Content-Type"].startswith("application/json") else {}
        response = AuthResponse(raw.status_code, body, raw.headers)
        meta = response.meta
        self.session_token = meta.get("session_token", self.session_token)
        if meta.get("access_token"):
            self.access_token = meta["access_token"]
            self.refresh_token = meta.get("refresh_token", self.refresh_token)
            self.session_token = None  # the access token carries the session from now on
        self.history.append(response)
        return response

    def post(self, path: str, data: dict | None = None) -> AuthResponse:
        return self.call("post", path, data if data is not None else {})

    def get(self, path: str) -> AuthResponse:
        return self.call("get", path)

    def delete(self, path: str) -> AuthResponse:
        return self.call("delete", path)

    def login(self, email: str, password: str = PASSWORD) -> AuthResponse:
        self.access_token = self.refresh_token = self.session_token = None
        return self.post("/auth/login", {"email": email, "password": password})

    def api_get(self, path: str, headers: dict[str, str] | None = None):
        """One of our own API endpoints, with the access token."""
        return self.client.get(
            path, headers={"Authorization": f"Bearer {self.access_token}", **(headers or {})}
        )


@pytest.fixture
def web() -> Client:
    """A browser on the root host, with an IP of its own."""
    return Client(REMOTE_ADDR=fresh_ip())


@pytest.fixture
def headless() -> HeadlessClient:
    return HeadlessClient(Client(REMOTE_ADDR=fresh_ip()))


@pytest.fixture
def make_headless():
    return lambda: HeadlessClient(Client(REMOTE_ADDR=fresh_ip()))


@pytest.fixture
def verified_user(db):
    """verified_user(email=None, staff=False): a user whose email is confirmed."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    def make(email: str | None = None, *, staff: bool = False, password: str = PASSWORD):
        email = email or unique_email()
        user = get_user_model().objects.create_user(
            username=email, email=email, password=password, is_staff=staff
        )
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        return user

    return make


class Mailbox:
    """Reads what allauth sent (the test settings' locmem backend)."""

    @staticmethod
    def last_to(email: str) -> mail.EmailMessage:
        messages = [m for m in mail.outbox if email in m.to]
        assert messages, f"no mail to {email}; outbox: {[m.to for m in mail.outbox]}"
        return messages[-1]

    def confirmation_key(self, email: str) -> str:
        body = self.last_to(email).body
        match = re.search(r"/accounts/confirm-email/([^/\s]+)/", body)
        assert match, body
        return match.group(1)

    def password_reset_path(self, email: str) -> str:
        body = self.last_to(email).body
        match = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", body)
        assert match, body
        return match.group(1)


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def new_email():
    """new_email(prefix="user"): an address no other test uses."""
    return unique_email


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def totp_code():
    """totp_code(secret, step_offset=0): the TOTP code of the current 30 s step, or of a
    neighbour. MFA_TOTP_TOLERANCE is 1 and allauth accepts each code once, so a second use in
    the same step takes the next step's code."""
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    def code(secret: str, step_offset: int = 0) -> str:
        counters = list(yield_hotp_counters_from_time())
        current = counters[len(counters) // 2]
        return format_hotp_value(hotp_value(secret, current + step_offset))

    return code
