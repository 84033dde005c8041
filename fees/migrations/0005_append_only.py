"""Ledgers and histories are append-only in the database itself (core.append_only)."""

from django.db import migrations

from core.append_only import AppendOnly


class Migration(migrations.Migration):
    dependencies = [("fees", "0004_settled_line_record_entry")]

    operations = [
        AppendOnly("fees_feeentry"),
        AppendOnly("fees_settledrecordline"),
    ]
