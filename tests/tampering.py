"""For tests that corrupt a ledger on purpose (to prove `reconcile` notices): the append-only
triggers of the named tables are lifted for the block, and put back after."""

from contextlib import contextmanager

from django.db import connection

from core.append_only import AppendOnly


@contextmanager
def tampering(*tables: str):
    with connection.cursor() as cursor:
        for table in tables:
            for statement in AppendOnly(table).remove(connection.vendor):
                cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for table in tables:
                for statement in AppendOnly(table).install(connection.vendor):
                    cursor.execute(statement)
