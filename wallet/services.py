"""Writes of the wallet: a plain ledger. It knows nothing of the programs that post to it."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
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
    return {w.seller_id: w for w in _locked_wallets(seller_ids)}


def _locked_wallets(seller_ids: set[int]) -> QuerySet[Wallet]:
    """Creates the sellers' wallets where missing; the query returned locks them, by seller,
    when it runs."""
    missing = seller_ids - set(
        Wallet.objects.filter(seller_id__in=seller_ids).values_list("seller_id", flat=True)
    )
    Wallet.objects.bulk_create(
        [Wallet(seller_id=s) for s in sorted(missing)], ignore_conflicts=True
    )
    return Wallet.objects.select_for_update().filter(seller_id__in=seller_ids).order_by("seller_id")


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


def wallet_post_rows(*, kind: str, seller_ids: set[int], rows: str, params: dict) -> int:
    """`wallet_post` for many postings at once, set-based: an entry of `kind` for each row
    of the query `rows` (`seller_id`, `amount`, `reference`, `description` and a unique
    `position`), the rows never leaving the database. The same guarantees: the wallets of
    `seller_ids` created where missing and locked by seller; each entry's balance_after the
    running balance in the order of `position`, which is also the order of the wallet's
    entries' ids; each balance moved to its last entry's, in the same transaction. A row of
    another seller, a balance below zero or a reference posted before makes the database
    refuse all of it. Returns how many entries were posted."""
    at = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        wallets = {
            f"wallet_{n}": pk
            for n, pk in enumerate(_locked_wallets(seller_ids).values_list("pk", flat=True))
        }
        # In integer cents, so that SQLite's floating point adds up as PostgreSQL does. A row
        # whose wallet is not one locked here joins none, and its NULL wallet is refused.
        cursor.execute(
            f"""
            INSERT INTO wallet_walletentry
                (wallet_id, kind, amount, balance_after, reference, description, reason,
                 created_at)
            SELECT wallet_id, %(wallet_kind)s, cents / 100.0,
                   (balance_cents + SUM(cents) OVER (PARTITION BY wallet_id ORDER BY position
                                                     ROWS UNBOUNDED PRECEDING)) / 100.0,
                   reference, description, '', %(wallet_at)s
            FROM (SELECT w.id AS wallet_id, posting.reference, posting.description,
                         posting.position,
                         CAST(ROUND(w.balance * 100) AS BIGINT) AS balance_cents,
                         CAST(ROUND(posting.amount * 100) AS BIGINT) AS cents
                  FROM ({rows}) AS posting
                  LEFT JOIN wallet_wallet w
                         ON w.seller_id = posting.seller_id
                        AND w.id IN ({", ".join(f"%({n})s" for n in wallets) or "NULL"})) p
            ORDER BY wallet_id, position""",  # noqa: S608 (the caller's query, and placeholders)
            {
                **params,
                **wallets,
                "wallet_kind": kind,
                "wallet_at": connection.ops.adapt_datetimefield_value(at),
            },
        )
        posted = cursor.rowcount
        last = WalletEntry.objects.filter(wallet=OuterRef("pk")).order_by("-pk")
        Wallet.objects.filter(pk__in=wallets.values()).update(
            balance=Coalesce(Subquery(last.values("balance_after")[:1]), F("balance")),
            updated_at=at,
        )
    return posted


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
