"""The month so far (dashboard, API summary) from the hourly roll-up plus the orders
delivered since: the same figures as summing every order of the month, whatever the
roll-up's hour; a change to an order delivered before the roll-up shows from the next one
on; the roll-up runs twice as once, and never goes back in time."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from cashback.models import FxRate, MonthSoFar
from cashback.order_cashback import roll_up_months
from cashback.selectors import cashback_progress
from tests.cashback.test_crediting import refund
from tests.cashback.test_month_close import place

pytestmark = pytest.mark.django_db

D = Decimal
NOW = datetime(2026, 10, 20, 15, 30, tzinfo=UTC)


def progress(seller, at=NOW):
    p = cashback_progress(seller=seller, at=at)
    return (p.orders, p.gmv_usd, p.waiting_for, p.tier_rate, p.projected_cashback)


def summed_live(seller, at=NOW):
    """What the month so far is without any roll-up: every order of the month, summed."""
    MonthSoFar.objects.filter(seller=seller).delete()
    return progress(seller, at)


@pytest.fixture
def month(seller):
    """Orders delivered through October: USD ones, and one in EUR whose rate is missing."""
    for day in (2, 9, 16):
        place(seller, f"D-{day}", "700.00", at=datetime(2026, 10, day, 10, tzinfo=UTC))
    place(seller, "EUR-1", "50.00", at=datetime(2026, 10, 5, tzinfo=UTC), currency="EUR")
    return seller


@pytest.mark.parametrize("hour", [datetime(2026, 10, 1, 0, 20, tzinfo=UTC), NOW])
def test_the_roll_up_and_the_orders_since_add_up_to_the_whole_month(month, hour):
    with time_machine.travel(NOW, tick=False):
        place(month, "TODAY", "400.00", at=NOW - timedelta(minutes=10))
    roll_up_months(as_of=hour)

    with_roll_up = progress(month)

    assert with_roll_up == summed_live(month)
    assert with_roll_up[:2] == (5, D("2500.00"))  # the EUR order counts, waiting
    assert with_roll_up[2] == "FX rate EUR on 2026-10-05"


def test_the_roll_up_sums_until_its_hour_began(month):
    roll_up_months(as_of=NOW)

    row = MonthSoFar.objects.get(seller=month)
    assert row.through == datetime(2026, 10, 20, 15, tzinfo=UTC)
    assert (row.orders_count, row.gmv_usd, row.waiting_count) == (4, D("2100.00"), 1)
    assert row.waiting_for == "EUR on 2026-10-05"


def test_an_order_changed_before_the_roll_up_shows_from_the_next_one_on(month):
    roll_up_months(as_of=NOW - timedelta(hours=2))
    refund(month, "D-9", when=NOW - timedelta(hours=1))  # returned: it counts no more
    FxRate.objects.create(currency="EUR", date=datetime(2026, 10, 5).date(), rate_to_usd=D("2"))

    assert progress(month)[:3] == (4, D("2100.00"), "FX rate EUR on 2026-10-05")

    roll_up_months(as_of=NOW)
    assert progress(month) == summed_live(month)
    assert progress(month)[:3] == (3, D("1500.00"), "")


def test_twice_is_once_and_an_earlier_roll_up_never_replaces_a_later_one(month):
    roll_up_months(as_of=NOW)
    first = list(MonthSoFar.objects.values_list("through", "orders_count", "gmv_usd"))
    roll_up_months(as_of=NOW)
    assert list(MonthSoFar.objects.values_list("through", "orders_count", "gmv_usd")) == first

    roll_up_months(as_of=NOW - timedelta(hours=5))  # an earlier run, finishing late
    assert list(MonthSoFar.objects.values_list("through", "orders_count", "gmv_usd")) == first


def test_a_seller_with_nothing_left_to_count_and_ended_months_have_no_row(seller):
    place(seller, "ONLY", "100.00", at=datetime(2026, 10, 2, tzinfo=UTC))
    roll_up_months(as_of=NOW)
    assert MonthSoFar.objects.filter(seller=seller).exists()

    refund(seller, "ONLY", when=NOW - timedelta(hours=1))
    roll_up_months(as_of=NOW + timedelta(hours=1))
    assert not MonthSoFar.objects.exists()
    assert progress(seller, NOW + timedelta(hours=1))[:2] == (0, D("0.00"))

    place(seller, "AGAIN", "100.00", at=datetime(2026, 10, 3, tzinfo=UTC))
    roll_up_months(as_of=NOW)
    roll_up_months(as_of=datetime(2026, 11, 2, tzinfo=UTC))  # October has ended
    assert not MonthSoFar.objects.filter(month=datetime(2026, 10, 1).date()).exists()


def test_a_roll_up_after_the_instant_asked_about_is_not_used(month):
    roll_up_months(as_of=NOW)
    refund(month, "D-9", when=NOW - timedelta(minutes=5))  # the roll-up still counts it
    earlier = NOW - timedelta(days=10)
    assert progress(month, earlier)[:2] == (3, D("1400.00"))
    assert progress(month, earlier) == summed_live(month, earlier)


def test_the_command_rolls_up_as_of_an_instant(month, capsys):
    call_command("roll_up_months", "--as-of", NOW.isoformat())
    assert "1 sellers" in capsys.readouterr().out
    assert MonthSoFar.objects.get(seller=month).orders_count == 4
