"""Ledgers and histories are append-only in the database itself (core.append_only)."""

from django.db import migrations

from core.append_only import AppendOnly


class Migration(migrations.Migration):
    dependencies = [("sellers", "0001_initial")]

    operations = [
        AppendOnly("sellers_planchange"),
    ]
