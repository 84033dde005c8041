"""Reads of the wallet."""

from decimal import Decimal

from django.db.models import QuerySet, Sum

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
    """A wallet's entries, newest first. By the wallet's id as a value: PostgreSQL then
    reads this wallet's end of the (wallet, id) index, where through a join to the seller
    it planned for an average wallet and sorted all of a large one's entries."""
    if wallet is None:
        return WalletEntry.objects.none()
    return WalletEntry.objects.filter(wallet_id=wallet.pk).order_by("-pk")


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
