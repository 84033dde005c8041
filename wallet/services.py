"""Writes of the wallet: a plain ledger. It knows nothing of the programs that post to it."""

import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.dialect import sql_cents, sql_from_cents
from core.money import MAX_AMOUNT
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


def wallets_open(seller_ids: set[int]) -> None:
    """Create the sellers' wallets where missing (an empty wallet, in USD)."""
    missing = seller_ids - set(
        Wallet.objects.filter(seller_id__in=seller_ids).values_list("seller_id", flat=True)
    )
    Wallet.objects.bulk_create(
        [Wallet(seller_id=s) for s in sorted(missing)], ignore_conflicts=True
    )


def _locked_wallets(seller_ids: set[int]) -> QuerySet[Wallet]:
    """Creates the sellers' wallets where missing; the query returned locks them, by seller,
    when it runs."""
    wallets_open(seller_ids)
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
                    f"This would take the wallet of {wallet.seller.name} to {balance} "
                    f"{wallet.currency}: a wallet never goes below zero."
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
    named = sorted(seller_ids)
    params = {
        **params,
        **wallet_posting_params(kind),
        "wallet_sellers": named if connection.vendor == "postgresql" else json.dumps(named),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        wallets = list(_locked_wallets(seller_ids).values_list("pk", flat=True))
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH posting AS ({rows}), {wallet_posting_ctes(postings='posting')} "  # noqa: S608
                "SELECT count(*) FROM wallet_entry",
                params,
            )
            return cursor.fetchone()[0]
        # SQLite has no data-modifying WITH: the entries, then the balances.
        cursor.execute(_sql_insert_entries(f"({rows})"), params)
        posted = cursor.rowcount
        last = WalletEntry.objects.filter(wallet=OuterRef("pk")).order_by("-pk")
        Wallet.objects.filter(pk__in=wallets).update(
            balance=Coalesce(Subquery(last.values("balance_after")[:1]), F("balance")),
            updated_at=timezone.now(),
        )
    return posted


def wallets_lock(*, sellers: str, params: dict) -> None:
    """Open the wallets of the sellers the query `sellers` gives where missing
    (`wallets_open`), then lock them, by seller, for the rest of the transaction: what
    `wallet_posting_ctes` needs first. A seller whose first posting arrives between a job's
    opening of wallets and its statement is given its wallet here, not refused."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT s.seller_id FROM ({sellers}) AS s (seller_id)",  # noqa: S608
            params,
        )
        wallets_open({seller_id for (seller_id,) in cursor.fetchall()})
        cursor.execute(
            f"SELECT id FROM wallet_wallet WHERE seller_id IN ({sellers}) "  # noqa: S608
            f"ORDER BY seller_id {connection.ops.for_update_sql()}",
            params,
        )


def wallet_posting_params(kind: str) -> dict:
    """The parameters of `wallet_posting_ctes`."""
    return {
        "wallet_kind": kind,
        "wallet_at": connection.ops.adapt_datetimefield_value(timezone.now()),
        "wallet_sellers": None,
    }


def wallet_posting_ctes(*, postings: str) -> str:
    """`wallet_post_rows` inside a caller's PostgreSQL statement: the common table
    expressions that post an entry for each row of the caller's expression `postings`
    (`seller_id`, `amount`, `reference`, `description`, `position`), with the same
    guarantees, once the caller locked their wallets (`wallets_lock`), before the statement:
    a row without an open wallet (or, when `wallet_sellers` is a list, of a seller not in
    it) is refused. Its entries are `wallet_entry` (`wallet_id`, `id`, `balance_after`);
    the parameters are `wallet_posting_params`."""
    return f"""
        wallet_entry AS (
            {_sql_insert_entries(postings)}
            RETURNING wallet_id, id, balance_after
        ),
        wallet_balance AS (
            UPDATE wallet_wallet SET balance = e.balance_after, updated_at = %(wallet_at)s
            FROM (SELECT DISTINCT ON (wallet_id) wallet_id, balance_after FROM wallet_entry
                  ORDER BY wallet_id, id DESC) e
            WHERE wallet_wallet.id = e.wallet_id
        )"""  # noqa: S608 (the caller's expression)


def _sql_insert_entries(postings: str) -> str:
    """The entries of the rows of `postings`, one each, with their running balances from
    their wallets' balances (as locked: read after the lock). In integer cents, so that
    SQLite's floating point adds up as PostgreSQL does; entries are inserted, and so
    numbered, in the order of their balances. A row without its wallet joins none, and its
    NULL wallet is refused."""
    running = """balance_cents + SUM(cents) OVER (PARTITION BY wallet_id ORDER BY position
                                                  ROWS UNBOUNDED PRECEDING)"""
    wallets = "(SELECT * FROM wallet_wallet WHERE "
    if connection.vendor == "postgresql":
        wallets += "%(wallet_sellers)s::bigint[] IS NULL OR seller_id = ANY(%(wallet_sellers)s))"
    else:
        wallets += (
            "%(wallet_sellers)s IS NULL"
            " OR seller_id IN (SELECT value FROM json_each(%(wallet_sellers)s)))"
        )
    return f"""
        INSERT INTO wallet_walletentry
            (wallet_id, kind, amount, balance_after, reference, description, reason, created_at)
        SELECT wallet_id, %(wallet_kind)s, {sql_from_cents("cents")},
               {sql_from_cents(running)},
               reference, description, '', %(wallet_at)s
        FROM (SELECT w.id AS wallet_id, posting.reference, posting.description,
                     posting.position,
                     {sql_cents("w.balance")} AS balance_cents,
                     {sql_cents("posting.amount")} AS cents
              FROM {postings} AS posting
              LEFT JOIN {wallets} AS w ON w.seller_id = posting.seller_id) p
        ORDER BY wallet_id, position"""  # noqa: S608 (the callers' expressions)


ADJUSTMENT_ABOVE_MAX = f"An adjustment is at most {MAX_AMOUNT} USD, to credit or to debit."


def wallet_adjust(*, seller_id: int, amount: Decimal, reason: str, staff: User) -> WalletEntry:
    """An admin's adjustment: any amount but zero, with a reason, naming who posted it."""
    reason = (reason or "").strip()
    if not reason:
        raise WalletError("An adjustment needs a reason, which the seller sees.")
    if amount == 0:
        raise WalletError("An adjustment of 0.00 changes nothing.")
    if abs(amount) > MAX_AMOUNT:
        raise WalletError(ADJUSTMENT_ABOVE_MAX)
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
