"""Basic credentials leave Monitor.url for an encrypted column (apps/monitoring/url_credentials.py).

The data step moves the userinfo of every URL that has one into url_credentials_encrypted; the
reverse step puts it back, so going back loses no credentials. Runs in each tenant schema."""

from django.db import migrations, models

from apps.core import crypto


def _split(url):
    """(url without userinfo, userinfo): the same rule as url_credentials.split (a migration
    keeps its own copy, so later edits of that module cannot change what this one did)."""
    scheme, sep, rest = url.partition("//")
    if not sep:
        return url, ""
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            end = min(end, found)
    userinfo, at, hostport = rest[:end].rpartition("@")
    if not at:
        return url, ""
    return f"{scheme}//{hostport}{rest[end:]}", userinfo


def credentials_out(apps, schema_editor):
    Monitor = apps.get_model("monitoring", "Monitor")
    for monitor in Monitor.objects.filter(url__contains="@").only("id", "url").iterator():
        bare, userinfo = _split(monitor.url)
        if bare == monitor.url:
            continue  # an @ in the path or query, not in the authority
        Monitor.objects.filter(pk=monitor.pk).update(
            url=bare, url_credentials_encrypted=crypto.encrypt(userinfo) if userinfo else ""
        )


def credentials_back(apps, schema_editor):
    Monitor = apps.get_model("monitoring", "Monitor")
    rows = Monitor.objects.exclude(url_credentials_encrypted="").only(
        "id", "url", "url_credentials_encrypted"
    )
    for monitor in rows.iterator():
        scheme, sep, rest = monitor.url.partition("//")
        if sep:
            userinfo = crypto.decrypt(monitor.url_credentials_encrypted)
            Monitor.objects.filter(pk=monitor.pk).update(url=f"{scheme}//{userinfo}@{rest}")


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0005_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="monitor",
            name="url_credentials_encrypted",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(credentials_out, credentials_back, elidable=True),
    ]
