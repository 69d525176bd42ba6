"""Apps whose source is a prebuilt image: the API (validation, credentials kept encrypted and
never shown, 400 on the local provider), the pipeline's refusal on the local provider, and the
fetch step pinning the digest from a registry of our own (tests/deploy/fake_registry.py)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from apps.core import crypto
from apps.core.problems import InvalidInput
from apps.deploy import pipeline, services
from apps.deploy.image_source import image_build
from apps.deploy.models import App, Build, Deployment, SourceKind
from apps.deploy.runtime import PROVIDERS
from apps.deploy.runtime.images import LOCAL_REFUSAL
from apps.deploy.runtime.images.registry import ImageNotFound

from .fake_registry import DIGEST, MANIFEST, Registry, serve

pytestmark = pytest.mark.django_db


class ImagesProvider:
    """Stands in for a provider that runs images (the Kubernetes one): the API and services
    only ask whether it does."""

    runs_images = True


@pytest.fixture
def images_provider(settings, monkeypatch):
    monkeypatch.setitem(PROVIDERS, "images-test", f"{__name__}.ImagesProvider")
    settings.DEPLOY_PROVIDER = "images-test"


@pytest.fixture
def alice(world, client_for):
    return client_for(world["alice"], world["tenant_a"])


IMAGE = "registry.example.com/team/api:1.4"


def _create(alice, **payload):
    return alice.post("/api/v1/apps", {"name": "api", **payload}, format="json")


def test_the_local_provider_refuses_image_sources_with_a_400(alice, settings):
    settings.DEPLOY_PROVIDER = "local"
    response = _create(alice, source_kind="image", image_ref=IMAGE)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    assert error["field"] == "source_kind" and error["message"] == LOCAL_REFUSAL
    assert not App.objects.filter(name="api").exists()

    created = _create(alice, git_url="https://github.com/acme/api.git").json()
    url = f"/api/v1/apps/{created['id']}"
    switched = alice.patch(url, {"source_kind": "image", "image_ref": IMAGE}, format="json")
    assert switched.status_code == 400 and switched.json()["detail"] == LOCAL_REFUSAL


def test_an_image_app_is_created_and_its_credentials_never_shown(alice, images_provider):
    response = _create(
        alice,
        source_kind="image",
        image_ref=IMAGE,
        registry_credentials={"username": "robot", "password": "pa55-w0rd-xyz"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["source_kind"] == "image" and body["image_ref"] == IMAGE
    assert body["has_registry_credentials"] is True and body["git_url"] == ""
    assert "pa55-w0rd-xyz" not in response.content.decode()
    assert "robot" not in response.content.decode()

    app = App.objects.get(pk=body["id"])
    assert "pa55" not in app.registry_credentials_encrypted
    assert json.loads(crypto.decrypt(app.registry_credentials_encrypted)) == {
        "username": "robot",
        "password": "pa55-w0rd-xyz",
    }
    with connection.cursor() as cursor:  # encrypted at rest: not in the row at all
        cursor.execute("SELECT * FROM deploy_app WHERE id = %s", [app.pk])
        assert "pa55-w0rd-xyz" not in str(cursor.fetchone())

    read = alice.get(f"/api/v1/apps/{body['id']}").json()
    assert read["has_registry_credentials"] is True and "pa55" not in json.dumps(read)

    cleared = alice.patch(f"/api/v1/apps/{body['id']}", {"registry_credentials": None},
                          format="json")  # fmt: skip
    assert cleared.status_code == 200 and cleared.json()["has_registry_credentials"] is False
    new_tag = {"image_ref": "registry.example.com/team/api:1.5"}
    retagged = alice.patch(f"/api/v1/apps/{body['id']}", new_tag, format="json")
    assert retagged.json()["image_ref"] == "registry.example.com/team/api:1.5"
    to_git = alice.patch(f"/api/v1/apps/{body['id']}",
                         {"source_kind": "git", "git_url": "https://github.com/acme/api.git"},
                         format="json")  # fmt: skip
    assert to_git.status_code == 200
    assert to_git.json()["source_kind"] == "git" and to_git.json()["image_ref"] == ""


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"image_ref": ""}, "image_ref"),
        ({"image_ref": "registry.example.com/Team/API:1.4"}, "image_ref"),
        ({"image_ref": "registry.example.com/team/api:1.4 "}, "image_ref"),
        ({"image_ref": "registry.example.com/team/api\t:1.4"}, "image_ref"),
        ({"image_ref": "registry.example.com/" + "a" * 300}, "image_ref"),
        ({"image_ref": "registry.example.com/team/api@sha256:123"}, "image_ref"),
        ({"image_ref": IMAGE, "git_url": "https://github.com/acme/api.git"}, "git_url"),
        ({"image_ref": IMAGE, "registry_credentials": {"username": "robot"}},
         "registry_credentials.password"),
        ({"image_ref": IMAGE, "registry_credentials": {"username": "a:b", "password": "x"}},
         "registry_credentials.username"),
        ({"image_ref": IMAGE, "registry_credentials": {"username": "r", "password": "x\ny"}},
         "registry_credentials.password"),
        ({"image_ref": "127.0.0.1:5000/team/api:1"}, "image_ref"),  # our own network
    ],
)  # fmt: skip
def test_bad_image_input_is_a_400_naming_the_field(alice, images_provider, payload, field):
    response = _create(alice, source_kind="image", **payload)
    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


def test_image_fields_on_a_git_app_are_refused(alice):
    response = _create(alice, git_url="https://github.com/acme/api.git", image_ref=IMAGE)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "image_ref"


def test_the_pipeline_refuses_an_image_app_on_the_local_provider(world, settings):
    """Defence in depth: an image app that got into the database (saved under another provider)
    fails at once on the local one, nothing fetched, with the reason people read."""
    settings.DEPLOY_PROVIDER = "local"
    tenant = world["tenant_a"]
    with tenant_context(tenant):
        app = App.objects.create(name="api", source_kind=SourceKind.IMAGE, image_ref=IMAGE)
        deployment = Deployment.objects.create(app=app, kind="deploy", ref=IMAGE)
        assert pipeline.deployment_execute(deployment.pk) == "failed"
        deployment.refresh_from_db()
        assert deployment.failure_reason == LOCAL_REFUSAL
        assert deployment.failure_step == "fetching"
        assert not Build.objects.filter(app=app).exists()

        app.refresh_from_db()
        with pytest.raises(InvalidInput, match="Image sources need the Kubernetes provider"):
            services.deployment_create(app=app, tenant=tenant, actor=services.SYSTEM)


@pytest.fixture
def registry(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    reg, stop = serve(Registry(auth="bearer", private=True, users={"robot": "s3cret-token"},
                               images={"team/api": {"1.4": MANIFEST}}))  # fmt: skip
    settings.DEPLOY_IMAGE_INSECURE_REGISTRIES = [reg.host]
    yield reg
    stop()


def test_the_fetch_step_pins_the_digest_with_the_apps_credentials(world, registry):
    tenant = world["tenant_a"]
    with tenant_context(tenant):
        app = App.objects.create(
            name="api",
            source_kind=SourceKind.IMAGE,
            image_ref=f"{registry.host}/team/api:1.4",
            registry_credentials_encrypted=crypto.encrypt(
                json.dumps({"username": "robot", "password": "s3cret-token"})
            ),
        )
        lines, secrets = [], []
        build = image_build(app, app.image_ref, log=lines.append, secrets=secrets.extend)
        assert build.status == "succeeded" and build.kind == "image"
        assert build.image == f"{registry.host}/team/api@{DIGEST}"
        assert build.process_types == {"web": ""}
        assert secrets == ["s3cret-token"]  # redacted from the deployment's logs
        assert any(DIGEST in line for line in lines)

        registry.images["team/api"] = {}  # the tag is gone
        with pytest.raises(ImageNotFound):
            image_build(app, app.image_ref, log=lines.append)
        assert Build.objects.filter(app=app, status="failed").count() == 1
