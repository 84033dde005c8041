"""Order Cashback month close (SPEC 7): GMV, tiers, shares, FX, late orders, repeats, crashes.

Orders are made through the real order service; the close runs with an explicit as_of.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cashback import order_cashback
from cashback.models import Accrual, CashbackMonth, FxRate, TierSchedule
from cashback.order_cashback import close_months
from core.models import JobRun
from orders.models import Order
from orders.services import EventInput, order_apply_event, orders_create
from tests.concurrency import race
from tests.factories import SellerFactory
from tests.orders.conftest import order_input

OCT = date(2026, 10, 1)
NOV = date(2026, 11, 1)
SEP = date(2026, 9, 1)
# The first close run after October ended (UTC platform time zone).
AFTER_OCTOBER = datetime(2026, 11, 1, 1, tzinfo=UTC)
DELIVERED = datetime(2026, 10, 4, 10, 0, tzinfo=UTC)  # order_input's T0 + 3 days
CENT = Decimal("0.01")


def place(seller, external_id, gmv="100.00", *, at=DELIVERED, now=None, **overrides):
    """A delivered Order Center order whose GMV in its currency is exactly `gmv`, delivered
    `at`, its earlier steps a few days before."""
    placed = at - timedelta(days=3)
    values = {
        "external_id": external_id,
        "net_product_price": Decimal(gmv),
        "seller_funded_discount": Decimal("0.00"),
        "bonus_cashback_voucher": False,
        "tracking_number": f"TRK-{external_id}",
        "placed_at": placed,
        "paid_at": placed + timedelta(hours=1),
        "shipped_at": placed + timedelta(days=1),
        "delivered_at": at,
    }
    values.update(overrides)
    (result,) = orders_create(seller=seller, inputs=[order_input(**values)], now=now)
    assert result.result == "created", result.errors
    return result.order


def month_of(seller, month=OCT) -> CashbackMonth:
    return CashbackMonth.objects.get(seller=seller, month=month)


def accruals_of(seller, month=OCT) -> list[Accrual]:
    return list(
        Accrual.objects.filter(seller=seller, month__month=month)
        .select_related("order")
        .order_by("order_id")
    )


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def expected_shares(gmvs: dict[int, Decimal], total: Decimal) -> dict[int, Decimal]:
    """SPEC 7, recomputed apart from the product: each share rounded down to the cent, the
    cents left over to the largest remainders, ties by order id."""
    month_gmv = sum(int(g * 100) for g in gmvs.values())
    total_cents = int(total * 100)
    floors, remainders = {}, {}
    for order_id, gmv in gmvs.items():
        floors[order_id], remainders[order_id] = divmod(int(gmv * 100) * total_cents, month_gmv)
    leftover = total_cents - sum(floors.values())
    for order_id in sorted(gmvs, key=lambda o: (-remainders[o], o))[:leftover]:
        floors[order_id] += 1
    return {order_id: Decimal(c) / 100 for order_id, c in floors.items()}


pytestmark = pytest.mark.django_db

PG_SHARES_BUG = (
    "product bug: on PostgreSQL SUM(bigint) OVER is numeric, so _insert_shares divides "
    "exactly instead of flooring; shares are rounded on insert and no longer add up to the total"
)


# 1. The SPEC example ------------------------------------------------------------------------


def test_the_spec_example_yearly_seller_with_3500_gets_1_5_percent():
    seller = SellerFactory(name="Yearly Shop", plan="yearly")
    orders = [
        place(seller, "A", "1000.00", at=datetime(2026, 10, 4, 10, tzinfo=UTC)),
        place(seller, "B", "1500.00", at=datetime(2026, 10, 12, 8, 30, tzinfo=UTC)),
        place(seller, "C", "1000.00", at=datetime(2026, 10, 31, 23, 59, tzinfo=UTC)),
    ]

    counts = close_months(as_of=AFTER_OCTOBER)

    month = month_of(seller)
    assert month.status == "closed"
    assert month.gmv_usd == Decimal("3500.00")
    assert (month.tier_rate, month.bonus_rate, month.rate) == (
        Decimal("1"),
        Decimal("0.5"),
        Decimal("1.5"),
    )
    assert month.total == Decimal("52.50")
    assert month.plan == "yearly" and month.orders_count == 3
    assert month.closed_at is not None
    accruals = accruals_of(seller)
    assert [(a.order_id, a.gmv_usd, a.amount) for a in accruals] == [
        (orders[0].pk, Decimal("1000.00"), Decimal("15.00")),
        (orders[1].pk, Decimal("1500.00"), Decimal("22.50")),
        (orders[2].pk, Decimal("1000.00"), Decimal("15.00")),
    ]
    assert [a.due_at for a in accruals] == [
        datetime(2026, 11, 3, 10, tzinfo=UTC),
        datetime(2026, 11, 11, 8, 30, tzinfo=UTC),
        datetime(2026, 11, 30, 23, 59, tzinfo=UTC),
    ]
    assert {(a.status, a.late, a.refunded_at_close) for a in accruals} == {
        ("pending", False, Decimal("0.00"))
    }
    assert (counts["months_closed"], counts["accruals"]) == (1, 3)


def test_an_accrual_is_due_30_days_after_delivery_to_the_microsecond(seller):
    delivered = datetime(2026, 10, 4, 10, 0, 0, 750000, tzinfo=UTC)
    order = place(seller, "MICRO", "1000.00", at=delivered)

    close_months(as_of=AFTER_OCTOBER)

    assert Accrual.objects.get(order=order).due_at == delivered + timedelta(days=30)


# 2. Every tier boundary on both plans --------------------------------------------------------


@pytest.mark.parametrize(
    ("gmv", "plan", "tier_rate", "bonus", "total"),
    [
        ("999.99", "monthly", "0", "0", "0.00"),
        ("999.99", "yearly", "0", "0", "0.00"),  # no bonus below the first threshold
        ("1000.00", "monthly", "0.5", "0", "5.00"),
        ("1000.00", "yearly", "0.5", "0.5", "10.00"),
        ("2999.99", "monthly", "0.5", "0", "15.00"),  # 14.99995
        ("2999.99", "yearly", "0.5", "0.5", "30.00"),  # 29.9999
        ("3000.00", "monthly", "1", "0", "30.00"),
        ("3000.00", "yearly", "1", "0.5", "45.00"),
        ("9999.99", "monthly", "1", "0", "100.00"),  # 99.9999
        ("9999.99", "yearly", "1", "0.5", "150.00"),  # 149.99985
        ("10000.00", "monthly", "2", "0", "200.00"),
        ("10000.00", "yearly", "2", "0.5", "250.00"),
        ("1234.50", "monthly", "0.5", "0", "6.17"),  # 6.1725
        ("1233.00", "monthly", "0.5", "0", "6.17"),  # 6.165: half up (half even: 6.16)
    ],
)
def test_tier_boundaries(gmv, plan, tier_rate, bonus, total):
    seller = SellerFactory(name=f"Shop {plan} {gmv}", plan=plan)
    order = place(seller, "ONLY", gmv)

    close_months(as_of=AFTER_OCTOBER)

    month = month_of(seller)
    assert month.status == "closed"
    assert month.gmv_usd == Decimal(gmv)
    assert month.tier_rate == Decimal(tier_rate)
    assert month.bonus_rate == Decimal(bonus)
    assert month.rate == Decimal(tier_rate) + Decimal(bonus)
    assert month.total == Decimal(total)
    (accrual,) = accruals_of(seller)
    assert (accrual.order_id, accrual.amount) == (order.pk, Decimal(total))


# 3. Orders that do not count -----------------------------------------------------------------


def test_only_counting_orders_of_the_month_and_seller_get_gmv_and_accruals(seller, other_seller):
    counted = [place(seller, "COUNTS-1", "1000.00"), place(seller, "COUNTS-2", "500.00")]
    place(seller, "SELLER-FULFILLED", "2000.00", fulfillment_channel="seller")
    place(seller, "SHIPPED", "2000.00", status="shipped", delivered_at=None)
    place(
        seller,
        "RETURNED",
        "2000.00",
        status="returned",
        returned_at=DELIVERED + timedelta(days=2),
        refunded_amount=Decimal("2000.00"),
    )
    september = place(seller, "SEPTEMBER", "2000.00", at=datetime(2026, 9, 30, 23, 59, tzinfo=UTC))
    november = place(seller, "NOVEMBER", "2000.00", at=datetime(2026, 11, 1, tzinfo=UTC))
    rival = place(other_seller, "RIVAL", "2000.00")

    close_months(as_of=AFTER_OCTOBER)

    month = month_of(seller)
    assert (month.gmv_usd, month.orders_count, month.rate, month.total) == (
        Decimal("1500.00"),
        2,
        Decimal("0.5"),
        Decimal("7.50"),
    )
    assert [(a.order_id, a.amount) for a in accruals_of(seller)] == [
        (counted[0].pk, Decimal("5.00")),
        (counted[1].pk, Decimal("2.50")),
    ]
    # The September order counts for September, the rival's for the rival, November's not yet.
    assert Accrual.objects.get(order=september).month.month == SEP
    assert month_of(seller, SEP).gmv_usd == Decimal("2000.00")
    assert Accrual.objects.get(order=rival).seller_id == other_seller.pk
    assert month_of(other_seller).gmv_usd == Decimal("2000.00")
    assert not Accrual.objects.filter(order=november).exists()
    assert not CashbackMonth.objects.filter(month=NOV).exists()
    not_counted = ["SELLER-FULFILLED", "SHIPPED", "RETURNED"]
    assert not Accrual.objects.filter(order__external_id__in=not_counted).exists()


# 4. A partial refund before the close ---------------------------------------------------------


def test_a_partial_refund_before_the_close_lowers_the_gmv(seller):
    refunded_at_create = place(
        seller,
        "REFUNDED-AT-CREATE",
        "1000.00",
        refunded_amount=Decimal("100.00"),
        refunded_at=DELIVERED + timedelta(days=1),
    )
    refunded_by_event = place(seller, "REFUNDED-BY-EVENT", "2500.00")
    order_apply_event(
        seller=seller,
        external_id="REFUNDED-BY-EVENT",
        event=EventInput(
            type="refunded", occurred_at=DELIVERED + timedelta(days=2), amount=Decimal("400.00")
        ),
    )

    close_months(as_of=AFTER_OCTOBER)

    month = month_of(seller)
    # 900.00 + 2100.00 = 3000.00: exactly the 1 % tier, which the refunds nearly missed.
    assert (month.gmv_usd, month.rate, month.total) == (
        Decimal("3000.00"),
        Decimal("1"),
        Decimal("30.00"),
    )
    accruals = {a.order_id: a for a in accruals_of(seller)}
    first, second = accruals[refunded_at_create.pk], accruals[refunded_by_event.pk]
    assert (first.gmv_usd, first.amount, first.refunded_at_close) == (
        Decimal("900.00"),
        Decimal("9.00"),
        Decimal("100.00"),
    )
    assert (second.gmv_usd, second.amount, second.refunded_at_close) == (
        Decimal("2100.00"),
        Decimal("21.00"),
        Decimal("400.00"),
    )


# 5. The month of a delivery in the platform time zone ----------------------------------------


def test_a_delivery_belongs_to_its_month_in_the_platform_time_zone(settings):
    settings.TIME_ZONE = "Asia/Singapore"  # UTC+8, no daylight saving
    seller = SellerFactory(name="Singapore Shop")
    october = place(seller, "OCT-31-23H", "1000.00", at=datetime(2026, 10, 31, 15, tzinfo=UTC))
    november = place(seller, "NOV-1-01H", "3000.00", at=datetime(2026, 10, 31, 17, tzinfo=UTC))

    # 2026-11-01 01:00 UTC is 09:00 in Singapore: October has ended there, November not.
    close_months(as_of=AFTER_OCTOBER)
    assert month_of(seller, OCT).gmv_usd == Decimal("1000.00")
    assert Accrual.objects.get(order=october).month.month == OCT
    assert not Accrual.objects.filter(order=november).exists()

    close_months(as_of=datetime(2026, 12, 1, 1, tzinfo=UTC))
    assert month_of(seller, NOV).gmv_usd == Decimal("3000.00")
    assert Accrual.objects.get(order=november).month.month == NOV
    assert month_of(seller, OCT).gmv_usd == Decimal("1000.00")


def test_a_utc_platform_counts_the_same_instants_in_october(settings):
    settings.TIME_ZONE = "UTC"
    seller = SellerFactory(name="UTC Shop")
    place(seller, "OCT-31-15H", "1000.00", at=datetime(2026, 10, 31, 15, tzinfo=UTC))
    place(seller, "OCT-31-17H", "3000.00", at=datetime(2026, 10, 31, 17, tzinfo=UTC))

    close_months(as_of=AFTER_OCTOBER)

    assert month_of(seller, OCT).gmv_usd == Decimal("4000.00")


# 6. Shares add up exactly ---------------------------------------------------------------------


def test_left_over_cents_go_to_the_largest_remainders_then_the_lowest_order_id():
    seller = SellerFactory(name="Ties")
    # 3,001.50 at 1 % is 30.015, so 30.02: 1000.67 cents each, 2 cents left for the first two.
    orders = [place(seller, f"T-{n}", "1000.50") for n in range(3)]
    close_months(as_of=AFTER_OCTOBER)

    assert month_of(seller).total == Decimal("30.02")
    assert [(a.order_id, a.amount) for a in accruals_of(seller)] == [
        (orders[0].pk, Decimal("10.01")),
        (orders[1].pk, Decimal("10.01")),
        (orders[2].pk, Decimal("10.00")),
    ]


def test_a_larger_remainder_wins_over_a_lower_order_id():
    seller = SellerFactory(name="Remainders")
    # 3.01 + 1,000.00 + 2,001.00 = 3,004.01 at 1 %: 30.0401, so 30.04 = 3004 cents. Exact
    # shares in cents: 3.0100, 999.9967, 2000.9963: floors 3 + 999 + 2000 = 3002, so the two
    # cents left go to the larger remainders, not to the lowest order id.
    orders = [
        place(seller, "SMALL", "3.01"),
        place(seller, "BIG", "1000.00"),
        place(seller, "BIGGER", "2001.00"),
    ]

    close_months(as_of=AFTER_OCTOBER)

    month = month_of(seller)
    assert month.total == Decimal("30.04")
    gmvs = {o.pk: o.net_product_price for o in orders}
    assert expected_shares(gmvs, month.total) == {
        orders[0].pk: Decimal("0.03"),
        orders[1].pk: Decimal("10.00"),
        orders[2].pk: Decimal("20.01"),
    }
    assert [(a.order_id, a.amount) for a in accruals_of(seller)] == [
        (orders[0].pk, Decimal("0.03")),
        (orders[1].pk, Decimal("10.00")),
        (orders[2].pk, Decimal("20.01")),
    ]


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000.00"), places=2),
        min_size=1,
        max_size=15,
    ),
    plan=st.sampled_from(["monthly", "yearly"]),
)
def test_shares_add_up_to_the_month_total_exactly(amounts, plan):
    with transaction.atomic():
        seller = SellerFactory(name="Property Shop", plan=plan)
        orders = [place(seller, f"P-{n}", f"{amount:.2f}") for n, amount in enumerate(amounts)]

        close_months(as_of=AFTER_OCTOBER, seller_ids=[seller.pk])

        month = month_of(seller)
        gmv = sum(amounts, Decimal("0.00"))
        assert month.gmv_usd == gmv
        assert month.total == half_up(gmv * month.rate / 100)
        accruals = accruals_of(seller)
        assert sum(a.amount for a in accruals) == month.total
        for accrual, order in zip(accruals, orders, strict=True):
            exact = order.net_product_price * month.total / gmv
            assert abs(accrual.amount - exact) < CENT, (accrual.amount, exact)
        expected = expected_shares({o.pk: o.net_product_price for o in orders}, month.total)
        assert [(a.order_id, a.amount) for a in accruals] == sorted(expected.items())
        transaction.set_rollback(True)


# 7. FX rates ------------------------------------------------------------------------------


def test_a_missing_fx_rate_keeps_the_month_waiting_until_the_rate_exists(seller):
    place(seller, "USD-1", "3000.00")
    euro = place(seller, "EUR-1", "100.00", currency="EUR")

    close_months(as_of=AFTER_OCTOBER)

    month = month_of(seller)
    assert month.status == "waiting_fx"
    assert "EUR on 2026-10-04" in month.waiting_for
    assert month.closed_at is None
    assert not Accrual.objects.filter(seller=seller).exists()

    # Another day's rate does not do.
    FxRate.objects.create(currency="EUR", date=date(2026, 10, 3), rate_to_usd=Decimal("2.00"))
    close_months(as_of=AFTER_OCTOBER + timedelta(days=1))
    assert month_of(seller).status == "waiting_fx"
    assert not Accrual.objects.filter(seller=seller).exists()

    FxRate.objects.create(currency="EUR", date=date(2026, 10, 4), rate_to_usd=Decimal("1.10"))
    close_months(as_of=AFTER_OCTOBER + timedelta(days=2))

    month = month_of(seller)
    assert CashbackMonth.objects.filter(seller=seller).count() == 1
    assert month.status == "closed" and month.waiting_for == ""
    assert (month.gmv_usd, month.rate, month.total) == (
        Decimal("3110.00"),
        Decimal("1"),
        Decimal("31.10"),
    )
    assert Accrual.objects.get(order=euro).gmv_usd == Decimal("110.00")
    assert Accrual.objects.get(order=euro).amount == Decimal("1.10")


def test_the_fx_rate_is_rounded_half_up_to_cents_order_by_order(seller):
    # 100.05 x 1.10 = 110.055 -> 110.06; 0.05 x 1.10 = 0.055 -> 0.06.
    place(seller, "EUR-A", "100.05", currency="EUR")
    place(seller, "EUR-B", "0.05", currency="EUR")
    FxRate.objects.create(currency="EUR", date=date(2026, 10, 4), rate_to_usd=Decimal("1.10"))

    close_months(as_of=AFTER_OCTOBER)

    assert [a.gmv_usd for a in accruals_of(seller)] == [Decimal("110.06"), Decimal("0.06")]
    assert month_of(seller).gmv_usd == Decimal("110.12")


def test_the_rate_of_the_delivery_day_in_the_platform_time_zone_is_used(settings):
    settings.TIME_ZONE = "Asia/Singapore"
    seller = SellerFactory(name="Euro Shop")
    # 2026-10-04 20:00 UTC is 2026-10-05 04:00 in Singapore.
    euro = place(
        seller, "EUR-1", "100.00", currency="EUR", at=datetime(2026, 10, 4, 20, tzinfo=UTC)
    )
    FxRate.objects.create(currency="EUR", date=date(2026, 10, 4), rate_to_usd=Decimal("2.00"))

    close_months(as_of=AFTER_OCTOBER)
    assert month_of(seller).status == "waiting_fx"
    assert "EUR on 2026-10-05" in month_of(seller).waiting_for

    FxRate.objects.create(currency="EUR", date=date(2026, 10, 5), rate_to_usd=Decimal("1.10"))
    FxRate.objects.create(currency="EUR", date=date(2026, 10, 6), rate_to_usd=Decimal("3.00"))
    close_months(as_of=AFTER_OCTOBER)

    assert month_of(seller).gmv_usd == Decimal("110.00")
    assert Accrual.objects.get(order=euro).gmv_usd == Decimal("110.00")


def test_a_waiting_month_whose_orders_were_returned_is_closed_once_the_rate_exists(seller):
    place(seller, "EUR-1", "100.00", currency="EUR")
    close_months(as_of=AFTER_OCTOBER)
    assert month_of(seller).status == "waiting_fx"
    order_apply_event(
        seller=seller,
        external_id="EUR-1",
        event=EventInput(type="refunded", occurred_at=DELIVERED + timedelta(days=30)),
    )
    FxRate.objects.create(currency="EUR", date=date(2026, 10, 4), rate_to_usd=Decimal("1.10"))

    close_months(as_of=AFTER_OCTOBER + timedelta(days=40))

    month = month_of(seller)
    assert (month.status, month.waiting_for) == ("closed", "")
    assert (month.gmv_usd, month.total) == (Decimal("0.00"), Decimal("0.00"))


# 8. Late orders ---------------------------------------------------------------------------


def test_an_order_known_after_the_close_is_a_late_addition_at_the_closed_rate():
    seller = SellerFactory(name="Late Shop", plan="yearly")
    for n, gmv in enumerate(["1000.00", "1500.00", "1000.00"]):
        place(seller, f"ON-TIME-{n}", gmv)
    close_months(as_of=AFTER_OCTOBER)
    before = month_of(seller)
    assert (before.rate, before.total) == (Decimal("1.5"), Decimal("52.50"))

    # 103.00 at 1.5 % is 1.545: 1.55 half up (half even would make it 1.54).
    late = place(seller, "LATE", "103.00", at=datetime(2026, 10, 20, 12, tzinfo=UTC))
    counts = close_months(as_of=AFTER_OCTOBER + timedelta(days=1))

    accrual = Accrual.objects.get(order=late)
    assert accrual.late is True
    assert accrual.month_id == before.pk
    assert (accrual.gmv_usd, accrual.amount) == (Decimal("103.00"), Decimal("1.55"))
    assert accrual.due_at == datetime(2026, 11, 19, 12, tzinfo=UTC)
    assert accrual.status == "pending"
    assert counts["late_accruals"] == 1 and counts["months_closed"] == 0
    after = month_of(seller)
    assert (after.gmv_usd, after.total, after.rate, after.orders_count) == (
        Decimal("3500.00"),
        Decimal("52.50"),
        Decimal("1.5"),
        3,
    )
    assert after.closed_at == before.closed_at
    call_command("reconcile")  # raises CommandError on any mismatch


def test_a_late_order_does_not_lift_the_month_to_a_higher_tier():
    seller = SellerFactory(name="Almost Shop")
    place(seller, "ON-TIME", "2999.99")
    close_months(as_of=AFTER_OCTOBER)

    late = place(seller, "LATE", "5000.00", at=datetime(2026, 10, 30, tzinfo=UTC))
    call_command("close_month", "2026-10")

    assert Accrual.objects.get(order=late).amount == Decimal("25.00")  # 0.5 %, not 1 %
    assert month_of(seller).total == Decimal("15.00")
    call_command("reconcile")


# 9. Close is safe to repeat ----------------------------------------------------------------


def snapshot():
    months = list(
        CashbackMonth.objects.order_by("pk").values_list(
            "pk", "seller_id", "month", "status", "gmv_usd", "rate", "total", "closed_at"
        )
    )
    accruals = list(
        Accrual.objects.order_by("pk").values_list(
            "pk", "order_id", "month_id", "amount", "due_at", "created_at"
        )
    )
    return months, accruals


def test_closing_twice_changes_nothing_the_second_time(seller, other_seller):
    for n, gmv in enumerate(["1000.00", "1500.00", "1000.00"]):
        place(seller, f"S-{n}", gmv)
    place(other_seller, "R-1", "12000.00")
    first = close_months(as_of=AFTER_OCTOBER)
    assert (first["months_closed"], first["accruals"]) == (2, 4)
    before = snapshot()

    second = close_months(as_of=AFTER_OCTOBER + timedelta(hours=5))
    call_command("close_month", "2026-10")

    assert second["months_closed"] == 0 and second["accruals"] == 0
    assert second["late_accruals"] == 0
    assert snapshot() == before
    assert len(before[0]) == 2 and len(before[1]) == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_closes_at_once_close_once():
    # A transactional test before this one may have flushed the migration's default tiers.
    import_module("cashback.migrations.0003_default_tiers").create_default_tiers(apps, None)
    assert TierSchedule.objects.count() == 1
    sellers = [SellerFactory(name=f"Racer {n}", plan="yearly") for n in range(3)]
    for seller in sellers:
        for n, gmv in enumerate(["1000.00", "1500.00", "1000.00"]):
            place(seller, f"{seller.slug}-{n}", gmv)

    outcomes = race(
        lambda: close_months(as_of=AFTER_OCTOBER), lambda: close_months(as_of=AFTER_OCTOBER)
    )

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert CashbackMonth.objects.filter(month=OCT).count() == 3
    assert Accrual.objects.count() == 9
    assert Accrual.objects.values("order").distinct().count() == 9
    for seller in sellers:
        month = month_of(seller)
        assert (month.status, month.total) == ("closed", Decimal("52.50"))
        assert sum(a.amount for a in accruals_of(seller)) == Decimal("52.50")
    closed = sum(value["months_closed"] for _, value in outcomes)
    assert closed == 3


# 10. Only ended months; the command --------------------------------------------------------


def test_a_month_not_ended_is_not_closed(seller):
    place(seller, "OCT", "5000.00")

    counts = close_months(as_of=datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC))
    assert counts["months_closed"] == 0
    assert not CashbackMonth.objects.exists() and not Accrual.objects.exists()

    with pytest.raises(ValueError, match="has not ended"):
        close_months(as_of=datetime(2026, 10, 20, tzinfo=UTC), month=OCT)
    assert not CashbackMonth.objects.exists()

    current = f"{timezone.localtime():%Y-%m}"
    with pytest.raises(CommandError, match="has not ended"):
        call_command("close_month", current)
    assert not CashbackMonth.objects.exists()


def test_close_month_with_seller_closes_only_that_seller(seller, other_seller):
    mine = place(seller, "MINE", "1000.00")
    theirs = place(other_seller, "THEIRS", "1000.00")

    call_command("close_month", "2026-10", "--seller", seller.slug)

    assert month_of(seller).total == Decimal("5.00")
    assert Accrual.objects.filter(order=mine).exists()
    assert not CashbackMonth.objects.filter(seller=other_seller).exists()
    assert not Accrual.objects.filter(order=theirs).exists()

    call_command("close_month", "2026-10")
    assert month_of(other_seller).total == Decimal("5.00")


@pytest.mark.parametrize("bad", ["2026-13", "October", "2026-10-01", "2026", "", "26-1x"])
def test_close_month_refuses_a_bad_month(seller, bad):
    place(seller, "OCT", "1000.00")
    with pytest.raises(CommandError):
        call_command("close_month", bad)
    assert not CashbackMonth.objects.exists()


def test_close_month_refuses_an_unknown_seller(seller):
    place(seller, "OCT", "1000.00")
    with pytest.raises(CommandError, match="nobody"):
        call_command("close_month", "2026-10", "--seller", "nobody")
    assert not CashbackMonth.objects.exists()


# 11. A crash half way ----------------------------------------------------------------------


def test_a_crash_half_way_stores_nothing_of_the_month_and_records_the_failure(seller, monkeypatch):
    orders = [place(seller, f"C-{n}", gmv) for n, gmv in enumerate(["1000.00", "2500.00"])]
    real_insert_shares = order_cashback._insert_shares
    seen = {}

    class WorkerDied(BaseException):
        """The process ends: not an error of a seller's data, so nothing goes on after it."""

    def crash(params, seller_ids, month_ids):
        seen["months"] = CashbackMonth.objects.filter(status="closed").count()
        raise WorkerDied("worker died")

    monkeypatch.setattr(order_cashback, "_insert_shares", crash)
    with pytest.raises(WorkerDied, match="worker died"):
        close_months(as_of=AFTER_OCTOBER)

    assert seen == {"months": 1}  # the months were inserted before the crash
    assert not CashbackMonth.objects.exists()
    assert not Accrual.objects.exists()
    run = JobRun.objects.get(job="close_month")
    assert run.status == "failed" and "worker died" in run.errors
    assert run.finished_at is not None

    monkeypatch.setattr(order_cashback, "_insert_shares", real_insert_shares)
    close_months(as_of=AFTER_OCTOBER)

    month = month_of(seller)
    assert (month.status, month.gmv_usd, month.total) == (
        "closed",
        Decimal("3500.00"),
        Decimal("35.00"),
    )
    assert [(a.order_id, a.amount) for a in accruals_of(seller)] == [
        (orders[0].pk, Decimal("10.00")),
        (orders[1].pk, Decimal("25.00")),
    ]
    assert JobRun.objects.filter(job="close_month", status="succeeded").count() == 1


def test_the_orders_module_is_untouched_by_the_close(seller):
    """The close reads orders; it never changes them."""
    order = place(seller, "READ-ONLY", "1000.00")
    before = Order.objects.filter(pk=order.pk).values().get()
    close_months(as_of=AFTER_OCTOBER)
    assert Order.objects.filter(pk=order.pk).values().get() == before
