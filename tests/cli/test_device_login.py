"""`quay login`: the OAuth 2.0 device grant end to end, against a live server. The CLI asks for
a device code and polls; the person signs in and approves the code over HTTP, as a browser
would; the CLI stores the token 0600 and the API then takes it, inside the person's tenants only."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import time

import httpx

from apps.accounts.device_login import cli_client_ensure

from .conftest import PASSWORD, make_person, oauth_token


def _browser(url: str, email: str) -> httpx.Client:
    """An HTTP client signed in through the login page (cookies and CSRF as a browser)."""
    browser = httpx.Client(base_url=url, follow_redirects=True, timeout=20)
    page = browser.get("/accounts/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = browser.post(
        "/accounts/login/",
        data={"csrfmiddlewaretoken": csrf, "login": email, "password": PASSWORD},
        headers={"Referer": f"{url}/accounts/login/"},
    )
    assert answer.status_code == 200 and "sessionid" in browser.cookies, answer.text[:500]
    return browser


def _start_login(quay, *args: str) -> tuple[subprocess.Popen, str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "quay_cli", "login", *args],
        env=quay.env_for(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/",
    )  # fmt: skip
    seen = ""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        seen += process.stdout.readline()
        match = re.search(r"Open (\S+) in a browser and enter the code:\s+(\S+)", seen)
        if match:
            return process, match.group(1), match.group(2)
    process.kill()
    raise AssertionError(f"no code shown: {seen!r} {process.stderr.read()}")


def test_device_login_end_to_end(quay, cli_server):
    cli_client_ensure()  # the migration's row (earlier tests of the session may have truncated)
    person = make_person()
    other = make_person(with_app=False)
    process, verification_uri, user_code = _start_login(quay)
    assert verification_uri == f"{cli_server.url}/identity/o/device"

    browser = _browser(cli_server.url, person.email)
    page = browser.get("/identity/o/device", params={"code": user_code})
    assert page.status_code == 200
    assert user_code in page.text and "Approve the quay CLI?" in page.text
    # A forged cross-site POST (no CSRF token) approves nothing.
    forged = browser.post(
        "/identity/o/device", params={"code": user_code}, data={"action": "confirm"}
    )
    assert forged.status_code == 403
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    approved = browser.post(
        "/identity/o/device",
        params={"code": user_code},
        data={"action": "confirm", "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{cli_server.url}/identity/o/device"},
    )
    assert approved.status_code == 200 and "The quay CLI is signed in" in approved.text

    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert f"Signed in as {person.email}" in out
    assert f"Tenant: {person.tenant.slug}" in out  # the only one the person belongs to
    path = quay.config_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert stored["tenant"] == person.tenant.slug and stored["refresh_token"]

    # The stored login works from any directory, in the person's tenant…
    apps = quay("apps", "--json", subprocess=True)
    assert apps.returncode == 0, apps.stderr
    assert [a["name"] for a in json.loads(apps.stdout)] == ["shop"]
    # …and nowhere else: another tenant is 404, as for a session (exit code 4).
    stranger = quay("apps", tenant=other.tenant.slug)
    assert stranger.returncode == 4 and "No such tenant" in stranger.stderr
    # The token is never sent to another server than the one it came from.
    elsewhere = quay("apps", env={"QUAY_URL": "http://127.0.0.1:9"})
    assert elsewhere.returncode == 3 and "Signed in to" in elsewhere.stderr

    # An expired access token is refreshed with the stored refresh token.
    stored["expires_at"] = 1.0
    path.write_text(json.dumps(stored))
    again = quay("apps")
    assert again.returncode == 0 and "shop" in again.stdout, again.stderr
    refreshed = json.loads(path.read_text())
    assert refreshed["access_token"] != stored["access_token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # logout revokes the tokens at the server and deletes the file.
    assert quay("logout").stdout.strip() == "Signed out." and not path.exists()
    revoked = quay("apps", token=refreshed["access_token"], tenant=person.tenant.slug)
    assert revoked.returncode == 3 and "Invalid or expired access token" in revoked.stderr


def test_denied_login_and_bad_credentials(quay, cli_server):
    cli_client_ensure()
    person = make_person(with_app=False)
    process, _, user_code = _start_login(quay)
    browser = _browser(cli_server.url, person.email)
    page = browser.get("/identity/o/device", params={"code": user_code})
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    denied = browser.post(
        "/identity/o/device",
        params={"code": user_code},
        data={"action": "deny", "csrfmiddlewaretoken": csrf},
    )
    assert denied.status_code == 200 and "Sign-in denied" in denied.text
    _, err = process.communicate(timeout=20)
    assert process.returncode == 3 and "denied" in err
    assert not (quay.config_dir / "credentials.json").exists()

    # Without a login, or with a token the server does not know: one clear message, exit 3.
    nobody = quay("apps", tenant=person.tenant.slug, subprocess=True)  # the real script, from /
    assert nobody.returncode == 3 and "quay login" in nobody.stderr
    bogus = quay("apps", token="not-a-real-token", tenant=person.tenant.slug)
    assert bogus.returncode == 3 and "Invalid or expired access token" in bogus.stderr
    assert "Traceback" not in bogus.stderr
    # A real token of the person, but not granted the API scope (another OpenID client's).
    elsewhere = quay("apps", token=oauth_token(person.user, scope="openid"),
                     tenant=person.tenant.slug)  # fmt: skip
    assert elsewhere.returncode == 3 and "Invalid or expired access token" in elsewhere.stderr
