"""Outgoing webhooks moved to apps.webhooks (webhooks 0001): their models leave this app's state;
their tables stay, now owned by apps.webhooks."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0006_monitor_url_credentials"),
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="WebhookAttempt"),
                migrations.DeleteModel(name="WebhookMessage"),
                migrations.DeleteModel(name="WebhookEndpoint"),
            ],
        ),
    ]
