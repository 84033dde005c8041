"""Reads of the wallet."""

from decimal import Decimal

from django.db.models import QuerySet, Subquery, Sum

from core.money import cents
from sellers.models import Seller
from wallet.models import Wallet, WalletEntry


def seller_wallet(*, seller: Seller) -> Wallet | None:
    """The seller's wallet; None until its first entry."""
    return Wallet.objects.filter(seller=seller).first()


def wallet_balance(*, seller: Seller) -> Decimal:
    wallet = seller_wallet(seller=seller)
    return wallet.balance if wallet else Decimal("0.00")


def wallet_of(*, seller: Seller) -> Subquery:
    """The id of the seller's wallet, as a subquery, to find its entries by: the planner
    cannot see into it, and reads a wallet's newest entries from that wallet's end of the
    (wallet, id) index. Told a large wallet's id, it counts on meeting that wallet's
    entries soon while reading all entries newest first (60 ms when they are not the newest
    of all); through a join to the seller, it sorts all of that wallet's entries (150 ms for
    80,000)."""
    return Subquery(Wallet.objects.filter(seller=seller).values("pk")[:1])


def wallet_entries(*, seller: Seller) -> QuerySet[WalletEntry]:
    """The seller's wallet entries, newest first (none before its wallet's first)."""
    return WalletEntry.objects.filter(wallet_id=wallet_of(seller=seller)).order_by("-pk")


def wallet_latest(*, seller: Seller, count: int) -> tuple[Decimal, list[WalletEntry]]:
    """The seller's balance and newest `count` entries, in one query: the balance is the
    newest entry's balance after it. A balance moves only with an entry, in the entry's
    transaction, so every snapshot sees the two agree (and `reconcile` holds them equal)."""
    entries = list(wallet_entries(seller=seller)[:count])
    return (entries[0].balance_after if entries else Decimal("0.00")), entries


def wallet_mismatches() -> list[str]:
    """Each wallet whose balance is not the sum of its entries, or whose last entry's
    balance_after is not its balance."""
    problems = []
    for wallet in Wallet.objects.annotate(total=Sum("entries__amount")):
        total = cents(wallet.total)
        if total != wallet.balance:
            problems.append(
                f"wallet of seller {wallet.seller_id}: balance {wallet.balance}, entries sum to "
                f"{total}"
            )
        last = wallet.entries.order_by("-pk").first()
        if last is not None and last.balance_after != wallet.balance:
            problems.append(
                f"wallet of seller {wallet.seller_id}: balance {wallet.balance}, last entry says "
                f"{last.balance_after}"
            )
    return problems
