import django.db.models.deletion
from django.db import migrations, models

# An order's events are indexed by (order, id), unique as the id is: what a fee entry's
# key points at (fees/0008), so that its event is one of its order's. It replaces the
# index of the order alone, which it covers.


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_no_index_a_longer_one_covers"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="orderevent",
            constraint=models.UniqueConstraint(
                fields=("order", "id"), name="order_event_of_its_order"
            ),
        ),
        migrations.AlterField(
            model_name="orderevent",
            name="order",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="orders.order",
            ),
        ),
    ]
