"""The service fee of the Bonus Cashback Program: charged on delivery, refunded on return,
settled in periods."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from cashback.models import Campaign, CampaignRate, Registration
from cashback.selectors import coverage_for, rate_in_force
from core.dialect import is_unique_violation
from core.jobs import each_seller_apart, recorded, sellers_stuck_on
from core.money import cents, exact, percent_of, round_money
from fees.models import FeeEntry, FeeEntryKind, SettledRecord, SettledRecordLine
from orders.inserts import insert_rows
from orders.models import Order
from orders.steps import AppliedStep
from sellers.selectors import seller_label

ZERO = Decimal("0.00")
# Periods start on Mondays: this one, and every SETTLEMENT_PERIOD_DAYS after it.
PERIOD_ANCHOR = date(2024, 1, 1)


def service_fee(*, fee_base: Decimal, rate: Decimal) -> Decimal:
    """The service fee: (net product price - seller-funded discount) x rate / 100, rounded
    half up to the cent, in the order's currency."""
    return percent_of(fee_base, rate)


def fee_refund(
    *, charge: Decimal, fee_base: Decimal, refunded: Decimal, already: Decimal, completes: bool
) -> Decimal:
    """What a refund of `refunded` (of the order's `fee_base`) gives back of a `charge` of
    which `already` was refunded: all that remains when it completes the return, so that
    the order's net fee is exactly zero; else charge x refunded / base, rounded, never
    more than remains."""
    remaining = charge - already
    if completes:
        return remaining
    if fee_base == 0:
        return ZERO
    with exact():
        return min(round_money(charge * refunded / fee_base), remaining)


# Step handlers (orders.steps) --------------------------------------------------------------


@dataclass(frozen=True)
class FeeDue:
    """What an eligible order pays: under which registration, at which rate, how much."""

    registration: Registration
    rate: Decimal
    amount: Decimal


def fees_due(orders: list[Order]) -> dict[int, FeeDue]:
    """The fee of each order that is fee-eligible: it used the voucher and, when it was
    placed, its seller's registration for its campaign (the one it names, else the latest
    registered that covered it) had the seller in the program. A few queries for any number
    of orders; the orders that pay nothing are left out."""
    voucher = [o for o in orders if o.bonus_cashback_voucher]
    if not voucher:
        return {}
    coverage = coverage_for(seller_ids={o.seller_id for o in voucher})
    named = {o.campaign_slug for o in voucher if o.campaign_slug}
    campaign_ids = dict(Campaign.objects.filter(slug__in=named).values_list("slug", "pk"))
    covering = {}
    for order in voucher:
        campaign_id = None
        if order.campaign_slug:
            campaign_id = campaign_ids.get(order.campaign_slug)
            if campaign_id is None:
                continue  # a campaign we do not know: no program, no fee
        registration = coverage.covering(
            seller_id=order.seller_id, at=order.placed_at, campaign_id=campaign_id
        )
        if registration is not None:
            covering[order.id] = (order, registration)
    rates = defaultdict(list)
    for rate in CampaignRate.objects.filter(
        campaign_id__in={r.campaign_id for _, r in covering.values()}
    ).order_by("effective_from"):
        rates[rate.campaign_id].append(rate)
    due = {}
    for pk, (order, registration) in covering.items():
        rate = rate_in_force(rates[registration.campaign_id], order.placed_at)
        if rate is not None:
            due[pk] = FeeDue(registration, rate, service_fee(fee_base=order.fee_base, rate=rate))
    return due


CHARGE_COLUMNS = (
    "seller_id",
    "order_id",
    "order_event_id",
    "kind",
    "amount",
    "currency",
    "campaign_id",
    "registration_id",
    "rate",
    "fee_base",
    "occurred_at",
)


def charge_delivered_orders(applied: list[AppliedStep]) -> None:
    """Charge the fee of each delivered order that is fee-eligible (`fees_due`). A bulk
    batch delivers a thousand orders at once: the charges are written as rows (COPY)."""
    due = fees_due([a.order for a in applied])
    insert_rows(
        FeeEntry,
        CHARGE_COLUMNS,
        [
            (
                a.order.seller_id,
                a.order.id,
                a.event.id,
                FeeEntryKind.CHARGE.value,
                fee.amount,
                a.order.currency,
                fee.registration.campaign_id,
                fee.registration.id,
                fee.rate,
                a.order.fee_base,
                a.order.delivered_at,
            )
            for a in applied
            if (fee := due.get(a.order.id)) is not None
        ],
        ids=False,
    )


def refund_returned_orders(applied: list[AppliedStep]) -> None:
    """Refund the fee of each refunded order that was charged: in proportion to a partial
    refund, and all that remains when the order is returned."""
    charges = {
        c.order_id: c
        for c in FeeEntry.objects.filter(
            order_id__in={a.order.pk for a in applied}, kind=FeeEntryKind.CHARGE
        )
    }
    if not charges:
        return
    already = {
        order_id: cents(total)
        for order_id, total in FeeEntry.objects.filter(
            order_id__in=charges, kind=FeeEntryKind.REFUND
        )
        .values("order_id")
        .annotate(total=Sum("amount"))
        .values_list("order_id", "total")
    }
    last = {a.order.pk: a.event.pk for a in applied}
    entries = []
    for a in applied:
        charge = charges.get(a.order.pk)
        if charge is None:
            continue
        before = already.get(a.order.pk, ZERO)
        completes = a.event.pk == last[a.order.pk] and a.order.refunded_amount == a.order.fee_base
        amount = fee_refund(
            charge=charge.amount,
            fee_base=charge.fee_base,
            refunded=a.event.amount or ZERO,
            already=before,
            completes=completes,
        )
        already[a.order.pk] = before + amount
        entries.append(
            FeeEntry(
                seller_id=charge.seller_id,
                order=a.order,
                order_event=a.event,
                kind=FeeEntryKind.REFUND,
                amount=amount,
                currency=charge.currency,
                campaign_id=charge.campaign_id,
                registration_id=charge.registration_id,
                rate=charge.rate,
                fee_base=charge.fee_base,
                refunded_base=a.event.amount,
                completes_return=completes,
                occurred_at=a.event.occurred_at,
            )
        )
    FeeEntry.objects.bulk_create(entries)


# Settlement ---------------------------------------------------------------------------------


def period_of(day: date) -> tuple[date, date]:
    """The settlement period holding a day: (first day, last day), Monday-based."""
    length = settings.FEE_SETTLEMENT_PERIOD_DAYS
    start = PERIOD_ANCHOR + timedelta(days=(day - PERIOD_ANCHOR).days // length * length)
    return start, start + timedelta(days=length - 1)


def _period_after(start: date) -> date:
    return start + timedelta(days=settings.FEE_SETTLEMENT_PERIOD_DAYS)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.get_current_timezone())


def settle_fees(*, as_of: datetime, seller_ids: list[int] | None = None) -> Counter:
    """Settle every ended period: for each seller and currency, one record a period holding
    its unsettled entries. An entry that arrives after its period was settled goes into the
    first later period that is not. Running it twice, or twice at once, settles once."""
    scope = f"{len(seller_ids)} sellers" if seller_ids is not None else ""
    with recorded("settle_fees", as_of=as_of, scope=scope, done_for=seller_ids) as counts:
        current, _ = period_of(timezone.localdate(as_of))
        cutoff = _local_midnight(current)  # the end of the last ended period
        unsettled = FeeEntry.objects.filter(settled_line__isnull=True, occurred_at__lt=cutoff)
        if seller_ids is not None:
            unsettled = unsettled.filter(seller_id__in=seller_ids)
        by_seller: dict[int, list[tuple]] = defaultdict(list)
        for row in unsettled.order_by("seller_id", "occurred_at", "pk").values_list(
            "pk", "seller_id", "currency", "occurred_at", "kind", "amount", "order_id"
        ):
            by_seller[row[1]].append(row)
        last_settled: dict[tuple[int, str], date] = {}
        for seller_id, currency, start in (
            SettledRecord.objects.filter(seller_id__in=list(by_seller))
            .order_by("seller_id", "currency", "period_start")
            .values_list("seller_id", "currency", "period_start")
        ):
            last_settled[(seller_id, currency)] = start
        each_seller_apart(
            counts,
            by_seller,
            one_seller=lambda seller_id: _settle_seller(
                seller_id, by_seller[seller_id], last_settled, current
            ),
            work="settling its fees",
            name=seller_label,
        )
    return counts


def _settle_seller(seller_id, rows, last_settled, current: date) -> Counter:
    """One seller's records of its ended periods, in one transaction: what was done."""
    groups: dict[tuple[str, date], list[tuple]] = defaultdict(list)
    for row in rows:
        currency, occurred_at = row[2], row[3]
        start, _ = period_of(timezone.localdate(occurred_at))
        settled = last_settled.get((seller_id, currency))
        if settled is not None and start <= settled:
            start = _period_after(settled)  # its period is settled: the next open one
        if start < current:
            groups[(currency, start)].append(row)
    done: Counter = Counter()
    if not groups:
        return done
    length = settings.FEE_SETTLEMENT_PERIOD_DAYS
    try:
        with transaction.atomic():
            for (currency, start), entries in sorted(groups.items()):
                charged = sum((r[5] for r in entries if r[4] == FeeEntryKind.CHARGE), ZERO)
                refunded = sum((r[5] for r in entries if r[4] == FeeEntryKind.REFUND), ZERO)
                record = SettledRecord.objects.create(
                    seller_id=seller_id,
                    currency=currency,
                    period_start=start,
                    period_end=start + timedelta(days=length - 1),
                    orders_count=len({r[6] for r in entries}),
                    fees_charged=charged,
                    fees_refunded=refunded,
                    net=charged - refunded,
                )
                SettledRecordLine.objects.bulk_create(
                    SettledRecordLine(record=record, entry_id=r[0]) for r in entries
                )
                done["records"] += 1
                done["entries"] += len(entries)
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        # Another run settled this seller at the same moment: its records stand.
        return Counter(sellers_settled_elsewhere=1)
    done["sellers"] += 1
    return done


def sellers_to_settle(*, as_of: datetime) -> list[int]:
    """The sellers with entries of ended periods not settled yet, and those the settlement is
    stuck on, for fanning out."""
    current, _ = period_of(timezone.localdate(as_of))
    unsettled = (
        FeeEntry.objects.filter(settled_line__isnull=True, occurred_at__lt=_local_midnight(current))
        .order_by()  # no default ordering in the DISTINCT: one row a seller
        .values_list("seller_id", flat=True)
        .distinct()
    )
    return sorted(set(unsettled) | sellers_stuck_on("settle_fees"))


# Reconciliation -----------------------------------------------------------------------------


def fee_mismatches(*, chunk: int = 2000) -> list[str]:
    """Every way the fee entries disagree with the orders and the settled records: each
    delivered eligible order has exactly one charge equal to its fee, no order's refunds
    exceed its charge, a returned order's fee nets to zero, and each settled record's totals
    are the sums of its entries."""
    problems: list[str] = []
    charges = defaultdict(list)
    for entry in FeeEntry.objects.filter(kind=FeeEntryKind.CHARGE).values("order_id", "amount"):
        charges[entry["order_id"]].append(entry["amount"])
    delivered = Order.objects.filter(delivered_at__isnull=False, bonus_cashback_voucher=True)
    last_pk = 0
    while True:
        batch = list(delivered.filter(pk__gt=last_pk).order_by("pk")[:chunk])
        if not batch:
            break
        last_pk = batch[-1].pk
        due = fees_due(batch)  # the rule the charges were made by
        for order in batch:
            found = charges.get(order.pk, [])
            if order.pk not in due:
                if found:
                    problems.append(
                        f"order {order.pk} ({order.external_id}) is charged but not eligible"
                    )
                continue
            expected = due[order.pk].amount
            if len(found) != 1:
                problems.append(
                    f"order {order.pk} ({order.external_id}) has {len(found)} charges, not 1"
                )
            elif found[0] != expected:
                problems.append(
                    f"order {order.pk} ({order.external_id}) is charged {found[0]}, "
                    f"its fee is {expected}"
                )
    unchecked = set(charges) - set(delivered.values_list("pk", flat=True))
    for order_id, external_id in (
        Order.objects.filter(pk__in=unchecked).order_by("pk").values_list("pk", "external_id")
    ):
        problems.append(f"order {order_id} ({external_id}) is charged but not eligible")
    refunds = (
        FeeEntry.objects.filter(kind=FeeEntryKind.REFUND)
        .values("order_id")
        .annotate(total=Sum("amount"))
    )
    returned = set(Order.objects.filter(status="returned").values_list("pk", flat=True))
    refunded_by_order = {}
    for row in refunds:
        row["total"] = cents(row["total"])
        refunded_by_order[row["order_id"]] = row["total"]
        charged = sum(charges.get(row["order_id"], []), ZERO)
        if row["total"] > charged:
            problems.append(
                f"order {row['order_id']}: fee refunds {row['total']} exceed its charge {charged}"
            )
    for order_id in returned & set(charges):
        net = sum(charges[order_id], ZERO) - refunded_by_order.get(order_id, ZERO)
        if net != 0:
            problems.append(f"order {order_id} is returned but its fee nets to {net}")
    for record in SettledRecord.objects.annotate(
        charged=Sum("lines__entry__amount", filter=_kind(FeeEntryKind.CHARGE)),
        refunded=Sum("lines__entry__amount", filter=_kind(FeeEntryKind.REFUND)),
    ):
        charged, refunded = cents(record.charged), cents(record.refunded)
        if (record.fees_charged, record.fees_refunded) != (charged, refunded):
            problems.append(
                f"settled record {record.pk} says {record.fees_charged} charged and "
                f"{record.fees_refunded} refunded; its entries say {charged} and {refunded}"
            )
    return problems


def _kind(kind: str) -> Q:
    return Q(lines__entry__kind=kind)
