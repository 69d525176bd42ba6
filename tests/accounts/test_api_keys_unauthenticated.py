"""Without credentials the keys API answers 401 with a challenge (404 on a tenant route, which
never confirms a tenant to a stranger)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/api-keys"),
        ("get", "/api/v1/api-keys/"),
        ("post", "/api/v1/api-keys"),
        ("get", "/api/v1/api-keys/00000000-0000-0000-0000-000000000000"),
        ("post", "/api/v1/api-keys/00000000-0000-0000-0000-000000000000/revoke"),
    ],
)
def test_no_credentials_answer_401_problem_details(method, path, api_client, world):
    response = getattr(api_client, method)(path)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["type"] == "/problems/not-authenticated"


def test_no_credentials_on_a_tenant_route_answer_404(api_client, world):
    response = api_client.get("/api/v1/api-keys", HTTP_X_TENANT_ID="alpha")
    assert response.status_code == 404
