"""Env vars and app secrets are encrypted at rest (Fernet, a key list) and re-encrypted with the
newest key by `manage.py encryption_rotate`."""

import io

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from apps.core import crypto
from apps.deploy import services
from apps.deploy.models import App, EnvVar, Release

from .factories import deployed_app

pytestmark = pytest.mark.django_db


def test_round_trip_and_a_derived_key_when_none_is_set(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    token = crypto.encrypt("hunter2")
    assert "hunter2" not in token
    assert crypto.decrypt(token) == "hunter2"
    settings.FIELD_ENCRYPTION_KEYS = [crypto.key_generate()]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


def test_rotation_re_encrypts_every_secret_with_the_new_key(world, settings):
    old, new = crypto.key_generate(), crypto.key_generate()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    objs = deployed_app(world["tenant_a"], world["alice"])

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("encryption_rotate", stdout=out)
    assert "re-encrypted 4 of 4" in out.getvalue()  # env var, release config, git URL, secret

    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is dropped: everything still opens
    with tenant_context(world["tenant_a"]):
        app = App.objects.get(pk=objs["app"].pk)
        assert services.git_url(app).startswith("https://user:hunter22@")
        assert services.webhook_secret(app) == objs["secret"]
        assert services.config_of(app) == {"SECRET_KEY": "very-secret-value"}
        release = Release.objects.get(pk=objs["release"].pk)
        assert services.release_config(release) == {"SECRET_KEY": "very-secret-value"}
        assert "very-secret-value" not in EnvVar.objects.get(app=app).value_encrypted
    out = io.StringIO()
    call_command("encryption_rotate", stdout=out)
    assert "re-encrypted 0 of 4" in out.getvalue()


def test_releases_are_immutable(world):
    objs = deployed_app(world["tenant_a"], world["alice"])
    with tenant_context(world["tenant_a"]):
        release = Release.objects.get(pk=objs["release"].pk)
        release.release_command = "rm -rf /"
        with pytest.raises(ValueError, match="immutable"):
            release.save()
        release = Release.objects.get(pk=objs["release"].pk)
        release.status = "failed"
        release.save()  # only its release-phase status may change
