import django.db.models.deletion
from django.db import migrations, models

# The seller's own index goes: the unique (seller, month) starts with it. Only the index is
# dropped; the foreign key stays as it is.


class Migration(migrations.Migration):
    dependencies = [
        ("cashback", "0009_month_so_far"),
        ("sellers", "0002_append_only"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="monthsofar",
                    name="seller",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="sellers.seller",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "cashback_monthsofar_seller_id_58533f01"',
                    'CREATE INDEX "cashback_monthsofar_seller_id_58533f01" '
                    'ON "cashback_monthsofar" ("seller_id")',
                ),
            ],
        ),
    ]
