"""`manage.py reconcile` reads one instant of the data while the application writes: an
order batch committed between two of its queries must not look like orders without their
fees."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from orders.models import Order
from orders.services import order_create
from tests.orders.conftest import order_input


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the snapshot is PostgreSQL's REPEATABLE READ"
)
@pytest.mark.django_db(transaction=True)
def test_every_check_reads_the_same_instant(seller, monkeypatch):
    from config.management.commands import reconcile

    order_create(seller=seller, data=order_input(external_id="BEFORE"))
    real = reconcile.fee_mismatches
    seen = []

    def commit_meanwhile() -> None:
        try:
            order_create(seller=seller, data=order_input(external_id="MEANWHILE"))
        finally:
            connection.close()  # this thread's own connection

    def fee_mismatches_with_a_commit_between_its_reads():
        seen.append(Order.objects.count())  # the first read: the snapshot is taken
        writer = threading.Thread(target=commit_meanwhile)
        writer.start()
        writer.join()
        seen.append(Order.objects.count())
        return real()

    monkeypatch.setattr(reconcile, "fee_mismatches", fee_mismatches_with_a_commit_between_its_reads)
    out = StringIO()
    call_command("reconcile", stdout=out, stderr=StringIO())
    assert "All consistent" in out.getvalue()
    assert seen == [1, 1]  # the order committed meanwhile is not half seen
    assert Order.objects.count() == 2  # it was committed


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's transactions lock writes")
@pytest.mark.django_db(transaction=True)
def test_on_sqlite_it_holds_no_transaction_that_would_lock_the_writers(monkeypatch):
    from config.management.commands import reconcile

    real = reconcile.fee_mismatches
    seen = []

    def fee_mismatches_noting_the_transaction():
        seen.append(connection.in_atomic_block)
        return real()

    monkeypatch.setattr(reconcile, "fee_mismatches", fee_mismatches_noting_the_transaction)
    call_command("reconcile", stdout=StringIO(), stderr=StringIO())
    assert seen == [False]
