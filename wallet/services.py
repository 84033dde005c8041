"""Writes of the wallet: a plain ledger. It knows nothing of the programs that post to it."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F, OuterRef, Subquery, Sum
from django.utils import timezone

from sellers.models import User
from wallet.models import EntryKind, Wallet, WalletEntry


class WalletError(Exception):
    """A posting refused; nothing was written."""


@dataclass(frozen=True)
class Posting:
    seller_id: int
    kind: str
    amount: Decimal
    reference: str = ""
    description: str = ""
    created_by: User | None = None
    reason: str = ""


def wallets_for(seller_ids: set[int]) -> dict[int, Wallet]:
    """The sellers' wallets, created where missing, locked in a fixed order (by seller) for
    the rest of the transaction."""
    missing = seller_ids - set(
        Wallet.objects.filter(seller_id__in=seller_ids).values_list("seller_id", flat=True)
    )
    Wallet.objects.bulk_create(
        [Wallet(seller_id=s) for s in sorted(missing)], ignore_conflicts=True
    )
    return {
        w.seller_id: w
        for w in Wallet.objects.select_for_update()
        .filter(seller_id__in=seller_ids)
        .order_by("seller_id")
    }


def wallet_post(postings: list[Posting]) -> list[WalletEntry]:
    """Post entries to wallets in one transaction: every balance moves with its entries, and
    none goes below zero (then nothing is posted). A reference posted before makes the
    database refuse the whole batch. Entries are dated when they are posted: the ledger's
    order is the order of posting."""
    at = timezone.now()
    if not postings:
        return []
    with transaction.atomic():
        wallets = wallets_for({p.seller_id for p in postings})
        entries = []
        for posting in postings:
            wallet = wallets[posting.seller_id]
            balance = wallet.balance + posting.amount
            if balance < 0:
                raise WalletError(
                    f"This would take {wallet.seller_id}'s wallet to {balance}: a wallet never "
                    "goes below zero."
                )
            wallet.balance = balance
            entries.append(
                WalletEntry(
                    wallet=wallet,
                    kind=posting.kind,
                    amount=posting.amount,
                    balance_after=balance,
                    reference=posting.reference,
                    description=posting.description,
                    created_by=posting.created_by,
                    reason=posting.reason,
                    created_at=at,
                )
            )
        WalletEntry.objects.bulk_create(entries)
        # Every balance moves by the sum of its new entries, in one statement.
        new = WalletEntry.objects.filter(pk__in=[e.pk for e in entries], wallet=OuterRef("pk"))
        Wallet.objects.filter(pk__in={e.wallet_id for e in entries}).update(
            balance=F("balance")
            + Subquery(new.values("wallet").annotate(total=Sum("amount")).values("total")),
            updated_at=at,
        )
    return entries


def wallet_adjust(*, seller_id: int, amount: Decimal, reason: str, staff: User) -> WalletEntry:
    """An admin's adjustment: any amount but zero, with a reason, naming who posted it."""
    reason = (reason or "").strip()
    if not reason:
        raise WalletError("An adjustment needs a reason, which the seller sees.")
    if amount == 0:
        raise WalletError("An adjustment of 0.00 changes nothing.")
    if amount != amount.quantize(Decimal("0.01")):
        raise WalletError("An amount has at most 2 decimal places.")
    (entry,) = wallet_post(
        [
            Posting(
                seller_id=seller_id,
                kind=EntryKind.ADJUSTMENT,
                amount=amount,
                description="Adjustment by the platform",
                created_by=staff,
                reason=reason,
            )
        ]
    )
    return entry
