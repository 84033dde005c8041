"""Settled records: one per seller, currency and ended period, written once, through the real
order steps and `settle_fees`."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from cashback.services import Actor, registration_create
from core.models import JobRun
from fees import services
from fees.models import FeeEntry, SettledRecord, SettledRecordLine
from fees.services import period_of, settle_fees
from orders.services import EventInput, order_apply_event
from tests.concurrency import race
from tests.factories import SellerFactory, SellerUserFactory
from tests.fees.conftest import REGISTERED_AT, deliver

D = Decimal
SGT = ZoneInfo("Asia/Singapore")


def at(day: int, hour: int = 12, month: int = 10) -> datetime:
    """An instant of October 2026 (UTC). 5 October 2026 is a Monday."""
    return datetime(2026, month, day, hour, tzinfo=UTC)


def delivered(seller, external_id: str, when: datetime, **overrides):
    """A voucher order delivered at `when`, placed three days before it."""
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


def refund(seller, external_id: str, when: datetime, amount: Decimal | None = None):
    order, changed = order_apply_event(
        seller=seller,
        external_id=external_id,
        event=EventInput(type="refunded", occurred_at=when, amount=amount),
    )
    assert changed
    return order


def register(seller, campaign):
    return registration_create(
        seller=seller,
        campaign=campaign,
        agree_to_terms=True,
        actor=Actor.seller_user(SellerUserFactory(seller=seller)),
        now=REGISTERED_AT,
    )


def entry_of(order, kind: str = "charge") -> FeeEntry:
    return FeeEntry.objects.get(order=order, kind=kind)


def record_rows() -> set[tuple]:
    return set(
        SettledRecord.objects.values_list(
            "seller_id",
            "currency",
            "period_start",
            "period_end",
            "orders_count",
            "fees_charged",
            "fees_refunded",
            "net",
        )
    )


def snapshot() -> tuple[list[dict], list[tuple[int, int, int]]]:
    """Every field of every record, and every line."""
    records = list(SettledRecord.objects.order_by("pk").values())
    lines = list(
        SettledRecordLine.objects.order_by("pk").values_list("pk", "record_id", "entry_id")
    )
    return records, lines


def entry_ids(record: SettledRecord) -> set[int]:
    return set(record.lines.values_list("entry_id", flat=True))


class TestPeriods:
    def test_a_week_runs_monday_to_sunday(self):
        day = date(2023, 12, 20)  # before the anchor too
        while day < date(2027, 1, 10):
            start, end = period_of(day)
            assert start.weekday() == 0, day
            assert end == start + timedelta(days=6)
            assert start <= day <= end
            day += timedelta(days=1)
        assert period_of(date(2026, 10, 5)) == (date(2026, 10, 5), date(2026, 10, 11))
        assert period_of(date(2026, 10, 11)) == (date(2026, 10, 5), date(2026, 10, 11))
        assert period_of(date(2026, 10, 12)) == (date(2026, 10, 12), date(2026, 10, 18))
        assert period_of(date(2023, 12, 31)) == (date(2023, 12, 25), date(2023, 12, 31))

    def test_fourteen_days_starting_on_a_monday(self, settings):
        settings.FEE_SETTLEMENT_PERIOD_DAYS = 14
        assert period_of(date(2024, 1, 1)) == (date(2024, 1, 1), date(2024, 1, 14))
        assert period_of(date(2024, 1, 14)) == (date(2024, 1, 1), date(2024, 1, 14))
        assert period_of(date(2024, 1, 15)) == (date(2024, 1, 15), date(2024, 1, 28))
        seen = set()
        day = date(2025, 12, 1)
        while day < date(2027, 2, 1):
            start, end = period_of(day)
            assert start.weekday() == 0, day
            assert end == start + timedelta(days=13)
            assert start <= day <= end
            seen.add(start)
            day += timedelta(days=1)
        starts = sorted(seen)
        assert all(b - a == timedelta(days=14) for a, b in pairwise(starts))

    @pytest.mark.django_db
    def test_a_fourteen_day_record(self, settings, seller, registered):
        settings.FEE_SETTLEMENT_PERIOD_DAYS = 14
        start, end = period_of(date(2026, 10, 6))
        assert end - start == timedelta(days=13)
        first = delivered(seller, "A-1", datetime.combine(start, datetime.min.time(), UTC))
        last = delivered(seller, "A-2", datetime(end.year, end.month, end.day, 23, tzinfo=UTC))
        settle_fees(as_of=datetime(end.year, end.month, end.day, 23, 30, tzinfo=UTC))
        assert not SettledRecord.objects.exists()  # the period has not ended
        settle_fees(as_of=datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC))
        record = SettledRecord.objects.get()
        assert (record.period_start, record.period_end) == (start, end)
        assert entry_ids(record) == {entry_of(first).pk, entry_of(last).pk}
        assert (record.orders_count, record.fees_charged) == (2, D("6.00"))


@pytest.fixture
def rival(other_seller, campaign):
    register(other_seller, campaign)
    return other_seller


@pytest.fixture
def weeks(seller, registered, rival):
    """Orders of the weeks of 28 Sep, 5 Oct and 19 Oct 2026; none in the week of 12 Oct."""
    orders = {
        # Week of 28 September: 3 % of 100.00.
        "A-0": delivered(seller, "A-0", at(2)),
        # Week of 5 October, USD: 3.00 and 6.00 charged, 3 % of a 50.00 refund = 1.50 back.
        "A-1": delivered(seller, "A-1", at(6)),
        "A-2": delivered(
            seller, "A-2", at(8), net_product_price=D("200.00"), seller_funded_discount=D("0")
        ),
        # Week of 5 October, EUR: 3 % of 100.00.
        "A-3": delivered(seller, "A-3", at(9), currency="EUR"),
        # Week of 19 October: not ended as of 21 October.
        "A-4": delivered(seller, "A-4", at(20)),
        # The rival, week of 5 October: 3 % of 300.00.
        "B-1": delivered(
            rival, "B-1", at(7), net_product_price=D("300.00"), seller_funded_discount=D("0")
        ),
    }
    refund(seller, "A-1", at(10), D("50.00"))
    return orders


AS_OF = at(21)  # a Wednesday: the weeks up to 12-18 October have ended


@pytest.mark.django_db
class TestRecords:
    def test_one_record_per_seller_currency_and_ended_period(self, seller, rival, weeks):
        counts = settle_fees(as_of=AS_OF)
        usd, eur = "USD", "EUR"
        sep28, oct4 = date(2026, 9, 28), date(2026, 10, 4)
        oct5, oct11 = date(2026, 10, 5), date(2026, 10, 11)
        assert record_rows() == {
            (seller.pk, usd, sep28, oct4, 1, D("3.00"), D("0.00"), D("3.00")),
            (seller.pk, usd, oct5, oct11, 2, D("9.00"), D("1.50"), D("7.50")),
            (seller.pk, eur, oct5, oct11, 1, D("3.00"), D("0.00"), D("3.00")),
            (rival.pk, usd, oct5, oct11, 1, D("9.00"), D("0.00"), D("9.00")),
        }
        assert (counts["records"], counts["entries"], counts["sellers"]) == (4, 6, 2)

        def record(s, currency, start):
            return SettledRecord.objects.get(seller=s, currency=currency, period_start=start)

        assert entry_ids(record(seller, usd, sep28)) == {entry_of(weeks["A-0"]).pk}
        assert entry_ids(record(seller, usd, oct5)) == {
            entry_of(weeks["A-1"]).pk,
            entry_of(weeks["A-1"], "refund").pk,
            entry_of(weeks["A-2"]).pk,
        }
        assert entry_ids(record(seller, eur, oct5)) == {entry_of(weeks["A-3"]).pk}
        assert entry_ids(record(rival, usd, oct5)) == {entry_of(weeks["B-1"]).pk}

    def test_the_current_week_and_an_empty_week_get_no_record(self, seller, weeks):
        settle_fees(as_of=AS_OF)
        starts = set(SettledRecord.objects.values_list("period_start", flat=True))
        assert date(2026, 10, 12) not in starts  # no entries that week
        assert date(2026, 10, 19) not in starts  # not ended
        assert not SettledRecordLine.objects.filter(entry=entry_of(weeks["A-4"])).exists()
        # Once it has ended, the week of 19 October is settled; the empty week never is.
        settle_fees(as_of=at(26, 0))
        late = SettledRecord.objects.get(period_start=date(2026, 10, 19))
        assert entry_ids(late) == {entry_of(weeks["A-4"]).pk}
        assert (late.period_end, late.fees_charged, late.net) == (
            date(2026, 10, 25),
            D("3.00"),
            D("3.00"),
        )
        assert not SettledRecord.objects.filter(period_start=date(2026, 10, 12)).exists()

    def test_the_week_ends_at_midnight(self, seller, registered):
        order = delivered(seller, "A-1", datetime(2026, 10, 11, 23, 59, 59, tzinfo=UTC))
        settle_fees(as_of=datetime(2026, 10, 11, 23, 59, 59, tzinfo=UTC))
        assert not SettledRecord.objects.exists()
        settle_fees(as_of=datetime(2026, 10, 12, 0, 0, tzinfo=UTC))
        assert entry_ids(SettledRecord.objects.get()) == {entry_of(order).pk}

    def test_a_record_of_refunds_only(self, seller, registered):
        order = delivered(seller, "A-1", at(6))
        settle_fees(as_of=at(13))
        refund(seller, "A-1", at(14))  # the whole return, in the next week
        settle_fees(as_of=at(19))
        record = SettledRecord.objects.get(period_start=date(2026, 10, 12))
        assert entry_ids(record) == {entry_of(order, "refund").pk}
        assert (record.orders_count, record.fees_charged, record.fees_refunded, record.net) == (
            1,
            D("0.00"),
            D("3.00"),
            D("-3.00"),
        )


@pytest.mark.django_db
class TestTimeZone:
    def test_weeks_are_counted_in_the_platform_time_zone(self, settings, seller, registered):
        settings.TIME_ZONE = "Asia/Singapore"
        # Sunday 11 October 10:00 UTC is Sunday 18:00 in Singapore.
        sunday = delivered(seller, "SUN", datetime(2026, 10, 11, 10, tzinfo=UTC))
        # Sunday 11 October 20:00 UTC is Monday 12 October 04:00 in Singapore.
        monday = delivered(seller, "MON", datetime(2026, 10, 11, 20, tzinfo=UTC))

        # Monday 00:30 in Singapore (still Sunday in UTC): the Singapore week has ended.
        settle_fees(as_of=datetime(2026, 10, 12, 0, 30, tzinfo=SGT))
        first = SettledRecord.objects.get()
        assert (first.period_start, first.period_end) == (date(2026, 10, 5), date(2026, 10, 11))
        assert entry_ids(first) == {entry_of(sunday).pk}

        settle_fees(as_of=datetime(2026, 10, 19, 0, 30, tzinfo=SGT))
        second = SettledRecord.objects.get(period_start=date(2026, 10, 12))
        assert entry_ids(second) == {entry_of(monday).pk}
        assert SettledRecord.objects.count() == 2

    def test_a_sunday_evening_in_utc_alone_is_the_next_singapore_week(
        self, settings, seller, registered
    ):
        settings.TIME_ZONE = "Asia/Singapore"
        monday = delivered(seller, "MON", datetime(2026, 10, 11, 20, tzinfo=UTC))
        settle_fees(as_of=datetime(2026, 10, 18, 23, 59, tzinfo=SGT))
        assert not SettledRecord.objects.exists()  # the Singapore week of 12 October runs on
        settle_fees(as_of=datetime(2026, 10, 19, 0, 0, tzinfo=SGT))
        record = SettledRecord.objects.get()
        assert (record.period_start, record.period_end) == (date(2026, 10, 12), date(2026, 10, 18))
        assert entry_ids(record) == {entry_of(monday).pk}

    def test_in_utc_the_same_sunday_evening_is_the_old_week(self, settings, seller, registered):
        settings.TIME_ZONE = "UTC"
        delivered(seller, "SUN", datetime(2026, 10, 11, 10, tzinfo=UTC))
        delivered(seller, "MON", datetime(2026, 10, 11, 20, tzinfo=UTC))
        settle_fees(as_of=datetime(2026, 10, 12, 0, 30, tzinfo=SGT))  # Sunday in UTC
        assert not SettledRecord.objects.exists()
        settle_fees(as_of=datetime(2026, 10, 12, 0, 30, tzinfo=UTC))
        assert SettledRecord.objects.get().orders_count == 2


@pytest.mark.django_db
class TestLateEntries:
    def test_a_backfilled_order_goes_into_the_next_open_period(self, seller, registered):
        delivered(seller, "A-1", at(6))
        delivered(seller, "A-2", at(13))
        settle_fees(as_of=at(21))
        before = snapshot()
        assert len(before[0]) == 2  # the weeks of 5 and 12 October

        late = delivered(seller, "LATE", at(7))  # delivered in the settled week of 5 October
        counts = settle_fees(as_of=at(21))
        assert counts["records"] == 0  # the next open week, of 19 October, has not ended
        assert snapshot() == before

        current = delivered(seller, "A-3", at(20))
        counts = settle_fees(as_of=at(26, 0))
        assert (counts["records"], counts["entries"]) == (1, 2)
        record = SettledRecord.objects.exclude(pk__in=[r["id"] for r in before[0]]).get()
        assert (record.period_start, record.period_end) == (date(2026, 10, 19), date(2026, 10, 25))
        assert entry_ids(record) == {entry_of(late).pk, entry_of(current).pk}
        assert (record.orders_count, record.fees_charged, record.net) == (2, D("6.00"), D("6.00"))
        records, lines = snapshot()
        assert records[:2] == before[0] and lines[: len(before[1])] == before[1]

    def test_a_refund_arriving_after_its_charge_was_settled(self, seller, registered):
        order = delivered(seller, "A-1", at(6))
        settle_fees(as_of=at(12, 0))
        old = SettledRecord.objects.get()
        before = snapshot()

        # A refund dated in the settled week, reported once it was settled.
        refund(seller, "A-1", at(9), D("50.00"))
        settle_fees(as_of=at(19, 0))
        new = SettledRecord.objects.exclude(pk=old.pk).get()
        assert (new.period_start, new.period_end) == (date(2026, 10, 12), date(2026, 10, 18))
        assert entry_ids(new) == {entry_of(order, "refund").pk}
        assert (new.orders_count, new.fees_charged, new.fees_refunded, new.net) == (
            1,
            D("0.00"),
            D("1.50"),
            D("-1.50"),
        )
        records, lines = snapshot()
        assert records[0] == before[0][0]
        assert [line for line in lines if line[1] == old.pk] == before[1]


@pytest.mark.django_db
class TestOnce:
    def test_running_twice_changes_nothing(self, seller, weeks):
        first = settle_fees(as_of=AS_OF)
        assert first["records"] == 4
        before = snapshot()
        again = settle_fees(as_of=AS_OF)
        assert (again["records"], again["entries"], again["sellers"]) == (0, 0, 0)
        assert snapshot() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL, as CI runs")
def test_two_runs_at_once_settle_each_entry_once(seller, registered, campaign):
    sellers = [seller] + [SellerFactory(name=f"Shop {n}") for n in range(3)]
    for s in sellers[1:]:
        register(s, campaign)
    for s in sellers:
        delivered(s, "A-1", at(6))
        delivered(s, "A-2", at(7), currency="EUR")
        delivered(s, "A-3", at(13))
    refund(seller, "A-1", at(14), D("50.00"))

    outcomes = race(*[lambda: settle_fees(as_of=AS_OF)] * 2)

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert sum(value["records"] for _, value in outcomes) == 12
    assert sum(value["entries"] for _, value in outcomes) == 13
    assert SettledRecordLine.objects.count() == FeeEntry.objects.count() == 13
    assert SettledRecord.objects.count() == 12  # 4 sellers x (USD and EUR 5 Oct, USD 12 Oct)
    per_key = SettledRecord.objects.values_list("seller_id", "currency", "period_start")
    assert len(set(per_key)) == len(per_key)
    refund_record = SettledRecord.objects.get(
        seller=seller, currency="USD", period_start=date(2026, 10, 12)
    )
    assert (refund_record.fees_charged, refund_record.fees_refunded) == (D("3.00"), D("1.50"))
    assert set(JobRun.objects.values_list("status", flat=True)) == {"succeeded"}


@pytest.mark.django_db
class TestJobRun:
    def test_each_run_is_recorded_with_its_counts(self, seller, weeks):
        settle_fees(as_of=AS_OF)
        run = JobRun.objects.get()
        assert (run.job, run.status, run.as_of, run.scope) == (
            "settle_fees",
            "succeeded",
            AS_OF,
            "",
        )
        assert run.finished_at is not None and run.finished_at >= run.started_at
        assert run.counts == {"records": 4, "entries": 6, "sellers": 2}
        assert run.errors == ""

        settle_fees(as_of=AS_OF)
        assert JobRun.objects.count() == 2
        assert JobRun.objects.filter(job="settle_fees", status="succeeded").count() == 2

    def test_a_failure_is_recorded_and_raised(self, seller, weeks, monkeypatch):
        def broken(*args, **kwargs):
            raise RuntimeError("ledger on fire")

        monkeypatch.setattr(services, "_settle_seller", broken)
        with pytest.raises(RuntimeError, match="ledger on fire"):
            settle_fees(as_of=AS_OF)
        run = JobRun.objects.get()
        assert (run.job, run.status) == ("settle_fees", "failed")
        assert run.finished_at is not None
        assert "Traceback" in run.errors and "RuntimeError: ledger on fire" in run.errors
        assert not SettledRecord.objects.exists()


@pytest.mark.django_db
class TestDatabaseRefuses:
    @pytest.fixture
    def settled(self, seller, registered):
        delivered(seller, "A-1", at(6))
        settle_fees(as_of=AS_OF)
        return SettledRecord.objects.get()

    def test_a_net_that_is_not_charged_less_refunded(self, seller):
        values = {
            "seller": seller,
            "currency": "USD",
            "period_start": date(2026, 10, 5),
            "period_end": date(2026, 10, 11),
            "orders_count": 1,
            "fees_charged": D("3.00"),
            "fees_refunded": D("1.00"),
        }
        with pytest.raises(IntegrityError), transaction.atomic():
            SettledRecord.objects.create(**values, net=D("3.00"))
        SettledRecord.objects.create(**values, net=D("2.00"))  # the same, right, is fine
        assert SettledRecord.objects.count() == 1

    def test_a_net_changed_afterwards(self, settled):
        with pytest.raises(IntegrityError), transaction.atomic():
            SettledRecord.objects.filter(pk=settled.pk).update(net=D("9.99"))

    def test_a_second_line_for_the_same_entry(self, seller, settled):
        entry = settled.lines.get().entry
        other = SettledRecord.objects.create(
            seller=seller,
            currency="USD",
            period_start=date(2026, 10, 12),
            period_end=date(2026, 10, 18),
            orders_count=1,
            fees_charged=D("3.00"),
            fees_refunded=D("0.00"),
            net=D("3.00"),
        )
        for record in (settled, other):
            with pytest.raises(IntegrityError), transaction.atomic():
                SettledRecordLine.objects.create(record=record, entry=entry)
        assert SettledRecordLine.objects.filter(entry=entry).count() == 1


@pytest.mark.django_db
class TestCommand:
    def test_it_settles_as_of_the_instant_given(self, seller, weeks):
        out = StringIO()
        call_command("settle_fees", "--as-of", "2026-10-21T12:00:00Z", stdout=out)
        assert SettledRecord.objects.count() == 4
        assert "Settled 4 records holding 6 entries for 2 sellers." in out.getvalue()
        assert JobRun.objects.get().as_of == AS_OF

    def test_the_instant_decides_which_weeks(self, seller, weeks):
        call_command("settle_fees", "--as-of", "2026-10-05T00:00:00+00:00", stdout=StringIO())
        assert set(SettledRecord.objects.values_list("period_start", flat=True)) == {
            date(2026, 9, 28)
        }

    @pytest.mark.parametrize("value", ["2026-10-21T12:00:00", "2026-10-21", "not-a-date"])
    def test_an_instant_without_offset_or_not_a_date_is_refused(self, seller, weeks, value):
        with pytest.raises(CommandError, match="--as-of"):
            call_command("settle_fees", "--as-of", value, stdout=StringIO())
        assert not SettledRecord.objects.exists()
        assert not JobRun.objects.exists()
