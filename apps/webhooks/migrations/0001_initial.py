"""Outgoing webhooks move from apps.monitoring to their own app without touching a table: the
models' state moves (monitoring 0007 drops it there); their tables keep the names monitoring
gave them (`db_table`). The content types of the moved models in this schema are renamed, so
their ids (and whatever refers to them) stay; the public schema's are renamed by
webhooks_due 0001."""

import uuid

import django.db.models.deletion
from django.db import migrations, models

MOVED = {"monitoring": ("webhookendpoint", "webhookmessage", "webhookattempt")}


def content_types_rename(apps, schema_editor, *, forward: bool = True) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    rows = content_type.objects.using(schema_editor.connection.alias)
    for old_label, models_ in MOVED.items():
        old, new = (old_label, "webhooks") if forward else ("webhooks", old_label)
        for model in models_:
            if not rows.filter(app_label=new, model=model).exists():
                rows.filter(app_label=old, model=model).update(app_label=new)


def content_types_back(apps, schema_editor) -> None:
    content_types_rename(apps, schema_editor, forward=False)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("monitoring", "0006_monitor_url_credentials"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="WebhookEndpoint",
                    fields=[
                        (
                            "id",
                            models.UUIDField(
                                default=uuid.uuid4,
                                editable=False,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("url", models.CharField(max_length=2000)),
                        ("description", models.CharField(blank=True, max_length=500)),
                        ("event_types", models.JSONField(blank=True, default=list)),
                        ("enabled", models.BooleanField(default=True)),
                        ("disabled_reason", models.CharField(blank=True, max_length=200)),
                        ("disabled_at", models.DateTimeField(blank=True, null=True)),
                        ("secret_encrypted", models.TextField()),
                        ("secret_last8", models.CharField(max_length=8)),
                        ("previous_secret_encrypted", models.TextField(blank=True)),
                        ("previous_secret_expires_at", models.DateTimeField(blank=True, null=True)),
                        ("failing_since", models.DateTimeField(blank=True, null=True)),
                        ("last_success_at", models.DateTimeField(blank=True, null=True)),
                        ("created_by_id", models.UUIDField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "monitoring_webhookendpoint",
                        "ordering": ("-created_at", "-id"),
                    },
                ),
                migrations.CreateModel(
                    name="WebhookMessage",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("msg_id", models.CharField(max_length=40, unique=True)),
                        ("event_uid", models.UUIDField(blank=True, null=True)),
                        ("event_type", models.CharField(max_length=100)),
                        ("body", models.TextField()),
                        ("created_at", models.DateTimeField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("succeeded", "Succeeded"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("attempts_count", models.PositiveSmallIntegerField(default=0)),
                        ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                        ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
                        ("last_error", models.CharField(blank=True, max_length=500)),
                        (
                            "endpoint",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="messages",
                                to="webhooks.webhookendpoint",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "monitoring_webhookmessage",
                        "ordering": ("-created_at", "-id"),
                    },
                ),
                migrations.CreateModel(
                    name="WebhookAttempt",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("attempted_at", models.DateTimeField()),
                        ("ok", models.BooleanField()),
                        ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("duration_ms", models.PositiveIntegerField(default=0)),
                        ("response_excerpt", models.CharField(blank=True, max_length=1024)),
                        ("error", models.CharField(blank=True, max_length=500)),
                        (
                            "trigger",
                            models.CharField(
                                choices=[
                                    ("scheduled", "Scheduled"),
                                    ("replay", "Replay"),
                                    ("test", "Test"),
                                ],
                                default="scheduled",
                                max_length=10,
                            ),
                        ),
                        (
                            "message",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="attempts",
                                to="webhooks.webhookmessage",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "monitoring_webhookattempt",
                        "ordering": ("-attempted_at", "-id"),
                    },
                ),
                migrations.AddIndex(
                    model_name="webhookmessage",
                    index=models.Index(
                        fields=["endpoint", "-created_at", "-id"], name="webhookmessage_list"
                    ),
                ),
                migrations.AddIndex(
                    model_name="webhookmessage",
                    index=models.Index(fields=["created_at"], name="webhookmessage_time"),
                ),
                migrations.AddConstraint(
                    model_name="webhookmessage",
                    constraint=models.UniqueConstraint(
                        fields=("event_uid", "endpoint"), name="webhookmessage_event_endpoint"
                    ),
                ),
            ],
        ),
        migrations.RunPython(content_types_rename, content_types_back),
    ]
