"""A closed month keeps what became of its accruals (pending, credited, lowered, voided,
late) on its own row, written with them: statements read one row a month, however many
orders it has. The database holds the totals to add up; reconcile holds them to the
accruals."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from cashback.models import Accrual, CashbackMonth
from cashback.order_cashback import cashback_mismatches, close_months, credit_cashback
from cashback.selectors import cashback_statement
from tests.cashback.test_crediting import (
    CREDIT_AT,
    OCTOBER_CLOSE,
    deliver_orders,
    reconcile,
    refund,
)

D = Decimal
OCTOBER = datetime(2026, 10, 1, tzinfo=UTC).date()


def totals(month: CashbackMonth) -> dict[str, Decimal]:
    month.refresh_from_db()
    return {
        "pending": month.pending_total,
        "credited": month.credited_total,
        "lowered": month.lowered_total,
        "voided": month.voided_total,
        "late": month.late_total,
    }


def zero(**given: str) -> dict[str, Decimal]:
    return {
        name: D(given.get(name, "0.00"))
        for name in ("pending", "credited", "lowered", "voided", "late")
    }


@pytest.mark.django_db
def test_the_totals_follow_the_accruals_through_close_late_orders_and_crediting(seller):
    deliver_orders(seller)  # 10 x 100.00 in October: 0.5 %, a share of 0.50 each
    close_months(as_of=OCTOBER_CLOSE)
    month = CashbackMonth.objects.get(seller=seller, month=OCTOBER)
    assert month.total == D("5.00")
    assert totals(month) == zero(pending="5.00")

    deliver_orders(seller, 1, prefix="LATE")  # delivered in October, known after its close
    close_months(as_of=OCTOBER_CLOSE + timedelta(hours=1))
    assert totals(month) == zero(pending="5.50", late="0.50")

    refund(seller, "A-1")  # returned: its share is voided
    refund(seller, "A-2", D("50.00"))  # half refunded: half its share is credited
    credit_cashback(as_of=CREDIT_AT)

    assert totals(month) == zero(credited="4.75", lowered="0.25", voided="0.50", late="0.50")
    statement = cashback_statement(seller=seller, month=OCTOBER, at=CREDIT_AT)
    assert (statement.credited, statement.pending, statement.lowered, statement.voided) == (
        D("4.75"),
        D("0.00"),
        D("0.25"),
        D("0.50"),
    )
    assert statement.late == D("0.50")
    assert "All consistent" in reconcile()


@pytest.mark.django_db
def test_crediting_in_batches_counts_each_accrual_into_its_month_once(seller, other_seller):
    deliver_orders(seller)
    deliver_orders(other_seller, 4, prefix="O")  # 400.00: below the first tier, nothing
    close_months(as_of=OCTOBER_CLOSE)

    credit_cashback(as_of=CREDIT_AT, batch_size=3)
    credit_cashback(as_of=CREDIT_AT, batch_size=3)  # nothing left: counts nothing again

    month = CashbackMonth.objects.get(seller=seller, month=OCTOBER)
    assert totals(month) == zero(credited="5.00")
    assert cashback_mismatches() == []


@pytest.mark.django_db
def test_the_database_refuses_totals_that_do_not_add_up(seller):
    deliver_orders(seller)
    close_months(as_of=OCTOBER_CLOSE)
    months = CashbackMonth.objects.filter(seller=seller)

    with pytest.raises(IntegrityError), transaction.atomic():
        months.update(credited_total=F("credited_total") + D("0.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        months.update(pending_total=D("-0.01"), credited_total=F("pending_total") + D("0.01"))


@pytest.mark.django_db
def test_reconcile_names_a_month_whose_totals_are_not_its_accruals(seller):
    deliver_orders(seller)
    close_months(as_of=OCTOBER_CLOSE)
    # Adds up, so the database takes it; but no accrual was credited.
    CashbackMonth.objects.filter(seller=seller).update(
        pending_total=F("pending_total") - D("1.00"), credited_total=D("1.00")
    )

    problems = cashback_mismatches()

    name = f"month 2026-10 of seller {seller.pk}"
    assert problems == [
        f"{name}: pending is 4.00, its accruals say 5.00",
        f"{name}: credited is 1.00, its accruals say 0.00",
    ]


@pytest.mark.django_db
def test_reconcile_names_an_accrual_credited_other_than_its_wallet_entry_pays(seller):
    deliver_orders(seller)
    close_months(as_of=OCTOBER_CLOSE)
    credit_cashback(as_of=CREDIT_AT)
    assert cashback_mismatches() == []
    accrual = Accrual.objects.filter(seller=seller).order_by("pk").first()
    Accrual.objects.filter(pk=accrual.pk).update(credited_amount=D("0.40"))  # pays 0.50

    assert f"accrual {accrual.pk} credited 0.40, its wallet entry pays 0.50" in (
        cashback_mismatches()
    )
