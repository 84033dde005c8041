import django.db.models.deletion
from django.db import migrations, models

# The seller's own index goes: every other index of the table starts with the seller. Only
# the index is dropped; the foreign key stays as it is (altering the field would drop it and
# check every order again).


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_append_only"),
        ("sellers", "0002_append_only"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="seller",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="sellers.seller",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_order_seller_id_9df17eb1"',
                    'CREATE INDEX "orders_order_seller_id_9df17eb1" ON "orders_order" ("seller_id")',
                ),
            ],
        ),
    ]
