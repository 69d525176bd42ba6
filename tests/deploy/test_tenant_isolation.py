"""Every deploy endpoint: another tenant's app (or anything under it) answers 404, whether the
caller names their own tenant or the app's; no credentials answer 401; the root host without a
tenant answers 404. All as problem details."""

import pytest

from .factories import deployed_app

pytestmark = pytest.mark.django_db


def endpoints(objs):
    app = objs["app"].pk
    dep, rel, dom = objs["deployment"].pk, objs["release"].pk, objs["domain"].pk
    base = f"/api/v1/apps/{app}"
    return [
        ("get", base, None),
        ("patch", base, {"branch": "x"}),
        ("delete", base, None),
        ("post", f"{base}/deploy", {}),
        ("post", f"{base}/restart", None),
        ("post", f"{base}/scale", {"formation": {"web": 1}}),
        ("get", f"{base}/formation", None),
        ("post", f"{base}/start", None),
        ("post", f"{base}/stop", None),
        ("get", f"{base}/status", None),
        ("get", f"{base}/logs", None),
        ("post", f"{base}/webhook-secret", None),
        ("get", f"{base}/deployments", None),
        ("get", f"{base}/deployments/{dep}", None),
        ("post", f"{base}/deployments/{dep}/cancel", None),
        ("get", f"{base}/deployments/{dep}/logs", None),
        ("get", f"{base}/releases", None),
        ("get", f"{base}/releases/{rel}", None),
        ("post", f"{base}/releases/{rel}/rollback", None),
        ("get", f"{base}/env-vars", None),
        ("patch", f"{base}/env-vars", {"vars": {"A": "b"}}),
        ("post", f"{base}/env-vars/SECRET_KEY/reveal", None),
        ("get", f"{base}/domains", None),
        ("post", f"{base}/domains", {"hostname": "x.example.net"}),
        ("post", f"{base}/domains/{dom}/verify", None),
        ("delete", f"{base}/domains/{dom}", None),
    ]


@pytest.fixture
def objs(world):
    return deployed_app(world["tenant_a"], world["alice"])


def _call(client, method, path, body):
    return (
        getattr(client, method)(path, body, format="json")
        if body is not None
        else getattr(client, method)(path)
    )


def test_another_tenants_app_is_404_on_every_endpoint(world, client_for, objs):
    bob_in_bravo = client_for(world["bob"], world["tenant_b"])
    bob_in_alpha = client_for(world["bob"], world["tenant_a"])
    outsider = client_for(world["outsider"], world["tenant_a"])
    for method, path, body in endpoints(objs):
        for client in (bob_in_bravo, bob_in_alpha, outsider):
            response = _call(client, method, path, body)
            assert response.status_code == 404, (method, path, response.status_code)
            assert response["Content-Type"] == "application/problem+json"
    # and nothing was changed by any of that
    alice = client_for(world["alice"], world["tenant_a"])
    assert alice.get(f"/api/v1/apps/{objs['app'].pk}").json()["branch"] == "main"
    assert len(alice.get(f"/api/v1/apps/{objs['app'].pk}/deployments").json()["results"]) == 1


def test_no_credentials_is_401_on_every_endpoint(world, api_client, objs):
    for method, path, body in endpoints(objs):
        response = _call(api_client, method, path, body)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response["Content-Type"] == "application/problem+json"
        # Naming the tenant without credentials: the tenant check (apps.tenants.permissions)
        # runs first and hides the tenant, so 404; never an answer with data.
        response = getattr(api_client, method)(path, HTTP_X_TENANT_ID="alpha")
        assert response.status_code in (401, 404), (method, path, response.status_code)


def test_the_root_host_without_a_tenant_has_no_apps(world, client_for, objs):
    client = client_for(world["alice"])  # no X-Tenant-ID
    assert client.get("/api/v1/apps").status_code == 404
    assert client.get(f"/api/v1/apps/{objs['app'].pk}/releases").status_code == 404


def test_malformed_ids_are_404_not_500(world, client_for, objs):
    alice = client_for(world["alice"], world["tenant_a"])
    for path in (
        "/api/v1/apps/not-a-uuid",
        "/api/v1/apps/not-a-uuid/deployments",
        f"/api/v1/apps/{objs['app'].pk}/deployments/nope",
        f"/api/v1/apps/{objs['app'].pk}/releases/12",
    ):
        response = alice.get(path)
        assert response.status_code == 404, path
