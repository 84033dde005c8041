from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cashback", "0010_month_so_far_no_seller_index"),
        ("sellers", "0002_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="registration",
            constraint=models.UniqueConstraint(
                fields=("id", "seller", "campaign"), name="registration_id_seller_campaign"
            ),
        ),
    ]
