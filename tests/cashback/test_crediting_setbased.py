"""Crediting, set-based: the amount the SQL credits is `credited_share` to the cent whatever
the refund, every wallet's running balance and balance follow its entries, and each accrual
is credited once, also twice in a row and twice at once.

Orders and accruals are made directly here, as the close leaves them, so that any amounts
can be tried; tests/cashback/test_crediting.py goes through the real services."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count, F
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cashback.models import Accrual, AccrualStatus, CashbackMonth, MonthStatus, PendingAccrual
from cashback.order_cashback import credit_cashback, credited_share
from core.models import JobRun, SellerFailure
from orders.models import FulfillmentChannel, Order, OrderStatus
from tests.cashback.test_crediting import balance_of, reconcile
from tests.concurrency import race
from tests.factories import SellerFactory, StaffUserFactory
from wallet.models import EntryKind, Wallet, WalletEntry
from wallet.services import wallet_adjust

D = Decimal
DELIVERED = datetime(2026, 10, 4, 10, tzinfo=UTC)
AS_OF = datetime(2026, 11, 4, tzinfo=UTC)  # every accrual made here is due


def cents(n: int) -> Decimal:
    return D(n) / 100


def make_accruals(seller, rows: list[tuple], *, prefix: str = "X") -> list[Accrual]:
    """For each row (price, discount, refunded at the close, refunded now, share, returned),
    amounts in cents: an order and its pending accrual in a closed October whose total is
    the shares' sum."""
    month, _ = CashbackMonth.objects.get_or_create(
        seller=seller,
        month=date(2026, 10, 1),
        defaults={"status": MonthStatus.CLOSED, "closed_at": datetime(2026, 11, 1, tzinfo=UTC)},
    )
    start = Order.objects.filter(seller=seller).count()
    orders = Order.objects.bulk_create(
        Order(
            seller=seller,
            external_id=f"{prefix}-{start + n}",
            placed_at=DELIVERED - timedelta(days=3),
            currency="USD",
            net_product_price=cents(price),
            seller_funded_discount=cents(discount),
            fulfillment_channel=FulfillmentChannel.ORDER_CENTER,
            tracking_number=f"TRK-{prefix}-{start + n}",
            status=OrderStatus.RETURNED if returned else OrderStatus.DELIVERED,
            paid_at=DELIVERED - timedelta(days=3),
            shipped_at=DELIVERED - timedelta(days=2),
            delivered_at=DELIVERED,
            returned_at=DELIVERED + timedelta(days=1) if returned else None,
            refunded_amount=cents(refunded),
        )
        for n, (price, discount, _, refunded, _, returned) in enumerate(rows, start=1)
    )
    accruals = Accrual.objects.bulk_create(
        Accrual(
            month=month,
            seller=seller,
            order=order,
            gmv_usd=cents(price - discount - at_close),
            amount=cents(share),
            refunded_at_close=cents(at_close),
            due_at=DELIVERED + timedelta(days=30),
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
        for order, (price, discount, at_close, _, share, _) in zip(orders, rows, strict=True)
    )
    PendingAccrual.objects.bulk_create(
        PendingAccrual(accrual=a, seller=seller, due_at=a.due_at) for a in accruals
    )
    added = sum((a.amount for a in accruals), D("0"))
    CashbackMonth.objects.filter(pk=month.pk).update(
        total=F("total") + added, pending_total=F("pending_total") + added
    )
    return accruals


def expected(row: tuple) -> Decimal | None:
    """What the row's accrual is credited, by `credited_share`; None when it is voided."""
    price, discount, at_close, refunded, share, returned = row
    if returned:
        return None
    return credited_share(
        amount=cents(share),
        base=cents(price - discount),
        refunded=cents(refunded),
        refunded_at_close=cents(at_close),
    )


def assert_ledger_consistent(seller) -> None:
    """balance_after runs over the wallet's entries in id order, and the balance is the sum
    of its entries and its last entry's balance_after."""
    wallet = Wallet.objects.filter(seller=seller).first()
    if wallet is None:
        assert not WalletEntry.objects.filter(wallet__seller=seller).exists()
        return
    entries = list(wallet.entries.order_by("pk").values_list("amount", "balance_after"))
    assert [after for _, after in entries] == list(accumulate(amount for amount, _ in entries))
    assert wallet.balance == (entries[-1][1] if entries else D("0.00"))
    assert all(after >= 0 for _, after in entries)


def assert_credited_as_expected(seller, accruals, rows) -> Decimal:
    """Each accrual resolved as `credited_share` says, with one wallet entry of that amount
    where it is above zero; returns the amount credited in all."""
    credited_in_all = D("0.00")
    entries = dict(
        WalletEntry.objects.filter(wallet__seller=seller).values_list("reference", "amount")
    )
    for accrual, row in zip(accruals, rows, strict=True):
        accrual.refresh_from_db()
        want = expected(row)
        reference = f"cashback-accrual:{accrual.pk}"
        assert accrual.resolved_at is not None
        if want is None:
            assert (accrual.status, accrual.credited_amount) == (AccrualStatus.VOIDED, None)
            assert reference not in entries
            continue
        assert (accrual.status, accrual.credited_amount) == (AccrualStatus.CREDITED, want), row
        assert entries.get(reference) == (want if want > 0 else None), row
        credited_in_all += want
    return credited_in_all


# The amount: the SQL share is `credited_share` ---------------------------------------------

# (price, discount, refunded at the close, refunded now, share, returned), in cents
CASES = {
    "no refund since": (12000, 2000, 0, 0, 50, False),
    "a refund before the close only": (10000, 0, 2000, 2000, 40, False),
    "refunds below those at the close": (10000, 0, 2000, 1000, 40, False),
    "a tenth refunded": (10000, 0, 0, 1000, 50, False),
    "0.485 rounds half up to 0.49": (10000, 0, 0, 300, 50, False),
    "0.005 rounds half up to 0.01": (10000, 0, 0, 5000, 1, False),
    "0.004999 rounds down to 0.00": (10000, 0, 0, 5001, 1, False),
    "0.015 rounds half up to 0.02": (200, 0, 0, 100, 3, False),
    "a part refunded before and after the close": (30000, 0, 10000, 15000, 7, False),
    "a discount in the base": (12000, 2000, 0, 2500, 40, False),
    "all refunded, not returned": (10000, 0, 0, 10000, 50, False),
    "a share of 0.00": (100, 0, 0, 50, 0, False),
    "returned": (10000, 0, 0, 10000, 50, True),
    "returned without a refund": (10000, 0, 0, 0, 50, True),
    "a large order": (10_000_000_00, 0, 10_000_00, 3_333_333_33, 300_000_00, False),
}


@pytest.mark.django_db
def test_each_case_is_credited_as_credited_share_says(seller):
    rows = list(CASES.values())
    accruals = make_accruals(seller, rows)

    counts = credit_cashback(as_of=AS_OF, batch_size=4)

    credited = assert_credited_as_expected(seller, accruals, rows)
    assert expected(CASES["0.485 rounds half up to 0.49"]) == D("0.49")
    assert expected(CASES["0.004999 rounds down to 0.00"]) == D("0.00")
    assert counts["credited"] == len(rows) - 2 and counts["voided"] == 2
    lowered = [r for r in rows if expected(r) is not None and expected(r) != cents(r[4])]
    assert counts["lowered"] == len(lowered) == 8
    assert Wallet.objects.get(seller=seller).balance == credited
    assert_ledger_consistent(seller)
    assert "All consistent" in reconcile()


amounts = st.integers(min_value=0, max_value=10**6) | st.integers(min_value=0, max_value=10**10)


@st.composite
def accrual_rows(draw):
    price = draw(amounts)
    discount = draw(st.integers(min_value=0, max_value=price))
    base = price - discount
    at_close = draw(st.integers(min_value=0, max_value=base))
    # Mostly refunds since the close, near the half cents; sometimes none at all.
    refunded = draw(st.integers(min_value=at_close, max_value=base) | st.just(at_close))
    share = draw(st.integers(min_value=0, max_value=min(base - at_close, 10**8)))
    returned = draw(st.integers(min_value=0, max_value=9)) == 0
    return (price, discount, at_close, refunded, share, returned)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(accrual_rows(), min_size=1, max_size=12))
@example(rows=[CASES["0.485 rounds half up to 0.49"], CASES["0.005 rounds half up to 0.01"]])
def test_any_refund_is_credited_as_credited_share_says(seller, rows):
    with transaction.atomic():
        accruals = make_accruals(seller, rows)
        credit_cashback(as_of=AS_OF, batch_size=5)

        credited = assert_credited_as_expected(seller, accruals, rows)
        assert balance_of(seller) == credited
        assert_ledger_consistent(seller)
        transaction.set_rollback(True)


# The wallet: running balances and balances ---------------------------------------------------


@pytest.mark.django_db
def test_batches_over_several_wallets_keep_each_ledger_running(seller, other_seller):
    staff = StaffUserFactory()
    wallet_adjust(seller_id=seller.pk, amount=D("10.00"), reason="Opening", staff=staff)
    first = make_accruals(seller, [(10000, 0, 0, 0, 50 + n, False) for n in range(7)])
    second = make_accruals(other_seller, [(10000, 0, 0, 300, 50, False)] * 5, prefix="Y")
    more = make_accruals(seller, [(10000, 0, 0, 0, 25, False)] * 4, prefix="Z")

    counts = credit_cashback(as_of=AS_OF, batch_size=3)

    assert counts["credited"] == 16 and counts["lowered"] == 5
    # 10.00 opening + 0.50 + ... + 0.56 + 4 x 0.25
    assert Wallet.objects.get(seller=seller).balance == D("10.00") + D("3.71") + D("1.00")
    assert Wallet.objects.get(seller=other_seller).balance == D("0.49") * 5
    for s in (seller, other_seller):
        assert_ledger_consistent(s)
    # Entries are posted in the accruals' order, within each wallet.
    references = list(
        WalletEntry.objects.filter(wallet__seller=seller, kind=EntryKind.CASHBACK)
        .order_by("pk")
        .values_list("reference", flat=True)
    )
    assert references == [f"cashback-accrual:{a.pk}" for a in first + more]
    assert len(second) == WalletEntry.objects.filter(wallet__seller=other_seller).count()
    assert "All consistent" in reconcile()


@pytest.mark.django_db
def test_entries_are_dated_when_posted_and_described(seller):
    (accrual,) = make_accruals(seller, [(10000, 0, 0, 0, 50, False)])
    before = datetime.now(UTC)

    credit_cashback(as_of=AS_OF)

    entry = WalletEntry.objects.get()
    accrual.refresh_from_db()
    assert entry.kind == EntryKind.CASHBACK
    assert entry.description == f"Order Cashback for order {accrual.order.external_id}"
    assert entry.created_at >= before and accrual.resolved_at >= before
    assert (entry.created_by, entry.reason) == (None, "")


@pytest.mark.django_db
def test_an_accrual_due_for_a_seller_without_a_wallet_opens_one(seller, monkeypatch):
    """A late addition that becomes due after the run opened the wallets it found (none for
    this seller): its batch opens the wallet and credits it, instead of failing."""
    from cashback import order_cashback

    (accrual,) = make_accruals(seller, [(10000, 0, 0, 0, 50, False)])
    monkeypatch.setattr(order_cashback, "wallets_open", lambda seller_ids: None)
    assert not Wallet.objects.filter(seller=seller).exists()

    counts = credit_cashback(as_of=AS_OF)

    assert counts["credited"] == 1
    wallet = Wallet.objects.get(seller=seller)
    assert (wallet.currency, wallet.balance) == ("USD", D("0.50"))
    assert WalletEntry.objects.get().reference == f"cashback-accrual:{accrual.pk}"
    assert_ledger_consistent(seller)


# Once ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_twice_in_a_row_credits_nothing_the_second_time(seller, other_seller):
    rows = [CASES["0.485 rounds half up to 0.49"], CASES["returned"], CASES["no refund since"]]
    make_accruals(seller, rows * 3)
    make_accruals(other_seller, rows, prefix="Y")
    credit_cashback(as_of=AS_OF, batch_size=4)
    ledger = WalletEntry.objects.order_by("pk").values_list("pk", "amount", "balance_after")
    before = list(ledger)
    balances = dict(Wallet.objects.values_list("seller_id", "balance"))

    again = credit_cashback(as_of=AS_OF, batch_size=4)

    assert (again["credited"], again["lowered"], again["voided"]) == (0, 0, 0)
    assert list(ledger) == before
    assert dict(Wallet.objects.values_list("seller_id", "balance")) == balances
    assert balances == {seller.pk: D("2.97"), other_seller.pk: D("0.99")}


@pytest.mark.django_db
def test_an_accrual_posted_before_is_refused_by_its_reference_and_nothing_moves(seller):
    accruals = make_accruals(seller, [(10000, 0, 0, 0, 50, False)] * 3)
    credit_cashback(as_of=AS_OF)
    # As if the accruals' update had been lost after their entries were written.
    Accrual.objects.filter(pk=accruals[1].pk).update(
        status=AccrualStatus.PENDING, credited_amount=None, resolved_at=None
    )
    PendingAccrual.objects.create(accrual=accruals[1], seller=seller, due_at=accruals[1].due_at)
    make_accruals(seller, [(10000, 0, 0, 0, 70, False)])  # in the same batch, after it

    counts = credit_cashback(as_of=AS_OF)

    assert counts["sellers_failed"] == 1 and counts["credited"] == 0
    assert WalletEntry.objects.count() == 3
    assert Wallet.objects.get(seller=seller).balance == D("1.50")
    assert Accrual.objects.filter(status=AccrualStatus.PENDING).count() == 2
    run = JobRun.objects.filter(job="credit_cashback").latest("pk")
    assert run.status == "partly_failed"
    assert f"Seller {seller.name} ({seller.slug}), crediting" in run.errors
    assert "IntegrityError" in run.errors
    stuck = SellerFailure.objects.get(job="credit_cashback")
    assert (stuck.seller_id, stuck.failures) == (seller.pk, 1)
    assert_ledger_consistent(seller)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL, as CI runs"
)
def test_twice_at_once_beside_adjustments_credits_each_accrual_once():
    sellers = [SellerFactory() for _ in range(3)]
    staff = StaffUserFactory()
    rows = [CASES["no refund since"], CASES["0.485 rounds half up to 0.49"], CASES["returned"]]
    per_seller = {s.pk: make_accruals(s, rows * 10, prefix=f"S{s.pk}") for s in sellers}

    def adjust():
        for n in range(10):
            for s in sellers:
                wallet_adjust(seller_id=s.pk, amount=D("1.00"), reason=f"#{n}", staff=staff)

    outcomes = race(
        lambda: credit_cashback(as_of=AS_OF, batch_size=7),
        lambda: credit_cashback(as_of=AS_OF, batch_size=7),
        adjust,
    )

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    credited = [counts for _, counts in outcomes[:2]]
    assert sum(c["credited"] for c in credited) == 60 and sum(c["voided"] for c in credited) == 30
    per_reference = dict(
        WalletEntry.objects.filter(kind=EntryKind.CASHBACK)
        .values_list("reference")
        .annotate(n=Count("id"))
        .order_by()
    )
    assert set(per_reference.values()) == {1} and len(per_reference) == 60
    for s in sellers:
        in_all = assert_credited_as_expected(s, per_seller[s.pk], rows * 10)
        assert in_all == D("9.90")
        assert Wallet.objects.get(seller=s).balance == in_all + D("10.00")
        assert_ledger_consistent(s)
    assert "All consistent" in reconcile()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL, as CI runs"
)
def test_an_accrual_locked_elsewhere_is_waited_for_and_credited_once():
    seller = SellerFactory()
    accruals = make_accruals(seller, [CASES["no refund since"]] * 5)
    held, release = threading.Event(), threading.Event()
    outcome = {}

    def hold_the_second():
        with transaction.atomic():
            Accrual.objects.select_for_update().get(pk=accruals[1].pk)
            held.set()
            release.wait(timeout=20)

    def credit():
        try:
            outcome["counts"] = credit_cashback(as_of=AS_OF, batch_size=2)
        finally:
            connections.close_all()

    holder = threading.Thread(target=lambda: (hold_the_second(), connections.close_all()))
    holder.start()
    crediting = threading.Thread(target=credit)
    try:
        assert held.wait(timeout=10)
        crediting.start()
        crediting.join(timeout=1)
        assert crediting.is_alive()  # it waits for the row, neither skipping nor failing it
        assert Accrual.objects.filter(status=AccrualStatus.PENDING).count() == 5
    finally:
        release.set()
        holder.join(timeout=20)
        crediting.join(timeout=20)

    assert outcome["counts"]["credited"] == 5
    assert credit_cashback(as_of=AS_OF, batch_size=2)["credited"] == 0
    assert balance_of(seller) == D("2.50")
    assert_ledger_consistent(seller)
    assert "All consistent" in reconcile()
