"""The whole life of an API client's account through allauth's headless API (JWT tokens):
sign up → verify the email from the mail → log in → enrol TOTP → log in with a TOTP code →
log in with a recovery code."""

import pytest
from allauth.mfa.models import Authenticator

from apps.tenants.models import Membership

pytestmark = pytest.mark.django_db


def test_sign_up_verify_login_enrol_totp_and_log_in_with_both_factors(
    make_headless, new_email, password, mailbox, totp_code
):
    email = new_email("journey")

    # Sign up: the account exists, but nothing works before the email is confirmed.
    client = make_headless()
    signup = client.post("/auth/signup", {"email": email, "password": password})
    assert signup.status == 401, signup.body
    assert signup.pending_flow() == "verify_email"
    assert client.access_token is None
    assert Membership.objects.filter(user__email=email, role="owner").exists()

    # Verify with the key from the mail: that logs the new user in and hands out tokens.
    verified = client.post("/auth/email/verify", {"key": mailbox.confirmation_key(email)})
    assert verified.status == 200, verified.body
    assert verified.body["data"]["user"]["email"] == email
    assert client.access_token and client.refresh_token

    # A fresh login with the password.
    client = make_headless()
    login = client.login(email, password)
    assert login.status == 200, login.body
    assert login.meta["is_authenticated"] is True
    assert client.access_token and client.refresh_token
    assert client.api_get("/api/v1/auth/me").json()["mfa"]["enabled"] is False

    # Enrol TOTP: allauth wants the password again first; the secret comes with a 404 (no
    # authenticator yet), and a code activates it.
    assert client.post("/auth/reauthenticate", {"password": password}).status == 200
    pending = client.get("/account/authenticators/totp")
    assert pending.status == 404
    secret = pending.meta["secret"]
    assert pending.meta["totp_url"].startswith("otpauth://totp/")
    activated = client.post("/account/authenticators/totp", {"code": totp_code(secret)})
    assert activated.status == 200, activated.body
    codes = client.get("/account/authenticators/recovery-codes")
    assert codes.status == 200, codes.body
    recovery_codes = codes.body["data"]["unused_codes"]
    assert len(recovery_codes) == 10
    me = client.api_get("/api/v1/auth/me").json()
    assert me["mfa"] == {
        "enabled": True,
        "types": ["recovery_codes", "totp"],
        "recovery_codes_left": 10,
        "required": False,
    }

    # The password alone no longer logs in: a second factor is pending.
    client = make_headless()
    first = client.login(email, password)
    assert first.status == 401
    assert first.pending_flow() == "mfa_authenticate"
    assert client.access_token is None
    mfa_flow = next(f for f in first.flows if f["id"] == "mfa_authenticate")
    assert set(mfa_flow["types"]) == {"totp", "recovery_codes"}
    wrong = client.post("/auth/2fa/authenticate", {"code": "000000"})
    assert wrong.status == 400
    second = client.post("/auth/2fa/authenticate", {"code": totp_code(secret, step_offset=1)})
    assert second.status == 200, second.body
    assert client.access_token
    assert client.api_get("/api/v1/tenants").status_code == 200

    # A recovery code works too, once.
    client = make_headless()
    assert client.login(email, password).pending_flow() == "mfa_authenticate"
    by_code = client.post("/auth/2fa/authenticate", {"code": recovery_codes[0]})
    assert by_code.status == 200, by_code.body
    assert client.access_token
    assert client.api_get("/api/v1/auth/me").json()["mfa"]["recovery_codes_left"] == 9

    client = make_headless()
    client.login(email, password)
    reused = client.post("/auth/2fa/authenticate", {"code": recovery_codes[0]})
    assert reused.status == 400
    assert client.access_token is None
    assert Authenticator.objects.filter(user__email=email).count() == 2
