"""The money jobs hold every amount the product accepts (docs/reliability.md, "Bounds").

An order's amounts go up to MAX_AMOUNT and an FX rate up to MAX_FX_RATE; a month of many
such orders closes, rolls up, settles and credits to the cent beside an ordinary month, on
PostgreSQL and on SQLite, and the arithmetic the jobs do in SQL is the rule's, exactly.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import DataError, connection
from hypothesis import given, settings
from hypothesis import strategies as st

from cashback.models import MAX_FX_RATE, Accrual, CashbackMonth, FxRate, MonthSoFar
from cashback.order_cashback import (
    FxImportError,
    close_months,
    credit_cashback,
    import_fx_rates,
    months_to_close,
    roll_up_months,
)
from cashback.services import Actor, registration_create
from core.dialect import (
    muldiv,
    mulmod,
    sql_cents_at_rate,
    sql_muldiv,
    sql_mulmod,
    sql_percent_of_cents,
)
from core.models import JobRun, SellerFailure
from core.money import MAX_AMOUNT, exact, percent_of, round_money
from fees.models import SettledRecord
from fees.services import settle_fees
from orders.services import orders_create
from sellers.models import Plan
from tests.factories import SellerFactory, SellerUserFactory, make_campaign
from tests.orders.conftest import T0, order_input
from wallet.models import Wallet

DELIVERED = T0 + timedelta(days=3)  # 2026-10-04
SO_FAR = datetime(2026, 10, 20, 0, tzinfo=UTC)
SETTLE_AT = datetime(2026, 10, 12, 1, tzinfo=UTC)
AFTER_OCTOBER = datetime(2026, 11, 1, 1, tzinfo=UTC)
CREDIT_AT = datetime(2026, 11, 5, 1, tzinfo=UTC)
# Which amounts each database holds to the cent: PostgreSQL's numeric any; SQLite keeps 15
# significant digits, so there a month of maximal orders is in US dollars.
POSTGRES = connection.vendor == "postgresql"


def shop(campaign, name: str, plan: str = Plan.MONTHLY):
    seller = SellerFactory(name=name, plan=plan)
    registration_create(
        seller=seller,
        campaign=campaign,
        agree_to_terms=True,
        actor=Actor.seller_user(SellerUserFactory(seller=seller)),
        now=T0 - timedelta(days=30),
    )
    return seller


def deliver(seller, amounts: list[D], currency: str = "USD") -> None:
    inputs = [
        order_input(
            external_id=f"{seller.slug}-{n}",
            currency=currency,
            net_product_price=amount,
            seller_funded_discount=D("0.00"),
        )
        for n, amount in enumerate(amounts)
    ]
    results = orders_create(seller=seller, inputs=inputs)
    assert [r.result for r in results] == ["created"] * len(amounts), results[0].errors


def run_every_job() -> None:
    roll_up_months(as_of=SO_FAR)
    settle_fees(as_of=SETTLE_AT)
    close_months(as_of=AFTER_OCTOBER)
    credit_cashback(as_of=CREDIT_AT)


@pytest.mark.django_db
def test_a_month_of_maximal_orders_runs_through_every_job_beside_an_ordinary_one():
    campaign = make_campaign(slug="all-in", fee_rate="100")  # the highest fee rate there is
    largest = shop(campaign, "Largest", plan=Plan.YEARLY)
    ordinary = shop(campaign, "Ordinary")
    # At and just below the bound, each with other cents, so that GMVs, shares and their
    # remainders differ; their fees alone outgrow what a settled record held before.
    amounts = [MAX_AMOUNT - D("0.37") * n for n in range(120)]
    if POSTGRES:
        currency, fx = "KWD", MAX_FX_RATE - D("0.87654321")  # 8 decimals, near the bound
        FxRate.objects.create(currency=currency, date=DELIVERED.date(), rate_to_usd=fx)
    else:
        currency, fx = "USD", D("1")
    deliver(largest, amounts, currency)
    deliver(ordinary, [D("1000.00")] * 2)

    run_every_job()

    with exact():
        gmvs = [round_money(amount * fx) for amount in amounts]
        gmv = sum(gmvs)
    total = percent_of(gmv, D("2.5"))  # 2 % tier + 0.5 yearly
    assert dict(MonthSoFar.objects.values_list("seller_id", "gmv_usd")) == {
        largest.pk: gmv,
        ordinary.pk: D("2000.00"),
    }
    assert dict(SettledRecord.objects.values_list("seller_id", "net")) == {
        largest.pk: sum(amounts),
        ordinary.pk: D("2000.00"),
    }
    months = {m.seller_id: m for m in CashbackMonth.objects.all()}
    assert (months[largest.pk].gmv_usd, months[largest.pk].total) == (gmv, total)
    assert (months[ordinary.pk].gmv_usd, months[ordinary.pk].total) == (D("2000.00"), D("10.00"))
    shares = dict(
        Accrual.objects.filter(seller=largest).values_list("order__external_id", "amount")
    )
    assert sum(shares.values()) == total and len(shares) == len(amounts)
    # Each share is its order's part of the total, to the cent (the cents left over go to the
    # largest remainders): never more than a cent from the exact part.
    with exact():
        for n, order_gmv in enumerate(gmvs):
            exact_part = total * order_gmv / gmv
            assert abs(shares[f"{largest.slug}-{n}"] - exact_part) < D("0.01")
    assert dict(Wallet.objects.values_list("seller_id", "balance")) == {
        largest.pk: total,
        ordinary.pk: D("10.00"),
    }
    assert set(JobRun.objects.values_list("status", flat=True)) == {JobRun.Status.SUCCEEDED}
    assert not SellerFailure.objects.exists()
    call_command("reconcile")


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["250000000.00", "1000000000.00", str(MAX_AMOUNT)])
def test_one_large_order_is_summed_closed_and_shared_beside_an_ordinary_month(amount):
    """One order of a billion once broke the hourly sum for every seller and the close for
    those closed with it; one of 250 million, the shares."""
    campaign = make_campaign(slug="plain")
    large, ordinary = shop(campaign, "Large"), shop(campaign, "Ordinary")
    deliver(large, [D(amount)])
    deliver(ordinary, [D("1000.00")] * 2)

    run_every_job()

    total = percent_of(D(amount), D("2"))
    assert MonthSoFar.objects.get(seller=large).gmv_usd == D(amount)
    assert CashbackMonth.objects.get(seller=large).total == total
    assert Accrual.objects.get(seller=large).amount == total
    assert CashbackMonth.objects.get(seller=ordinary).total == D("10.00")
    assert Wallet.objects.get(seller=large).balance == total
    assert not SellerFailure.objects.exists()
    call_command("reconcile")


# The arithmetic in SQL -----------------------------------------------------------------------

WHOLE = st.integers(min_value=0, max_value=10**24) | st.integers(min_value=0, max_value=2**63 - 1)


@pytest.mark.django_db
@settings(max_examples=80, deadline=None)
@given(
    a=WHOLE,
    b=WHOLE,
    c=st.integers(min_value=1, max_value=2**63 - 1) | WHOLE.map(lambda n: n + 1),
    half_up=st.booleans(),
)
def test_the_products_in_sql_are_the_rules_exactly(a, b, c, half_up):
    expected = (muldiv(a, b, c, half_up), mulmod(a, b, c))
    if not POSTGRES and any(v >= 2**63 for v in (a, b, c, *expected)):
        return  # SQLite's integers hold the operands and the answers, not their products
    params = {"a": a, "b": b, "c": c}
    a_, b_, c_ = "%(a)s", "%(b)s", "%(c)s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql_muldiv(a_, b_, c_, half_up=half_up)}, {sql_mulmod(a_, b_, c_)}", params
        )
        assert tuple(int(v) for v in cursor.fetchone()) == expected


AMOUNTS = st.decimals(min_value=0, max_value=D("999999999999.99"), places=2)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None)
@given(
    amount=AMOUNTS,
    rate=st.decimals(min_value=D("0.00000001"), max_value=MAX_FX_RATE, places=8),
    percent=st.decimals(min_value=0, max_value=D("100"), places=4),
)
def test_an_amount_at_a_rate_in_sql_is_the_rule_exactly(amount, rate, percent):
    cents = int(amount * 100)
    if not POSTGRES and cents >= 10**15:
        return  # beyond the 15 digits SQLite keeps of a decimal column
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql_cents_at_rate('%(amount)s', '%(rate)s', places=8)}, "
            f"{sql_percent_of_cents('%(cents)s', '%(percent)s')}",
            {"amount": amount, "rate": rate, "cents": cents, "percent": percent},
        )
        at_rate, share = (int(v) for v in cursor.fetchone())
    assert at_rate == round_money(amount * rate) * 100
    with exact():
        assert share == round_money(D(cents) / 100 * percent / 100) * 100


@pytest.mark.django_db
@pytest.mark.skipif(POSTGRES, reason="PostgreSQL's numeric has no such limit")
def test_a_product_too_large_for_sqlite_is_an_error_never_a_wrong_amount():
    with connection.cursor() as cursor, pytest.raises(DataError):
        cursor.execute(f"SELECT {sql_muldiv('%s', '%s', '1')}", [2**62, 4])


def test_the_rule_rounds_half_up_and_down():
    assert muldiv(5, 1, 2) == 2 and muldiv(5, 1, 2, half_up=1) == 3
    assert muldiv(4, 1, 3, half_up=1) == 1 and muldiv(5, 1, 3, half_up=1) == 2


# Dates and rates -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_close_looks_only_at_the_months_that_have_orders(django_assert_max_num_queries):
    seller = SellerFactory()
    early = datetime(2000, 1, 15, 10, tzinfo=UTC)
    (first,) = orders_create(
        seller=seller,
        inputs=[
            order_input(
                external_id="Y2K",
                placed_at=early,
                paid_at=early + timedelta(hours=1),
                shipped_at=early + timedelta(days=1),
                delivered_at=early + timedelta(days=3),
            )
        ],
    )
    assert first.result == "created", first.errors
    deliver(seller, [D("100.00")])

    with django_assert_max_num_queries(4):  # one look-up a month with orders, and the waiting
        months = months_to_close(as_of=AFTER_OCTOBER)

    assert months == [date(2000, 1, 1), date(2026, 10, 1)]
    counts = close_months(as_of=AFTER_OCTOBER)
    assert counts["months_closed"] == 2


@pytest.mark.django_db
def test_a_rate_no_currency_is_worth_is_refused_with_nothing_stored(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("date,currency,rate_to_usd\n2026-10-04,KWD,3.25\n2026-10-04,JPY,150\n")
    assert import_fx_rates(path) == 2  # 150 is wrong for JPY, but possible for a currency

    path.write_text("date,currency,rate_to_usd\n2026-10-05,KWD,3.25\n2026-10-05,VND,25500\n")
    with pytest.raises(FxImportError, match="Line 3: 25500 USD for one VND is more than any"):
        import_fx_rates(path)
    assert not FxRate.objects.filter(date=date(2026, 10, 5)).exists()


@pytest.mark.django_db
@pytest.mark.skipif(not POSTGRES, reason="the constraint is lifted for the test on PostgreSQL")
def test_the_migration_names_the_rates_no_currency_is_worth_before_it_adds_the_check():
    migration = import_module("cashback.migrations.0012_totals_hold_the_bounds")
    with connection.cursor() as cursor:  # as a database of before the check held them
        cursor.execute("ALTER TABLE cashback_fxrate DROP CONSTRAINT fx_rate_plausible")
    FxRate.objects.create(currency="VND", date=date(2026, 10, 4), rate_to_usd=D("25500"))
    FxRate.objects.create(currency="EUR", date=date(2026, 10, 4), rate_to_usd=D("1.08"))

    with pytest.raises(RuntimeError, match=r"VND on 2026-10-04 \(25500\.00000000\)\. Correct"):
        migration.refuse_implausible_rates(django_apps, None)

    FxRate.objects.filter(currency="VND").delete()
    migration.refuse_implausible_rates(django_apps, None)  # nothing left to name
