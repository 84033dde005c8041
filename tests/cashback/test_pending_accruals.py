"""Pending accruals are listed apart (PendingAccrual), each with when it falls due: the close
lists what it accrues, crediting takes off what it resolves, `reconcile` holds the list to
the accruals, and no index of the accruals names what resolving one changes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from cashback.models import Accrual, AccrualStatus, PendingAccrual
from cashback.order_cashback import close_months, credit_cashback
from tests.cashback.test_crediting import refund
from tests.cashback.test_month_close import AFTER_OCTOBER, place

pytestmark = pytest.mark.django_db

D = Decimal


def listed() -> dict[int, datetime]:
    return dict(PendingAccrual.objects.values_list("accrual_id", "due_at"))


def pending() -> dict[int, datetime]:
    return dict(Accrual.objects.filter(status=AccrualStatus.PENDING).values_list("pk", "due_at"))


def mismatches() -> list[str]:
    errors = StringIO()
    with pytest.raises(CommandError):
        call_command("reconcile", stdout=StringIO(), stderr=errors)
    return errors.getvalue().splitlines()


def test_the_close_lists_each_accrual_it_writes_with_its_due_date(seller, other_seller):
    for n in range(3):
        place(seller, f"A-{n}", "500.00", at=datetime(2026, 10, 4 + n, 10, tzinfo=UTC))
    place(other_seller, "B-1", "1500.00")

    close_months(as_of=AFTER_OCTOBER)

    assert len(listed()) == 4 and listed() == pending()
    for accrual in Accrual.objects.select_related("order"):
        assert accrual.pending.seller_id == accrual.seller_id
        assert accrual.pending.due_at == accrual.order.delivered_at + timedelta(days=30)
    close_months(as_of=AFTER_OCTOBER)  # again: nothing listed twice
    assert len(listed()) == 4


def test_a_late_addition_is_listed_too(seller):
    place(seller, "ON-TIME", "1000.00")
    close_months(as_of=AFTER_OCTOBER)

    late = place(seller, "LATE", "100.00", at=datetime(2026, 10, 20, tzinfo=UTC))
    close_months(as_of=AFTER_OCTOBER + timedelta(days=1))

    accrual = Accrual.objects.get(order=late)
    assert accrual.late and listed()[accrual.pk] == accrual.due_at
    assert listed() == pending() and len(listed()) == 2


def test_crediting_takes_off_what_it_resolves_and_leaves_what_is_not_due(seller):
    place(seller, "EARLY", "1000.00", at=datetime(2026, 10, 2, tzinfo=UTC))
    place(seller, "RETURNED", "1000.00", at=datetime(2026, 10, 2, tzinfo=UTC))
    place(seller, "LATER", "1000.00", at=datetime(2026, 10, 25, tzinfo=UTC))
    close_months(as_of=AFTER_OCTOBER)
    refund(seller, "RETURNED", when=datetime(2026, 11, 1, 2, tzinfo=UTC))

    counts = credit_cashback(as_of=datetime(2026, 11, 10, tzinfo=UTC))

    assert (counts["credited"], counts["voided"]) == (1, 1)
    later = Accrual.objects.get(order__external_id="LATER")
    assert listed() == {later.pk: later.due_at} == pending()
    credit_cashback(as_of=datetime(2026, 11, 30, tzinfo=UTC))
    assert listed() == {} == pending()
    call_command("reconcile")


def test_reconcile_names_a_pending_accrual_not_listed_and_a_listed_one_that_is_not(seller):
    place(seller, "A", "1000.00", at=datetime(2026, 10, 2, tzinfo=UTC))
    place(seller, "B", "1000.00", at=datetime(2026, 10, 25, tzinfo=UTC))
    close_months(as_of=AFTER_OCTOBER)
    credit_cashback(as_of=datetime(2026, 11, 10, tzinfo=UTC))
    credited = Accrual.objects.get(order__external_id="A")
    waiting = Accrual.objects.get(order__external_id="B")

    PendingAccrual.objects.filter(accrual=waiting).delete()
    PendingAccrual.objects.create(accrual=credited, seller=seller, due_at=credited.due_at)

    assert mismatches() == [
        f"order cashback: accrual {waiting.pk} is pending, but not listed as due "
        f"{waiting.due_at:%Y-%m-%d}",
        f"order cashback: accrual {credited.pk} is listed as pending, but is not",
    ]


def test_reconcile_names_a_pending_accrual_listed_with_another_due_date(seller):
    place(seller, "A", "1000.00")
    close_months(as_of=AFTER_OCTOBER)
    accrual = Accrual.objects.get()
    PendingAccrual.objects.filter(accrual=accrual).update(due_at=accrual.due_at + timedelta(1))

    assert mismatches() == [
        f"order cashback: accrual {accrual.pk} is pending, but not listed as due "
        f"{accrual.due_at:%Y-%m-%d}"
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's catalog, as CI runs")
def test_resolving_an_accrual_rewrites_none_of_its_indexes():
    """What resolving changes (status, credited amount, when) is in no index of the
    accruals, not even a partial one's condition, and each page keeps room for a row's new
    version: PostgreSQL then rewrites the row in its page (a HOT update)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'cashback_accrual'")
        definitions = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'cashback_accrual'")
        (options,) = cursor.fetchone()
    assert definitions
    for definition in definitions:
        for column in ("status", "credited_amount", "resolved_at"):
            assert column not in definition, definition
    assert "fillfactor=45" in options
