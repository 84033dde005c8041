from datetime import date
from decimal import Decimal

from django.db import migrations

# SPEC: [0, 1000) 0 %, [1000, 3000) 0.5 %, [3000, 10000) 1 %, [10000, ...) 2 %; +0.5 points
# for the yearly plan on a tier above 0 %.
DEFAULT_TIERS = (("0", "0"), ("1000", "0.5"), ("3000", "1"), ("10000", "2"))


def create_default_tiers(apps, schema_editor):
    TierSchedule = apps.get_model("cashback", "TierSchedule")
    Tier = apps.get_model("cashback", "Tier")
    if TierSchedule.objects.exists():
        return
    schedule = TierSchedule.objects.create(
        effective_month=date(2000, 1, 1), yearly_bonus=Decimal("0.5")
    )
    Tier.objects.bulk_create(
        Tier(schedule=schedule, threshold_usd=Decimal(t), rate=Decimal(r)) for t, r in DEFAULT_TIERS
    )


class Migration(migrations.Migration):
    dependencies = [("cashback", "0002_order_cashback")]

    operations = [migrations.RunPython(create_default_tiers, migrations.RunPython.noop)]
