import django.db.models.deletion
from django.db import migrations, models

from core.foreign_keys import CompositeForeignKey

# A fee entry's order and order event: one foreign key to the event's (order, id) instead
# of one for each. Each fee entry is checked once, not twice, and its event is one of its
# order's (the event's own key holds it to the order). The registration's index goes: no
# registration is deleted, nor are entries looked up by it.


class Migration(migrations.Migration):
    dependencies = [
        ("cashback", "0011_registration_id_seller_campaign"),
        ("fees", "0007_fee_entry_of_its_registration"),
        ("orders", "0005_order_event_of_its_order"),
    ]

    operations = [
        migrations.AlterField(
            model_name="feeentry",
            name="order",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="fee_entries",
                to="orders.order",
            ),
        ),
        migrations.AlterField(
            model_name="feeentry",
            name="order_event",
            field=models.OneToOneField(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="fee_entry",
                to="orders.orderevent",
            ),
        ),
        migrations.AlterField(
            model_name="feeentry",
            name="registration",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cashback.registration",
            ),
        ),
        CompositeForeignKey(
            "fee_entry_of_its_event",
            table="fees_feeentry",
            columns=["order_id", "order_event_id"],
            to_table="orders_orderevent",
            to_columns=["order_id", "id"],
        ),
    ]
