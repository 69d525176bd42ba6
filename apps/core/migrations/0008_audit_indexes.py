# The audit log is large on a platform that has run a while and every audited action writes to
# it: its new indexes are built CONCURRENTLY (no lock on writes), so this migration is not atomic.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddSharedIndexConcurrently(AddIndexConcurrently):
    """A tenant schema is migrated inside tenant creation's transaction, where CONCURRENTLY is
    refused even for an operation the router skips there: ask the router first."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("core", "0007_outbox_errors"),
    ]

    operations = [
        AddSharedIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                fields=["action"], name="audit_action", opclasses=["varchar_pattern_ops"]
            ),
        ),
        AddSharedIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("actor_api_key_id__isnull", False)),
                fields=["actor_api_key_id"],
                name="audit_api_key",
            ),
        ),
        AddSharedIndexConcurrently(
            model_name="auditevent",
            index=models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ),
    ]
