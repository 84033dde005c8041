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


def wallet_entries(*, wallet: Wallet | None) -> QuerySet[WalletEntry]:
    """A wallet's entries, newest first, from this wallet's end of the (wallet, id) index.
    The wallet's id comes from a subquery, which the planner cannot see into: told a large
    wallet's id, it counts on meeting that wallet's newest entries soon while reading all
    entries newest first (60 ms when they are not the newest of all); through a join to the
    seller, it sorted all of that wallet's entries."""
    if wallet is None:
        return WalletEntry.objects.none()
    this = Subquery(Wallet.objects.filter(pk=wallet.pk).values("pk")[:1])
    return WalletEntry.objects.filter(wallet_id=this).order_by("-pk")


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
