"""Crediting Order Cashback to the wallet: when an accrual is due, what a refund since the
close does to it, that it is credited once (twice in a row, twice at once, after a crash),
and the wallet's own guarantees. Everything is made through the real services."""

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from itertools import accumulate

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Count

import cashback.order_cashback
from cashback.models import Accrual, AccrualStatus, CashbackMonth
from cashback.order_cashback import close_months, credit_cashback
from core.models import JobRun
from orders.models import Order
from orders.services import EventInput, order_apply_event, orders_create
from tests.concurrency import race
from tests.factories import StaffUserFactory
from tests.orders.conftest import T0, order_input
from wallet.models import EntryKind, Wallet, WalletEntry
from wallet.services import Posting, WalletError, wallet_post

D = Decimal

OCTOBER_CLOSE = datetime(2026, 11, 1, 1, tzinfo=UTC)  # October has ended
DUE = datetime(2026, 11, 3, 10, tzinfo=UTC)  # T0 orders: delivered 4 October 10:00 + 30 days
CREDIT_AT = datetime(2026, 11, 4, tzinfo=UTC)
AFTER_CLOSE = datetime(2026, 11, 2, 9, tzinfo=UTC)  # refunds between the close and crediting


# Helpers, also used by the other Order Cashback test modules -------------------------------


def deliver_orders(seller, count: int = 10, prefix: str = "A", start: int = 1, **overrides):
    """`count` delivered Order Center orders of 100.00 paid (T0 dates unless overridden),
    named PREFIX-1, PREFIX-2, ..."""
    inputs = [
        order_input(external_id=f"{prefix}-{n}", tracking_number=f"TRK-{prefix}-{n}", **overrides)
        for n in range(start, start + count)
    ]
    results = orders_create(seller=seller, inputs=inputs)
    assert [r.result for r in results] == ["created"] * count, [r.errors for r in results]
    return [r.order for r in results]


def dated(placed_at: datetime) -> dict:
    """The step times of an order placed at `placed_at`: paid 1 h, shipped 1 day, delivered
    3 days later (as `order_input` does for T0)."""
    return {
        "placed_at": placed_at,
        "paid_at": placed_at + timedelta(hours=1),
        "shipped_at": placed_at + timedelta(days=1),
        "delivered_at": placed_at + timedelta(days=3),
    }


def refund(seller, external_id: str, amount: Decimal | None = None, when=AFTER_CLOSE) -> Order:
    """A refund of `amount` (all that remains when None)."""
    order, changed = order_apply_event(
        seller=seller,
        external_id=external_id,
        event=EventInput(type="refunded", occurred_at=when, amount=amount),
    )
    assert changed
    return order


def accrual_of(seller, external_id: str) -> Accrual:
    return Accrual.objects.get(seller=seller, order__external_id=external_id)


def balance_of(seller) -> Decimal:
    wallet = Wallet.objects.filter(seller=seller).first()
    return wallet.balance if wallet else D("0.00")


def reconcile() -> str:
    out = StringIO()
    call_command("reconcile", stdout=out, stderr=StringIO())
    return out.getvalue()


def ensure_default_tiers() -> None:
    """The default tiers come from a data migration, which a transactional test's flush
    takes away: put them back (a no-op where they exist)."""
    migration = importlib.import_module("cashback.migrations.0003_default_tiers")
    migration.create_default_tiers(apps, None)


# 1. Due, closed, credited ------------------------------------------------------------------


@pytest.mark.django_db
class TestWhenCredited:
    def test_nothing_before_it_is_due_nor_for_a_month_not_closed(self, seller):
        deliver_orders(seller)
        # November's orders: their month is not closed, however late the run.
        deliver_orders(seller, 2, prefix="N", **dated(datetime(2026, 11, 2, 10, tzinfo=UTC)))

        # October not closed yet: no accrual, nothing to credit even long after it is due.
        assert credit_cashback(as_of=datetime(2026, 12, 31, tzinfo=UTC))["credited"] == 0
        assert not WalletEntry.objects.exists()

        close_months(as_of=OCTOBER_CLOSE)
        assert Accrual.objects.filter(status=AccrualStatus.PENDING).count() == 10
        assert set(Accrual.objects.values_list("due_at", flat=True)) == {DUE}

        # A moment before the due time: nothing.
        counts = credit_cashback(as_of=DUE - timedelta(microseconds=1))
        assert counts["credited"] == 0
        assert not WalletEntry.objects.exists()
        assert not Wallet.objects.filter(seller=seller, balance__gt=0).exists()
        assert Accrual.objects.filter(status=AccrualStatus.PENDING).count() == 10

        # At the due time: every share, once.
        counts = credit_cashback(as_of=DUE)
        assert counts["credited"] == 10 and counts["voided"] == 0 and counts["lowered"] == 0

        accruals = list(Accrual.objects.filter(seller=seller).order_by("pk"))
        assert [a.status for a in accruals] == [AccrualStatus.CREDITED] * 10
        assert all(a.credited_amount == a.amount == D("0.50") for a in accruals)
        assert all(a.resolved_at is not None for a in accruals)
        assert sum(a.amount for a in accruals) == D("5.00")

        wallet = Wallet.objects.get(seller=seller)
        assert (wallet.balance, wallet.currency) == (D("5.00"), "USD")
        entries = list(WalletEntry.objects.filter(wallet=wallet).order_by("pk"))
        assert sorted(e.reference for e in entries) == sorted(
            f"cashback-accrual:{a.pk}" for a in accruals
        )
        by_reference = {e.reference: e for e in entries}
        for accrual in accruals:
            entry = by_reference[f"cashback-accrual:{accrual.pk}"]
            assert entry.amount == accrual.credited_amount
            assert entry.kind == EntryKind.CASHBACK
            assert entry.created_at > DUE  # dated when posted: the ledger's order
            assert accrual.order.external_id in entry.description
        # balance_after runs: each entry's is the sum so far, the last one the balance.
        assert [e.balance_after for e in entries] == list(accumulate(e.amount for e in entries))
        assert entries[-1].balance_after == wallet.balance

        # November stays uncredited (and unaccrued).
        assert not Accrual.objects.filter(order__external_id__startswith="N-").exists()
        assert not CashbackMonth.objects.filter(month__month=11).exists()
        assert "All consistent" in reconcile()

    def test_each_share_is_credited_at_its_own_due_time(self, seller):
        deliver_orders(seller, 9)
        deliver_orders(seller, 1, prefix="B", **dated(datetime(2026, 10, 17, 10, tzinfo=UTC)))
        close_months(as_of=OCTOBER_CLOSE)
        assert accrual_of(seller, "B-1").due_at == datetime(2026, 11, 19, 10, tzinfo=UTC)

        assert credit_cashback(as_of=CREDIT_AT)["credited"] == 9
        assert accrual_of(seller, "B-1").status == AccrualStatus.PENDING
        assert balance_of(seller) == D("4.50")

        assert credit_cashback(as_of=datetime(2026, 11, 19, 10, tzinfo=UTC))["credited"] == 1
        assert accrual_of(seller, "B-1").status == AccrualStatus.CREDITED
        assert balance_of(seller) == D("5.00")


# 2.-4. Refunds and returns since the close ---------------------------------------------------


@pytest.mark.django_db
class TestRefundsSinceTheClose:
    def test_a_return_after_the_close_voids_that_share_only(self, seller):
        deliver_orders(seller)
        close_months(as_of=OCTOBER_CLOSE)
        assert refund(seller, "A-3").status == "returned"

        counts = credit_cashback(as_of=CREDIT_AT)

        assert (counts["credited"], counts["voided"]) == (9, 1)
        voided = accrual_of(seller, "A-3")
        assert voided.status == AccrualStatus.VOIDED
        assert voided.credited_amount is None and voided.resolved_at is not None
        assert voided.amount == D("0.50")  # what was voided stays on record
        assert not WalletEntry.objects.filter(reference=f"cashback-accrual:{voided.pk}").exists()
        others = Accrual.objects.exclude(pk=voided.pk)
        assert set(others.values_list("status", flat=True)) == {AccrualStatus.CREDITED}
        assert WalletEntry.objects.count() == 9
        assert balance_of(seller) == D("4.50")
        assert "All consistent" in reconcile()

    def test_a_partial_refund_after_the_close_lowers_the_share_in_proportion(self, seller):
        deliver_orders(seller)
        close_months(as_of=OCTOBER_CLOSE)
        refund(seller, "A-1", D("30.00"))  # 0.50 x 70 / 100 = 0.35
        refund(seller, "A-2", D("3.00"))  # 0.50 x 97 / 100 = 0.485: half up to 0.49

        counts = credit_cashback(as_of=CREDIT_AT)

        assert (counts["credited"], counts["lowered"], counts["voided"]) == (10, 2, 0)
        first, second = accrual_of(seller, "A-1"), accrual_of(seller, "A-2")
        assert (first.status, first.amount, first.credited_amount) == (
            AccrualStatus.CREDITED,
            D("0.50"),
            D("0.35"),
        )
        assert second.credited_amount == D("0.49")
        assert WalletEntry.objects.get(reference=f"cashback-accrual:{first.pk}").amount == D("0.35")
        assert balance_of(seller) == D("0.50") * 8 + D("0.35") + D("0.49")
        assert "All consistent" in reconcile()

    def test_a_refund_before_the_close_is_in_the_share_already(self, seller):
        deliver_orders(seller, 11)
        refund(seller, "A-11", D("20.00"), when=datetime(2026, 10, 10, tzinfo=UTC))
        close_months(as_of=OCTOBER_CLOSE)
        # 1,080.00 at 0.5 % = 5.40: 0.50 for each 100.00, 0.40 for the order of 80.00.
        assert accrual_of(seller, "A-11").amount == D("0.40")
        assert accrual_of(seller, "A-1").amount == D("0.50")

        refund(seller, "A-11", D("40.00"))  # half of what it was worth at the close
        credit_cashback(as_of=CREDIT_AT)

        assert accrual_of(seller, "A-11").credited_amount == D("0.20")
        assert balance_of(seller) == D("5.20")

    def test_cashback_credited_is_final(self, seller):
        deliver_orders(seller)
        close_months(as_of=OCTOBER_CLOSE)
        credit_cashback(as_of=CREDIT_AT)
        entries_before = list(WalletEntry.objects.values_list("pk", "amount", "balance_after"))

        returned = refund(seller, "A-1", when=datetime(2026, 11, 5, tzinfo=UTC))
        refund(seller, "A-2", D("50.00"), when=datetime(2026, 11, 5, tzinfo=UTC))
        assert returned.status == "returned"
        assert credit_cashback(as_of=datetime(2026, 12, 31, tzinfo=UTC))["credited"] == 0

        kept = accrual_of(seller, "A-1")
        assert (kept.status, kept.credited_amount) == (AccrualStatus.CREDITED, D("0.50"))
        assert accrual_of(seller, "A-2").credited_amount == D("0.50")
        assert balance_of(seller) == D("5.00")
        assert list(WalletEntry.objects.values_list("pk", "amount", "balance_after")) == (
            entries_before
        )
        assert "All consistent" in reconcile()


# 5.-6. Once ---------------------------------------------------------------------------------


def assert_each_accrual_credited_once(seller, expected_balance: Decimal) -> None:
    accruals = Accrual.objects.filter(seller=seller)
    assert set(accruals.values_list("status", flat=True)) == {AccrualStatus.CREDITED}
    entries = WalletEntry.objects.filter(wallet__seller=seller)
    per_reference = dict(entries.values_list("reference").annotate(n=Count("id")).order_by())
    assert per_reference == {
        f"cashback-accrual:{pk}": 1 for pk in accruals.values_list("pk", flat=True)
    }
    assert balance_of(seller) == expected_balance
    assert sum(entries.values_list("amount", flat=True)) == expected_balance


@pytest.mark.django_db
def test_crediting_twice_credits_nothing_the_second_time(seller):
    deliver_orders(seller)
    close_months(as_of=OCTOBER_CLOSE)
    assert credit_cashback(as_of=CREDIT_AT)["credited"] == 10

    again = credit_cashback(as_of=CREDIT_AT)

    assert (again["credited"], again["voided"], again["lowered"]) == (0, 0, 0)
    assert WalletEntry.objects.count() == 10
    assert_each_accrual_credited_once(seller, D("5.00"))
    assert list(JobRun.objects.filter(job="credit_cashback").values_list("status", flat=True)) == [
        "succeeded",
        "succeeded",
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL, as CI runs"
)
def test_crediting_twice_at_once_credits_each_accrual_once(seller, other_seller):
    ensure_default_tiers()
    deliver_orders(seller, 12)
    deliver_orders(other_seller, 10, prefix="R")
    close_months(as_of=OCTOBER_CLOSE)
    assert Accrual.objects.count() == 22

    outcomes = race(*[lambda: credit_cashback(as_of=CREDIT_AT, batch_size=1)] * 2)

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert sum(counts["credited"] for _, counts in outcomes) == 22
    assert WalletEntry.objects.count() == 22
    assert_each_accrual_credited_once(seller, D("6.00"))
    assert balance_of(other_seller) == D("5.00")
    assert "All consistent" in reconcile()


@pytest.mark.django_db
def test_a_crash_half_way_leaves_each_accrual_credited_once_or_pending(seller, monkeypatch):
    deliver_orders(seller, 5, net_product_price=D("220.00"))  # 5 x 200.00: 1,000.00 -> 5.00
    close_months(as_of=OCTOBER_CLOSE)
    assert list(Accrual.objects.values_list("amount", flat=True)) == [D("1.00")] * 5

    real_batch = cashback.order_cashback._credit_batch
    calls = []

    class WorkerDied(BaseException):
        """The process ends: not an error of a seller's data, so nothing goes on after it."""

    def crash_on_the_second_batch(**kwargs):
        calls.append(kwargs["last"])
        if len(calls) < 2:
            return real_batch(**kwargs)
        with transaction.atomic():
            real_batch(**kwargs)  # the batch's accruals, months and entries are written,
            raise WorkerDied("worker died")  # and it dies before they are committed

    monkeypatch.setattr(cashback.order_cashback, "_credit_batch", crash_on_the_second_batch)
    with pytest.raises(WorkerDied, match="worker died"):
        credit_cashback(as_of=CREDIT_AT, batch_size=2)

    assert len(calls) == 2
    first_two = list(Accrual.objects.order_by("pk")[:2])
    assert [a.status for a in first_two] == [AccrualStatus.CREDITED] * 2
    rest = Accrual.objects.order_by("pk")[2:]
    assert [a.status for a in rest] == [AccrualStatus.PENDING] * 3
    assert all(a.credited_amount is None and a.resolved_at is None for a in rest)
    assert WalletEntry.objects.count() == 2
    assert balance_of(seller) == D("2.00")
    failed = JobRun.objects.get(job="credit_cashback")
    assert failed.status == "failed" and "worker died" in failed.errors
    assert failed.finished_at is not None

    monkeypatch.undo()
    counts = credit_cashback(as_of=CREDIT_AT, batch_size=2)

    assert counts["credited"] == 3
    assert_each_accrual_credited_once(seller, D("5.00"))
    assert JobRun.objects.filter(job="credit_cashback", status="succeeded").count() == 1
    assert "All consistent" in reconcile()


# 7. The wallet's own guarantees ---------------------------------------------------------------


@pytest.mark.django_db
class TestTheWalletNeverGoesBelowZero:
    @pytest.fixture
    def staff(self):
        return StaffUserFactory()

    @pytest.fixture
    def wallet(self, seller, staff):
        wallet_post(
            [
                Posting(
                    seller_id=seller.pk,
                    kind=EntryKind.ADJUSTMENT,
                    amount=D("3.00"),
                    created_by=staff,
                    reason="opening balance",
                )
            ],
        )
        return Wallet.objects.get(seller=seller)

    def test_the_database_refuses_a_negative_balance(self, wallet):
        with pytest.raises(IntegrityError), transaction.atomic():
            Wallet.objects.filter(pk=wallet.pk).update(balance=D("-0.01"))
        wallet.refresh_from_db()
        assert wallet.balance == D("3.00")

    def test_the_database_refuses_a_wallet_created_negative(self, other_seller):
        with pytest.raises(IntegrityError), transaction.atomic():
            Wallet.objects.create(seller=other_seller, balance=D("-1.00"))

    def test_the_database_refuses_an_entry_with_a_negative_balance_after(self, wallet):
        with pytest.raises(IntegrityError), transaction.atomic():
            WalletEntry.objects.create(
                wallet=wallet,
                kind=EntryKind.CASHBACK,
                amount=D("-4.00"),
                balance_after=D("-1.00"),
                created_at=T0,
            )
        assert WalletEntry.objects.count() == 1

    def test_wallet_post_refuses_a_debit_beyond_the_balance_and_stores_nothing(
        self, wallet, seller, other_seller, staff
    ):
        def debit(seller_id, amount, reference=""):
            return Posting(
                seller_id=seller_id,
                kind=EntryKind.ADJUSTMENT,
                amount=amount,
                created_by=staff,
                reason="correction",
                reference=reference,
            )

        with pytest.raises(WalletError, match="never goes below zero"):
            # The credit first, then the debit that goes too far: the batch is all or nothing.
            wallet_post(
                [debit(seller.pk, D("1.00"), "first"), debit(seller.pk, D("-4.01"), "second")]
            )
        with pytest.raises(WalletError):
            wallet_post([debit(other_seller.pk, D("-0.01"))])  # no wallet yet: 0.00

        wallet.refresh_from_db()
        assert wallet.balance == D("3.00")
        assert WalletEntry.objects.count() == 1
        assert not WalletEntry.objects.filter(reference__in=["first", "second"]).exists()
        assert not Wallet.objects.filter(seller=other_seller).exists()

        # Down to exactly zero is allowed.
        (entry,) = wallet_post([debit(seller.pk, D("-3.00"))])
        assert entry.balance_after == D("0.00")
        wallet.refresh_from_db()
        assert wallet.balance == D("0.00")

    def test_a_reference_is_used_once(self, wallet, seller):
        posting = Posting(
            seller_id=seller.pk, kind=EntryKind.CASHBACK, amount=D("1.00"), reference="ref-1"
        )
        wallet_post([posting])
        with pytest.raises(IntegrityError), transaction.atomic():
            wallet_post([posting])
        with pytest.raises(IntegrityError), transaction.atomic():
            WalletEntry.objects.create(
                wallet=wallet,
                kind=EntryKind.CASHBACK,
                amount=D("1.00"),
                balance_after=D("5.00"),
                reference="ref-1",
                created_at=T0,
            )
        assert WalletEntry.objects.filter(reference="ref-1").count() == 1
        wallet.refresh_from_db()
        assert wallet.balance == D("4.00")
        # Entries without a reference are not held to it.
        wallet_post([Posting(seller_id=seller.pk, kind=EntryKind.CASHBACK, amount=D("1.00"))] * 2)
        assert WalletEntry.objects.filter(reference="").count() == 3  # with the opening one
