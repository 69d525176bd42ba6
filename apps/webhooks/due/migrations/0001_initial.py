"""The outgoing webhooks' due index moves from apps.monitoring.schedule to this app without
touching its table (`db_table`; monitoring_schedule 0004 drops the state there). In the public
schema, the content types of every moved model are renamed (this app's, and apps.webhooks'
tenant models', whose content types the public schema has too), so their ids and the
permissions that refer to them stay."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = {
    ("monitoring_schedule", "webhooks_due"): ("webhookdue",),
    ("monitoring", "webhooks"): ("webhookendpoint", "webhookmessage", "webhookattempt"),
}


def content_types_rename(apps, schema_editor, *, forward: bool = True) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    rows = content_type.objects.using(schema_editor.connection.alias)
    for (before, after), models_ in MOVED.items():
        old, new = (before, after) if forward else (after, before)
        for model in models_:
            if not rows.filter(app_label=new, model=model).exists():
                rows.filter(app_label=old, model=model).update(app_label=new)


def content_types_back(apps, schema_editor) -> None:
    content_types_rename(apps, schema_editor, forward=False)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("monitoring_schedule", "0003_webhook_due"),
        ("tenants", "0003_spare_schemas"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="WebhookDue",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("message_id", models.BigIntegerField()),
                        ("endpoint_id", models.UUIDField()),
                        ("due_at", models.DateTimeField()),
                        ("lease", models.UUIDField(blank=True, null=True)),
                        ("trigger", models.CharField(default="scheduled", max_length=10)),
                        (
                            "tenant",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="tenants.tenant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "monitoring_schedule_webhookdue",
                        "indexes": [models.Index(fields=["due_at"], name="webhookdue_due")],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("tenant", "message_id"), name="webhookdue_message"
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_rename, content_types_back),
    ]
