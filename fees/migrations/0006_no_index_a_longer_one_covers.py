import django.db.models.deletion
from django.db import migrations, models

# Two indexes go that a longer index starts with: a fee entry's seller (the index of entries
# to settle) and a settled line's record (the index on record and entry). Only the indexes
# are dropped; the foreign keys stay as they are (altering the fields would drop them and
# check every row again).


class Migration(migrations.Migration):
    dependencies = [
        ("fees", "0005_append_only"),
        ("sellers", "0002_append_only"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="feeentry",
                    name="seller",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="fee_entries",
                        to="sellers.seller",
                    ),
                ),
                migrations.AlterField(
                    model_name="settledrecordline",
                    name="record",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lines",
                        to="fees.settledrecord",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "fees_feeentry_seller_id_43b51200"',
                    'CREATE INDEX "fees_feeentry_seller_id_43b51200" ON "fees_feeentry" ("seller_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "fees_settledrecordline_record_id_f8c8746a"',
                    'CREATE INDEX "fees_settledrecordline_record_id_f8c8746a" '
                    'ON "fees_settledrecordline" ("record_id")',
                ),
            ],
        ),
    ]
