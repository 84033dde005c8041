"""Ledgers and histories are append-only in the database itself (core.append_only)."""

from django.db import migrations

from core.append_only import AppendOnly


class Migration(migrations.Migration):
    dependencies = [("cashback", "0005_accrual_seller_pending")]

    operations = [
        AppendOnly("cashback_campaigntermsversion"),
        AppendOnly("cashback_campaignrate"),
        AppendOnly("cashback_registrationevent"),
    ]
