"""Ledgers and histories are append-only in the database itself (core.append_only)."""

from django.db import migrations

from core.append_only import AppendOnly


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_order_seller_delivered")]

    operations = [
        AppendOnly("orders_orderevent"),
    ]
