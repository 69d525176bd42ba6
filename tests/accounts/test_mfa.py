"""MFA on the pages: TOTP enrolment (QR code), login with a TOTP or a recovery code; the operator
console signs in through allauth so the second factor applies to it; MFA_REQUIRED_FOR_STAFF."""

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test.utils import override_settings

from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def mfa_user(verified_user):
    """mfa_user(staff=False) -> (user, totp secret, recovery codes)."""

    def make(*, staff: bool = False):
        user = verified_user(staff=staff)
        secret = generate_totp_secret()
        TOTP.activate(user, secret)
        codes = RecoveryCodes.activate(user).get_unused_codes()
        return user, secret, codes

    return make


def _login(web, email: str, password: str, next_url: str = ""):
    url = "/accounts/login/" + (f"?next={next_url}" if next_url else "")
    return web.post(url, {"login": email, "password": password})


def test_enrol_totp_on_the_pages_then_log_in_with_a_code(
    web, verified_user, password, totp_code, django_capture_on_commit_callbacks
):
    user = verified_user()
    assert _login(web, user.email, password).status_code == 302

    # allauth asks for the password again before a new authenticator is added.
    activate = web.get("/accounts/2fa/totp/activate/")
    assert activate.status_code == 302 and "/accounts/reauthenticate/" in activate["Location"]
    again = web.post(activate["Location"], {"password": password})
    assert again.status_code == 302

    page = web.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html or "data:image" in html  # the QR code, rendered locally
    secret = web.session["mfa.totp.secret"]
    assert secret in html
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
        done = web.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert done.status_code == 302, done.content.decode()[:2000]
    assert AuditEvent.objects.filter(action="authenticator.added", target_id=str(user.pk)).exists()
    assert web.get("/accounts/2fa/").status_code == 200

    web.post("/accounts/logout/")
    first = _login(web, user.email, password)
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert web.get("/accounts/").status_code == 302  # not signed in yet
    assert web.post("/accounts/2fa/authenticate/", {"code": "000000"}).status_code == 200
    second = web.post("/accounts/2fa/authenticate/", {"code": totp_code(secret, step_offset=1)})
    assert second.status_code == 302
    assert web.get("/accounts/").status_code == 200


def test_a_recovery_code_logs_in_once(web, mfa_user, password):
    user, _secret, codes = mfa_user()
    _login(web, user.email, password)
    assert web.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    assert web.get("/accounts/").status_code == 200
    web.post("/accounts/logout/")

    _login(web, user.email, password)
    assert web.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 200
    assert web.get("/accounts/").status_code == 302
    assert (
        len(RecoveryCodes(user.authenticator_set.get(type="recovery_codes")).get_unused_codes())
        == 9
    )


def test_admin_login_goes_through_allauth_and_its_second_factor(web, mfa_user, password, totp_code):
    staff, secret, _codes = mfa_user(staff=True)

    to_login = web.get("/admin/login/?next=/admin/")
    assert to_login.status_code == 302
    assert to_login["Location"] == "/accounts/login/?next=%2Fadmin%2F"

    first = _login(web, staff.email, password, next_url="/admin/")
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert web.get("/admin/").status_code == 302  # the password alone is not enough

    second = web.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert second["Location"] == "/admin/"
    assert web.get("/admin/").status_code == 200


def test_the_admins_own_password_form_cannot_skip_mfa(web, mfa_user, password):
    staff, _secret, _codes = mfa_user(staff=True)
    response = web.post("/admin/login/", {"username": staff.email, "password": password})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert web.get("/admin/").status_code == 302


def test_signed_in_non_staff_are_refused_by_the_admin_login(web, verified_user, password):
    user = verified_user()
    _login(web, user.email, password)
    assert web.get("/admin/login/").status_code == 403
    assert web.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    ("required", "staff", "has_mfa", "expected"),
    [
        (False, True, False, 200),
        (True, True, False, "enrol"),
        (True, True, True, 200),
        (True, False, False, 302),  # non-staff never get in, required or not
    ],
)
def test_mfa_required_for_staff(
    web, verified_user, mfa_user, password, totp_code, required, staff, has_mfa, expected
):
    if has_mfa:
        user, secret, _codes = mfa_user(staff=staff)
    else:
        user, secret = verified_user(staff=staff), None
    with override_settings(MFA_REQUIRED_FOR_STAFF=required):
        _login(web, user.email, password)
        if secret:
            web.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
        response = web.get("/admin/")
        if expected == "enrol":
            assert response.status_code == 302
            assert response["Location"] == "/accounts/2fa/totp/activate/?next=%2Fadmin%2F"
            # Signing out of the console stays possible.
            assert web.post("/admin/logout/").status_code in (200, 302)
        else:
            assert response.status_code == expected
