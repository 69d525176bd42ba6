# The audit log is large on a platform that has run a while and every audited action writes to
# it: its new indexes are built CONCURRENTLY (no lock on writes), so this migration is not atomic.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("core", "0007_outbox_errors"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                fields=["action"], name="audit_action", opclasses=["varchar_pattern_ops"]
            ),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("actor_api_key_id__isnull", False)),
                fields=["actor_api_key_id"],
                name="audit_api_key",
            ),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ),
    ]
