import django.db.models.deletion
from django.db import migrations, models

from core.foreign_keys import CompositeForeignKey

# A fee entry's seller, campaign and registration: one foreign key to the registration's
# (id, seller, campaign) instead of one for each. Each fee entry is checked once, not three
# times, and its seller and campaign are those of its registration.


class Migration(migrations.Migration):
    dependencies = [
        ("cashback", "0011_registration_id_seller_campaign"),
        ("fees", "0006_no_index_a_longer_one_covers"),
        ("sellers", "0002_append_only"),
    ]

    operations = [
        migrations.AlterField(
            model_name="feeentry",
            name="campaign",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cashback.campaign",
            ),
        ),
        migrations.AlterField(
            model_name="feeentry",
            name="registration",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cashback.registration",
            ),
        ),
        migrations.AlterField(
            model_name="feeentry",
            name="seller",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="fee_entries",
                to="sellers.seller",
            ),
        ),
        CompositeForeignKey(
            "fee_entry_of_its_registration",
            table="fees_feeentry",
            columns=["registration_id", "seller_id", "campaign_id"],
            to_table="cashback_registration",
            to_columns=["id", "seller_id", "campaign_id"],
        ),
    ]
