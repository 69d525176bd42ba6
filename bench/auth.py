"""Sign-in and identity latency through a real web server (gunicorn, production settings).

    .venv/bin/python bench/auth.py [--logins N] [--requests N]

Makes a user (Django's default password hasher), a tenant and an API key in a scratch database,
starts gunicorn, and times: a headless JWT login, GET /api/v1/auth/me with the JWT, and the same
with the API key (X-Tenant-ID). Ends with
    BENCH auth login_p50_ms=… me_p50_ms=… apikey_me_p50_ms=…
"""

from __future__ import annotations

import argparse
import io
import os
import time

import httpx
from _support import median, percentile, scratch_database, services, web_server

PASSWORD = "bench-password-1"  # noqa: S105 (a throwaway user in a throwaway database)


def timed(call, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = call()
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


def prepare() -> tuple[str, str]:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from apps.accounts.services import api_key_create
    from apps.tenants.services import tenant_create

    call_command("release", verbosity=0, stdout=io.StringIO())
    email = "bench@example.com"
    user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    tenant = tenant_create(name="Bench", slug="bench", owner=user)
    _, raw_key = api_key_create(tenant=tenant, name="bench", authority="member")
    return email, raw_key


def run(logins: int, requests: int) -> str:
    email, raw_key = prepare()
    server_env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "SECURE_SSL_REDIRECT": "false",
        "THROTTLE_READ_RATE": "1000000/min",
        "THROTTLE_WRITE_RATE": "1000000/min",
    }
    with web_server(workers=2, env=server_env) as base, httpx.Client(base_url=base) as client:
        login = f"{base}/api/v1/auth/app/v1/auth/login"
        body = {"email": email, "password": PASSWORD}
        tokens = client.post(login, json=body).raise_for_status().json()["meta"]
        login_ms = timed(lambda: client.post(login, json=body), logins)
        jwt = {"Authorization": f"Bearer {tokens['access_token']}"}
        key = {"Authorization": f"Bearer {raw_key}", "X-Tenant-ID": "bench"}
        for headers in (jwt, key):  # warm both paths
            client.get("/api/v1/auth/me", headers=headers).raise_for_status()
        me_ms = timed(lambda: client.get("/api/v1/auth/me", headers=jwt), requests)
        key_ms = timed(lambda: client.get("/api/v1/auth/me", headers=key), requests)
    for name, values in (("login", login_ms), ("me (JWT)", me_ms), ("me (API key)", key_ms)):
        print(
            f"{name:>13}: n={len(values)} p50 {median(values):.1f} ms, "
            f"p95 {percentile(values, 95):.1f} ms"
        )
    return (
        f"BENCH auth login_p50_ms={median(login_ms):.1f} me_p50_ms={median(me_ms):.1f} "
        f"apikey_me_p50_ms={median(key_ms):.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logins", type=int, default=20, help="logins to time (20)")
    parser.add_argument("--requests", type=int, default=300, help="/me calls per kind (300)")
    args = parser.parse_args()
    with services(), scratch_database("config.settings.local"):
        line = run(args.logins, args.requests)
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
