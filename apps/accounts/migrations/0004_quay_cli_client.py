"""Registers the `quay` CLI as a public OAuth client of allauth's identity provider: the device
authorization grant (RFC 8628) and refresh tokens, the `api` scope only, no secret (a CLI cannot
keep one). apps/accounts/device_login.py and docs/cli.md tell the rest."""

from django.contrib.auth.hashers import make_password
from django.db import migrations

CLIENT_ID = "quay-cli"


def register(apps, schema_editor):
    Client = apps.get_model("allauth_idp_oidc", "Client")
    Client.objects.update_or_create(
        id=CLIENT_ID,
        defaults={
            "name": "quay CLI",
            "type": "public",
            # Unusable: a public client authenticates with its id alone.
            "secret": make_password(None),
            "scopes": "api",
            "default_scopes": "api",
            "grant_types": "urn:ietf:params:oauth:grant-type:device_code\nrefresh_token",
            "response_types": "code",
            "redirect_uris": "",
            "skip_consent": False,
        },
    )


def unregister(apps, schema_editor):
    apps.get_model("allauth_idp_oidc", "Client").objects.filter(id=CLIENT_ID).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_mfa_secrets_encrypted"),
        ("allauth_idp_oidc", "0003_client_allow_uri_wildcards"),
    ]

    operations = [migrations.RunPython(register, unregister)]
