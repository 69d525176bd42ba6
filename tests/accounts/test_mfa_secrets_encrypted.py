"""TOTP secrets and recovery-code seeds are encrypted at rest (settings.MFA_ADAPTER), rotated by
`manage.py encryption_rotate`, and the ones stored in the clear before are encrypted by a
migration while still opening meanwhile."""

import importlib
import io

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps
from django.core.management import call_command

from apps.core import crypto

pytestmark = pytest.mark.django_db
migration = importlib.import_module("apps.accounts.migrations.0003_mfa_secrets_encrypted")


@pytest.fixture
def person(django_user_model):
    return django_user_model.objects.create_user(
        username="mfa@example.com", email="mfa@example.com", password="x"
    )


def test_secrets_are_stored_encrypted_and_still_work_after_a_key_rotation(
    person, totp_code, settings
):
    old, new = crypto.key_generate(), crypto.key_generate()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    secret = generate_totp_secret()
    totp = TOTP.activate(person, secret)
    codes = RecoveryCodes.activate(person)
    unused = codes.get_unused_codes()
    stored = Authenticator.objects.get(pk=totp.instance.pk).data["secret"]
    assert crypto.is_token(stored) and secret not in stored
    assert crypto.is_token(Authenticator.objects.get(pk=codes.instance.pk).data["seed"])

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("encryption_rotate", stdout=out)
    assert "re-encrypted 2 of 2" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert Authenticator.objects.get(pk=totp.instance.pk).wrap().validate_code(totp_code(secret))
    assert Authenticator.objects.get(pk=codes.instance.pk).wrap().get_unused_codes() == unused


def test_secrets_stored_in_the_clear_open_and_are_encrypted_by_the_migration(person, totp_code):
    secret = generate_totp_secret()
    seed = "00" * 20
    totp = Authenticator.objects.create(user=person, type="totp", data={"secret": secret})
    codes = Authenticator.objects.create(user=person, type="recovery_codes",
                                         data={"seed": seed, "used_mask": 0})  # fmt: skip
    assert totp.wrap().validate_code(totp_code(secret))  # the adapter reads the clear form
    migration.forwards(apps, None)
    totp.refresh_from_db()
    codes.refresh_from_db()
    assert crypto.decrypt(totp.data["secret"]) == secret
    assert crypto.decrypt(codes.data["seed"]) == seed and codes.data["used_mask"] == 0
    assert totp.wrap().validate_code(totp_code(secret, 1))
