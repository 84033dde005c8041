"""One seller's failing data never stops another seller's money (the jobs, per seller).

Each money job works for many sellers at once. Here the database refuses one seller's
writes, as it would a total that overflows its column: the job does everyone else's work,
names that seller and the reason in its run, keeps the seller as stuck, tries it again at
the next run, and lets go of it once its part is done.
"""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command
from django.db import DataError, connection
from django.utils import timezone

from cashback import order_cashback
from cashback.models import Accrual, AccrualStatus, CashbackMonth, MonthSoFar
from cashback.order_cashback import (
    close_months,
    credit_cashback,
    roll_up_months,
    sellers_to_close,
    sellers_to_credit,
)
from cashback.services import Actor, registration_create
from core.models import JobRun, SellerFailure
from fees.models import SettledRecord
from fees.services import sellers_to_settle, settle_fees
from orders.models import Order
from orders.services import EventInput, order_apply_event, orders_create
from tests.factories import SellerFactory, SellerUserFactory, make_campaign
from tests.orders.conftest import T0, order_input

# What each database says when a seller's data outgrows it.
OVERFLOW = "DataError: " + (
    "numeric field overflow" if connection.vendor == "postgresql" else "string or blob too big"
)
AFTER_OCTOBER = datetime(2026, 11, 1, 1, tzinfo=UTC)
SETTLE_AT = datetime(2026, 10, 12, 1, tzinfo=UTC)  # the week of 2026-09-28 has ended
CREDIT_AT = datetime(2026, 11, 5, 1, tzinfo=UTC)  # 30 days after the orders' delivery


def overflow():
    raise OverflowError("Python int too large to convert to SQLite INTEGER")


# How the database refuses a row: (PostgreSQL's error code, SQLite's trigger body).
REFUSALS = {
    # as a total that outgrows its column, or SQLite's exact arithmetic its integers
    "overflow": ("numeric_value_out_of_range", "SELECT refuse_write()"),
    # as a row another run wrote a moment before
    "unique": ("unique_violation", "SELECT RAISE(ABORT, 'UNIQUE constraint failed: t.c')"),
    # as a check constraint
    "check": ("check_violation", "SELECT RAISE(ABORT, 'CHECK constraint failed: c')"),
}


@contextmanager
def refused(table: str, seller, *, unique: bool = False, check: bool = False):
    """The database refuses every row of `table` written for `seller` until the block ends,
    with the error a numeric overflow gives (or a unique key, or a check)."""
    code, body = REFUSALS["unique" if unique else "check" if check else "overflow"]
    name = f"refuse_{table}_{seller.pk}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""CREATE FUNCTION {name}() RETURNS trigger AS $$
                    BEGIN
                        IF NEW.seller_id = {seller.pk} THEN
                            RAISE EXCEPTION USING ERRCODE = '{code}',
                                                  MESSAGE = 'numeric field overflow';
                        END IF;
                        RETURN NEW;
                    END $$ LANGUAGE plpgsql"""
            )
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        else:
            # As SQLite's exact arithmetic refuses a result too large for its integers.
            connection.connection.create_function("refuse_write", 0, overflow)
            for event in ("INSERT", "UPDATE"):
                cursor.execute(
                    f"CREATE TRIGGER {name}_{event} BEFORE {event} ON {table} "
                    f"WHEN NEW.seller_id = {seller.pk} BEGIN {body}; END"
                )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER {name} ON {table}")
                cursor.execute(f"DROP FUNCTION {name}()")
            else:
                for event in ("INSERT", "UPDATE"):
                    cursor.execute(f"DROP TRIGGER {name}_{event}")


@pytest.fixture
def sellers(db):
    """Three shops, each with October orders in the Bonus Cashback Program: $2,000.00 of
    Order Center GMV each, delivered on 2026-10-04."""
    campaign = make_campaign(slug="bonus")
    shops = [SellerFactory(name=f"Shop {n}") for n in "ABC"]
    for shop in shops:
        registration_create(
            seller=shop,
            campaign=campaign,
            agree_to_terms=True,
            actor=Actor.seller_user(SellerUserFactory(seller=shop)),
            now=T0 - timedelta(days=30),
        )
        inputs = [
            order_input(
                external_id=f"{shop.slug}-{n}",
                net_product_price=D("1000.00"),
                seller_funded_discount=D("0.00"),
            )
            for n in range(2)
        ]
        assert [r.result for r in orders_create(seller=shop, inputs=inputs)] == ["created"] * 2
    return shops


def stuck(job: str) -> dict[int, SellerFailure]:
    return {f.seller_id: f for f in SellerFailure.objects.filter(job=job)}


def last_run(job: str) -> JobRun:
    return JobRun.objects.filter(job=job).latest("pk")


def test_the_close_closes_every_other_seller_and_names_the_one_it_cannot(sellers):
    a, b, c = sellers
    with refused("cashback_cashbackmonth", b):
        counts = close_months(as_of=AFTER_OCTOBER)
        again = close_months(as_of=AFTER_OCTOBER)

    assert counts["months_closed"] == 2 and counts["sellers_failed"] == 1
    closed = dict(CashbackMonth.objects.values_list("seller_id", "total"))
    assert closed == {a.pk: D("10.00"), c.pk: D("10.00")}  # $2,000 at 0.5 %
    assert not Accrual.objects.filter(seller=b).exists()
    run = last_run("close_month")
    assert run.status == JobRun.Status.PARTLY_FAILED
    assert run.errors.startswith(f"Seller Shop B ({b.slug}), closing 2026-10: ")
    assert OVERFLOW in run.errors
    assert run.errors.count("\n") == 1  # one line a seller
    assert again["months_closed"] == 0
    failure = stuck("close_month")[b.pk]
    assert (failure.failures, failure.seller, failure.work) == (
        2,
        f"Shop B ({b.slug})",
        "closing 2026-10",
    )

    # The next run, with the seller's data put right, closes it and lets go of it.
    counts = close_months(as_of=AFTER_OCTOBER)
    assert counts["months_closed"] == 1 and "sellers_failed" not in counts
    assert CashbackMonth.objects.get(seller=b).total == D("10.00")
    assert stuck("close_month") == {}
    assert last_run("close_month").status == JobRun.Status.SUCCEEDED


def test_a_chunk_lets_go_only_of_the_stuck_sellers_it_did(sellers):
    a, b, c = sellers
    with refused("cashback_cashbackmonth", b), refused("cashback_cashbackmonth", c):
        close_months(as_of=AFTER_OCTOBER)
    assert set(stuck("close_month")) == {b.pk, c.pk}

    close_months(as_of=AFTER_OCTOBER, seller_ids=[a.pk, b.pk])  # a chunk without C

    assert set(stuck("close_month")) == {c.pk}


def test_the_roll_up_sums_every_other_seller_and_keeps_the_stuck_ones_last_sum(sellers):
    a, b, c = sellers
    roll_up_months(as_of=datetime(2026, 10, 4, 12, tzinfo=UTC))
    earlier = MonthSoFar.objects.get(seller=b).through
    more = order_input(external_id="late-hour", delivered_at=T0 + timedelta(days=5))
    for shop in sellers:
        orders_create(seller=shop, inputs=[more])

    with refused("cashback_monthsofar", b):
        counts = roll_up_months(as_of=datetime(2026, 10, 7, 12, tzinfo=UTC))

    assert counts["sellers"] == 2 and counts["sellers_failed"] == 1
    rows = {r.seller_id: r for r in MonthSoFar.objects.all()}
    assert rows[a.pk].orders_count == rows[c.pk].orders_count == 3
    assert (rows[b.pk].through, rows[b.pk].orders_count) == (earlier, 2)
    assert last_run("roll_up_months").status == JobRun.Status.PARTLY_FAILED
    assert set(stuck("roll_up_months")) == {b.pk}

    roll_up_months(as_of=datetime(2026, 10, 7, 13, tzinfo=UTC))
    assert MonthSoFar.objects.get(seller=b).orders_count == 3
    assert stuck("roll_up_months") == {}


def test_the_settlement_settles_every_other_seller_and_names_the_one_it_cannot(sellers):
    a, b, c = sellers
    with refused("fees_settledrecord", a):
        counts = settle_fees(as_of=SETTLE_AT)

    assert counts["sellers"] == 2 and counts["sellers_failed"] == 1
    settled = dict(SettledRecord.objects.values_list("seller_id", "net"))
    assert settled == {b.pk: D("60.00"), c.pk: D("60.00")}  # 2 x 1,000.00 at 3 %
    run = last_run("settle_fees")
    assert run.status == JobRun.Status.PARTLY_FAILED
    assert f"Seller Shop A ({a.slug}), settling its fees: " in run.errors

    settle_fees(as_of=SETTLE_AT)
    assert SettledRecord.objects.get(seller=a).net == D("60.00")
    assert stuck("settle_fees") == {}


def test_crediting_credits_every_other_seller_and_leaves_the_stuck_ones_pending(sellers):
    a, b, c = sellers
    close_months(as_of=AFTER_OCTOBER)
    with refused("cashback_accrual", c):
        counts = credit_cashback(as_of=CREDIT_AT, batch_size=3)  # batches across sellers

    assert counts["credited"] == 4 and counts["sellers_failed"] == 1
    statuses = {
        shop.pk: set(Accrual.objects.filter(seller=shop).values_list("status", flat=True))
        for shop in sellers
    }
    assert statuses == {
        a.pk: {AccrualStatus.CREDITED},
        b.pk: {AccrualStatus.CREDITED},
        c.pk: {AccrualStatus.PENDING},
    }
    assert set(stuck("credit_cashback")) == {c.pk}
    with pytest.raises(CommandError, match="1 mismatches"):
        call_command("reconcile")

    credit_cashback(as_of=CREDIT_AT)
    assert set(Accrual.objects.values_list("status", flat=True)) == {AccrualStatus.CREDITED}
    assert stuck("credit_cashback") == {}
    call_command("reconcile")


def test_reconcile_names_each_stuck_seller_and_why(sellers, capsys):
    _, b, _ = sellers
    with refused("cashback_cashbackmonth", b):
        close_months(as_of=AFTER_OCTOBER)

    with pytest.raises(CommandError, match="1 mismatches"):
        call_command("reconcile")

    err = capsys.readouterr().err
    assert f"jobs: close_month is stuck for seller Shop B ({b.slug}) since " in err
    assert "(1 runs in a row), closing 2026-10: " in err


def test_a_command_does_everyone_elses_work_then_exits_naming_the_stuck_seller(sellers):
    a, b, c = sellers
    with refused("fees_settledrecord", c), pytest.raises(CommandError) as refusal:
        call_command("settle_fees", "--as-of", SETTLE_AT.isoformat())

    assert str(refusal.value).startswith(
        "1 sellers failed and are tried again at the next run:\n"
        f"  Shop C ({c.slug}), settling its fees: DataError: "
    )
    assert set(SettledRecord.objects.values_list("seller_id", flat=True)) == {a.pk, b.pk}


def test_a_seller_whose_work_is_gone_is_let_go_by_the_next_fanned_out_run(sellers):
    _, b, _ = sellers
    with refused("cashback_cashbackmonth", b):
        close_months(as_of=AFTER_OCTOBER)
    for order in Order.objects.filter(seller=b):  # returned since: nothing left to close
        order_apply_event(
            seller=b,
            external_id=order.external_id,
            event=EventInput(type="refunded", occurred_at=T0 + timedelta(days=5)),
        )

    # The coordinator gives the stuck seller a part, though the seller has no work left.
    assert b.pk in sellers_to_close(as_of=AFTER_OCTOBER)
    close_months(as_of=AFTER_OCTOBER, seller_ids=[b.pk])

    assert stuck("close_month") == {}
    assert last_run("close_month").status == JobRun.Status.SUCCEEDED


def test_a_run_as_of_an_earlier_instant_lets_go_of_no_one(sellers):
    _, b, _ = sellers
    with refused("cashback_cashbackmonth", b):
        close_months(as_of=AFTER_OCTOBER)

    close_months(as_of=AFTER_OCTOBER - timedelta(days=20))  # October had not ended

    assert set(stuck("close_month")) == {b.pk}


def test_a_stuck_seller_is_done_apart_from_the_start(sellers, monkeypatch):
    _, b, _ = sellers
    with refused("cashback_cashbackmonth", b):
        close_months(as_of=AFTER_OCTOBER)
    late = SellerFactory(name="Shop D")
    assert orders_create(seller=late, inputs=[order_input(external_id="D-1")])[0].result == (
        "created"
    )
    calls = []
    real_close = order_cashback._close_month

    def spy(month, *, seller_ids, **kwargs):
        calls.append(seller_ids)
        return real_close(month, seller_ids=seller_ids, **kwargs)

    monkeypatch.setattr(order_cashback, "_close_month", spy)
    with refused("cashback_cashbackmonth", b):
        close_months(as_of=AFTER_OCTOBER)

    assert calls == [[late.pk], [b.pk]]  # the others together, as ever; the stuck one apart
    assert CashbackMonth.objects.filter(seller=late).exists()
    assert stuck("close_month")[b.pk].failures == 2


def test_a_failure_of_every_seller_is_the_runs_and_blames_no_seller(sellers):
    a, b, c = sellers
    with (
        refused("cashback_cashbackmonth", a),
        refused("cashback_cashbackmonth", b),
        refused("cashback_cashbackmonth", c),
        pytest.raises(DataError),
    ):
        close_months(as_of=AFTER_OCTOBER)

    assert last_run("close_month").status == JobRun.Status.FAILED
    assert stuck("close_month") == {}
    assert not CashbackMonth.objects.exists()


def test_a_check_the_database_refuses_is_a_failure_not_work_done_elsewhere(sellers):
    _, _, c = sellers
    with refused("fees_settledrecord", c, unique=True):
        counts = settle_fees(as_of=SETTLE_AT)
    assert counts["sellers_settled_elsewhere"] == 1  # a unique key: another run did it

    with refused("fees_settledrecord", c, check=True):
        counts = settle_fees(as_of=SETTLE_AT)
    assert counts["sellers_failed"] == 1 and set(stuck("settle_fees")) == {c.pk}
    assert "IntegrityError" in stuck("settle_fees")[c.pk].error


def test_a_shop_with_the_longest_name_and_slug_is_kept_as_stuck(sellers):
    longest = SellerFactory(name="N" * 200, slug="s" * 64)
    assert orders_create(seller=longest, inputs=[order_input(external_id="L-1")])[0].result == (
        "created"
    )
    with refused("cashback_cashbackmonth", longest):
        close_months(as_of=AFTER_OCTOBER)

    assert stuck("close_month")[longest.pk].seller == f"{'N' * 200} ({'s' * 64})"
    assert CashbackMonth.objects.count() == 3  # the others closed


def test_every_fanned_out_job_gives_its_stuck_sellers_a_part(sellers):
    _, b, _ = sellers
    idle = SellerFactory(name="Idle")  # no work left for any job
    for job in ("close_month", "credit_cashback", "settle_fees"):
        now = timezone.now()
        SellerFailure.objects.create(
            job=job,
            seller_id=idle.pk,
            seller="Idle",
            error="x",
            first_failed_at=now,
            last_failed_at=now,
        )

    assert idle.pk in sellers_to_close(as_of=AFTER_OCTOBER)
    assert idle.pk in sellers_to_credit(as_of=CREDIT_AT)
    assert idle.pk in sellers_to_settle(as_of=SETTLE_AT)
    assert idle.pk not in sellers_to_credit(as_of=CREDIT_AT, seller_ids=[b.pk])  # another chunk
