"""`wallet_post_rows`: many postings from a query, set-based, with `wallet_post`'s
guarantees: running balances in the order given, balances moved with their entries, all or
nothing."""

from decimal import Decimal
from itertools import accumulate

import pytest
from django.db import IntegrityError, transaction

from tests.factories import StaffUserFactory
from wallet.models import EntryKind, Wallet, WalletEntry
from wallet.services import Posting, wallet_adjust, wallet_post, wallet_post_rows

pytestmark = pytest.mark.django_db

D = Decimal


def post_rows(rows: list[tuple], seller_ids: set[int] | None = None) -> int:
    """Post (seller_id, amount, reference, description, position) rows through a query, for
    their sellers unless told others."""
    values = ", ".join(
        f"(%(s{n})s, %(a{n})s, %(r{n})s, %(d{n})s, %(p{n})s)" for n in range(len(rows))
    )
    params = {f"{k}{n}": v for n, row in enumerate(rows) for k, v in zip("sardp", row, strict=True)}
    # VALUES names its columns column1, column2, ... on PostgreSQL and SQLite alike.
    query = f"""SELECT column1 AS seller_id, column2 AS amount, column3 AS reference,
                       column4 AS description, column5 AS position
                FROM (VALUES {values or "(0, 0, '', '', 0)"}) AS v
                WHERE {"1 = 1" if rows else "1 = 0"}"""  # noqa: S608
    if seller_ids is None:
        seller_ids = {row[0] for row in rows}
    return wallet_post_rows(
        kind=EntryKind.CASHBACK, seller_ids=seller_ids, rows=query, params=params
    )


def ledger(seller) -> list[tuple]:
    return list(
        WalletEntry.objects.filter(wallet__seller=seller)
        .order_by("pk")
        .values_list("reference", "amount", "balance_after")
    )


def assert_consistent(seller) -> None:
    entries = ledger(seller)
    assert [after for _, _, after in entries] == list(accumulate(a for _, a, _ in entries))
    assert Wallet.objects.get(seller=seller).balance == entries[-1][2]


def test_posts_each_row_in_the_order_of_its_position_from_the_balance_so_far(seller, other_seller):
    wallet_adjust(
        seller_id=seller.pk, amount=D("10.00"), reason="Opening", staff=StaffUserFactory()
    )
    posted = post_rows(
        [
            (seller.pk, D("0.30"), "c", "third", 30),
            (other_seller.pk, D("2.00"), "x", "other", 15),
            (seller.pk, D("0.10"), "a", "first", 10),
            (seller.pk, D("0.20"), "b", "second", 20),
        ]
    )

    assert posted == 4
    assert ledger(seller)[1:] == [
        ("a", D("0.10"), D("10.10")),
        ("b", D("0.20"), D("10.30")),
        ("c", D("0.30"), D("10.60")),
    ]
    assert ledger(other_seller) == [("x", D("2.00"), D("2.00"))]  # its wallet created
    for s in (seller, other_seller):
        assert_consistent(s)
    entry = WalletEntry.objects.get(reference="a")
    assert (entry.kind, entry.description, entry.reason, entry.created_by) == (
        EntryKind.CASHBACK,
        "first",
        "",
        None,
    )


def test_gives_what_wallet_post_gives_for_the_same_postings(seller, other_seller):
    amounts = [D("0.01"), D("0.10"), D("0.20"), D("1234.56"), D("0.07"), D("0.33")]
    wallet_post(
        [
            Posting(seller_id=seller.pk, kind=EntryKind.CASHBACK, amount=a, reference=f"p{n}")
            for n, a in enumerate(amounts)
        ]
    )
    post_rows([(other_seller.pk, a, f"r{n}", "", n) for n, a in enumerate(amounts)])

    one, other = ledger(seller), ledger(other_seller)
    assert [(a, b) for _, a, b in one] == [(a, b) for _, a, b in other]
    assert (
        Wallet.objects.get(seller=seller).balance
        == Wallet.objects.get(seller=other_seller).balance
        == D("1235.27")
    )


def test_no_rows_posts_nothing_and_creates_no_wallet(seller):
    assert post_rows([]) == 0
    assert not Wallet.objects.exists()


def test_a_reference_posted_before_refuses_all_of_them(seller):
    post_rows([(seller.pk, D("1.00"), "ref-1", "", 1)])

    with pytest.raises(IntegrityError), transaction.atomic():
        post_rows([(seller.pk, D("2.00"), "ref-2", "", 1), (seller.pk, D("3.00"), "ref-1", "", 2)])

    assert ledger(seller) == [("ref-1", D("1.00"), D("1.00"))]
    assert Wallet.objects.get(seller=seller).balance == D("1.00")


def test_a_running_balance_below_zero_refuses_all_of_them(seller):
    post_rows([(seller.pk, D("1.00"), "in", "", 1)])

    # It would end at 0.50, but goes below zero on the way.
    with pytest.raises(IntegrityError), transaction.atomic():
        post_rows([(seller.pk, D("-1.50"), "out", "", 1), (seller.pk, D("1.00"), "back", "", 2)])

    assert ledger(seller) == [("in", D("1.00"), D("1.00"))]
    assert Wallet.objects.get(seller=seller).balance == D("1.00")


def test_a_row_of_a_seller_not_named_refuses_all_of_them(seller, other_seller):
    post_rows([(other_seller.pk, D("1.00"), "theirs", "", 1)])

    # The other seller's wallet exists, but is not locked for these postings.
    with pytest.raises(IntegrityError), transaction.atomic():
        post_rows(
            [(seller.pk, D("2.00"), "mine", "", 1), (other_seller.pk, D("3.00"), "not", "", 2)],
            seller_ids={seller.pk},
        )

    assert ledger(seller) == [] and ledger(other_seller) == [("theirs", D("1.00"), D("1.00"))]
    assert Wallet.objects.get(seller=other_seller).balance == D("1.00")


def test_a_seller_named_without_rows_keeps_its_balance(seller, other_seller):
    post_rows([(seller.pk, D("1.00"), "in", "", 1)])

    assert post_rows([(seller.pk, D("2.00"), "more", "", 1)], {seller.pk, other_seller.pk}) == 1

    assert Wallet.objects.get(seller=seller).balance == D("3.00")
    assert Wallet.objects.get(seller=other_seller).balance == D("0.00")


def test_rows_with_no_seller_named_are_refused(seller):
    with pytest.raises(IntegrityError), transaction.atomic():
        post_rows([(seller.pk, D("1.00"), "lost", "", 1)], seller_ids=set())

    assert not WalletEntry.objects.exists()
