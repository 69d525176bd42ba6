from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION billing_creditentry_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'credit entries are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER billing_creditentry_append_only
    BEFORE UPDATE OR DELETE ON billing_creditentry
    FOR EACH ROW EXECUTE FUNCTION billing_creditentry_forbid_change();
"""

ALLOW = """
DROP TRIGGER IF EXISTS billing_creditentry_append_only ON billing_creditentry;
DROP FUNCTION IF EXISTS billing_creditentry_forbid_change();
"""


def seed(apps, schema_editor):
    """The free plan new tenants start on, and the invoice number counter."""
    Plan = apps.get_model("billing", "Plan")
    InvoiceCounter = apps.get_model("billing", "InvoiceCounter")
    if not Plan.objects.filter(is_system=True).exists():
        Plan.objects.create(
            name="Free",
            slug="free",
            description="To try Quayside: two apps, five people.",
            is_system=True,
            user_limit=5,
            max_apps=2,
            max_processes=4,
            max_monitors=5,
            max_custom_domains=0,
            api_rate_limit_per_min=60,
            credits_per_month=100,
        )
    InvoiceCounter.objects.get_or_create(name="invoice", defaults={"value": 0})


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.RunSQL(FORBID, ALLOW),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
