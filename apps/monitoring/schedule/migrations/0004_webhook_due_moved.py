"""The outgoing webhooks' due index moved to apps.webhooks.due (webhooks_due 0001): its model
leaves this app's state; its table stays, now owned by apps.webhooks.due."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring_schedule", "0003_webhook_due"),
        ("webhooks_due", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="WebhookDue")],
        ),
    ]
