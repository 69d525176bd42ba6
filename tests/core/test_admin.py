import pytest
from django_tenants.utils import schema_exists

from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_operator_sees_the_dashboard(client, world):
    client.force_login(world["operator"])
    response = client.get("/admin/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tenants" in html and "Workers" in html


def test_non_staff_are_sent_to_the_login_page(client, world):
    client.force_login(world["alice"])
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_operator_creates_a_tenant_through_the_service(client, world):
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    response = client.post("/admin/tenants/tenant/add/", {"name": "Echo", "slug": "echo"})
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant = Tenant.objects.get(slug="echo")
    assert tenant.status == "active"
    assert schema_exists(tenant.schema_name)


def test_admin_refuses_a_bad_slug_with_a_form_error(client, world):
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    response = client.post("/admin/tenants/tenant/add/", {"name": "Bad", "slug": "www"})
    assert response.status_code == 200
    assert "reserved" in response.content.decode()


@pytest.mark.parametrize(
    "path", ["/admin/core/auditevent/", "/admin/tenants/tenant/", "/admin/accounts/user/"]
)
def test_operator_list_pages_render(client, world, path):
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    assert client.get(path).status_code == 200


def test_operator_logs_in_through_allauth(client, world):
    """The admin login is allauth's, so a second factor cannot be skipped."""
    from allauth.account.models import EmailAddress

    operator = world["operator"]
    EmailAddress.objects.create(user=operator, email=operator.email, primary=True, verified=True)
    to_login = client.get("/admin/login/?next=/admin/")
    assert to_login["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    response = client.post(
        to_login["Location"], {"login": operator.email, "password": "pw-operator@example.com"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
