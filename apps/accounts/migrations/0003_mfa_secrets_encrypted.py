# TOTP secrets and recovery-code seeds saved before settings.MFA_ADAPTER encrypted them are
# encrypted in place (apps.accounts.auth.mfa_adapter reads both forms).

from django.db import migrations

from apps.core import crypto

KEYS = ("secret", "seed", "migrated_codes")


def _encrypt(value):
    if isinstance(value, str) and value and not crypto.is_token(value):
        return crypto.encrypt(value)
    if isinstance(value, list):
        return [_encrypt(item) for item in value]
    return value


def forwards(apps, schema_editor):
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.iterator():
        data = dict(authenticator.data or {})
        changed = {k: _encrypt(data[k]) for k in KEYS if k in data}
        if any(changed[k] != data[k] for k in changed):
            data.update(changed)
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_apikey"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
