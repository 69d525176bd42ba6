from django.db import migrations, models

# Invoices written before discount_cents took a discount as a negative tax (total - subtotal).
SPLIT = "UPDATE billing_invoice SET discount_cents = -tax_cents, tax_cents = 0 WHERE tax_cents < 0"
MERGE = "UPDATE billing_invoice SET tax_cents = tax_cents - discount_cents, discount_cents = 0"


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_free_plan_counter_ledger_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="discount_cents",
            field=models.IntegerField(default=0),
        ),
        migrations.RunSQL(SPLIT, MERGE),
    ]
