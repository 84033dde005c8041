"""`manage.py reconcile`: consistent fee data passes; each kind of tampering is named."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from fees.models import FeeEntry, SettledRecord, SettledRecordLine
from fees.services import settle_fees
from orders.services import EventInput, order_apply_event
from tests.fees.conftest import REGISTERED_AT, deliver
from tests.tampering import tampering


@pytest.fixture(autouse=True)
def _ledger_open_to_corruption(db):
    """These tests corrupt the fee ledger on purpose, to see reconcile name each fault."""
    with tampering("fees_feeentry", "fees_settledrecordline"):
        yield


pytestmark = pytest.mark.django_db

D = Decimal


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def delivered(seller, external_id: str, when: datetime, **overrides):
    placed = when - timedelta(days=3)
    return deliver(
        seller,
        external_id=external_id,
        placed_at=placed,
        paid_at=placed + timedelta(hours=1),
        shipped_at=placed + timedelta(days=1),
        delivered_at=when,
        **overrides,
    )


def refund(seller, external_id: str, when: datetime, amount: Decimal | None = None) -> None:
    order_apply_event(
        seller=seller,
        external_id=external_id,
        event=EventInput(type="refunded", occurred_at=when, amount=amount),
    )


@pytest.fixture
def orders(seller, registered):
    """Charged, partly refunded, returned and not eligible orders; the weeks of 5 and 12
    October settled, the week of 19 October not."""
    made = {
        "A-1": delivered(seller, "A-1", at(6)),  # 3.00
        "A-2": delivered(seller, "A-2", at(7)),  # 3.00, 1.50 refunded
        "A-3": delivered(seller, "A-3", at(8)),  # 3.00, returned
        "A-4": delivered(seller, "A-4", at(13), currency="EUR"),  # 3.00 EUR
        "A-5": delivered(seller, "A-5", at(20)),  # not settled yet
        "NV": delivered(seller, "NV", at(6), bonus_cashback_voucher=False),  # no fee
    }
    refund(seller, "A-2", at(9), D("50.00"))
    refund(seller, "A-3", at(14))
    settle_fees(as_of=at(21))
    return made


def reconcile() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("reconcile", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing_reconcile() -> str:
    err = StringIO()
    with pytest.raises(CommandError, match="mismatches"):
        call_command("reconcile", stdout=StringIO(), stderr=err)
    return err.getvalue()


def charge(order) -> FeeEntry:
    return FeeEntry.objects.get(order=order, kind="charge")


def forge_charge(order, like: FeeEntry) -> FeeEntry:
    """A charge on `order` (on the event that delivered it: its creation, created delivered),
    copied from another order's charge."""
    return FeeEntry.objects.create(
        seller_id=like.seller_id,
        order=order,
        order_event=order.events.get(type="created"),
        kind="charge",
        amount=like.amount,
        currency=like.currency,
        campaign_id=like.campaign_id,
        registration_id=like.registration_id,
        rate=like.rate,
        fee_base=like.fee_base,
        occurred_at=order.delivered_at,
    )


def test_consistent_data_passes(orders):
    assert SettledRecord.objects.count() == 3  # USD 5 Oct, USD and EUR 12 Oct
    assert FeeEntry.objects.count() == 7
    out, err = reconcile()
    assert "All consistent" in out
    assert err == ""


def test_nothing_at_all_passes(db):
    assert "All consistent" in reconcile()[0]


def test_a_charge_of_another_amount(orders):
    order = orders["A-1"]
    FeeEntry.objects.filter(pk=charge(order).pk).update(amount=D("3.33"))
    err = failing_reconcile()
    assert f"order {order.pk} (A-1) is charged 3.33, its fee is 3.00" in err


def test_a_charge_of_another_amount_not_settled_yet(orders):
    order = orders["A-5"]
    assert not SettledRecordLine.objects.filter(entry=charge(order)).exists()
    FeeEntry.objects.filter(pk=charge(order).pk).update(amount=D("2.99"))
    err = failing_reconcile()
    assert f"order {order.pk} (A-5) is charged 2.99, its fee is 3.00" in err
    assert "settled record" not in err


def test_a_missing_charge_of_a_delivered_eligible_order(orders):
    order = orders["A-1"]
    entry = charge(order)
    SettledRecordLine.objects.filter(entry=entry).delete()
    entry.delete()
    err = failing_reconcile()
    assert f"order {order.pk} (A-1) has 0 charges, not 1" in err


def test_a_refund_larger_than_the_charge(orders):
    order = orders["A-2"]
    FeeEntry.objects.filter(order=order, kind="refund").update(amount=D("4.00"))
    err = failing_reconcile()
    assert f"order {order.pk}: fee refunds 4.00 exceed its charge 3.00" in err


def test_a_returned_order_whose_fee_does_not_net_to_zero(orders):
    order = orders["A-3"]
    FeeEntry.objects.filter(order=order, kind="refund").update(amount=D("2.00"))
    err = failing_reconcile()
    assert f"order {order.pk} is returned but its fee nets to 1.00" in err


def test_a_settled_record_whose_totals_are_not_its_entries(seller, orders):
    record = SettledRecord.objects.get(currency="USD", period_start=date(2026, 10, 5))
    assert (record.fees_charged, record.fees_refunded) == (D("9.00"), D("1.50"))
    SettledRecord.objects.filter(pk=record.pk).update(
        fees_charged=F("fees_charged") + 1, net=F("net") + 1
    )
    err = failing_reconcile()
    assert (
        f"settled record {record.pk} says 10.00 charged and 1.50 refunded; "
        "its entries say 9.00 and 1.50"
    ) in err


def test_a_charge_of_a_voucher_order_that_was_not_eligible(seller, orders):
    placed = REGISTERED_AT - timedelta(days=1)  # before the seller registered
    early = deliver(
        seller,
        external_id="EARLY",
        placed_at=placed,
        paid_at=placed + timedelta(hours=1),
        shipped_at=placed + timedelta(days=1),
        delivered_at=placed + timedelta(days=2),
    )
    assert not early.fee_entries.exists()
    assert "All consistent" in reconcile()[0]
    forge_charge(early, like=charge(orders["A-1"]))
    err = failing_reconcile()
    assert f"order {early.pk} (EARLY) is charged but not eligible" in err


def test_a_charge_of_an_order_without_the_voucher(seller, orders):
    order = orders["NV"]
    assert not order.fee_entries.exists()
    forge_charge(order, like=charge(orders["A-1"]))
    err = failing_reconcile()
    assert f"order {order.pk} (NV) is charged but not eligible" in err
