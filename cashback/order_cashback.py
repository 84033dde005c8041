"""Order Cashback: GMV tiers, the month close, crediting to the wallet.

The rules, each in one place:
- an order counts when fulfilled through the Order Center, with a tracking number, and
  delivered (`COUNTING`); its GMV is what the buyer paid for the products less refunds,
  converted to USD at its delivery day's rate and rounded to cents, order by order;
- a month's rate is its tier's (`TierTable.rates`) plus the yearly bonus on a tier above 0 %;
- its cashback is GMV x rate, rounded; it is shared over the orders so that the shares add
  up to it exactly (rounded down, the cents left to the largest remainders, ties by order);
- each share is due 30 days after its order's delivery, and credited then, unless the
  order was returned since (void) or partly refunded since (lowered in proportion).

The close and the crediting are set-based: SQL over all the orders of a month (in integer
cents, exact on PostgreSQL and SQLite alike), Python only per seller.
"""

import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Min, Q, Sum
from django.utils import timezone

from cashback.models import (
    MAX_FX_RATE,
    Accrual,
    AccrualStatus,
    CashbackMonth,
    FxRate,
    MonthSoFar,
    MonthStatus,
    PendingAccrual,
    Tier,
)
from core.currencies import is_currency
from core.dates import month_start
from core.dialect import (
    is_unique_violation,
    sql_cents,
    sql_cents_at_rate,
    sql_from_cents,
    sql_muldiv,
    sql_mulmod,
    sql_percent_of_cents,
)
from core.jobs import RunCounts, for_all_or_each_seller, recorded, sellers_stuck_on
from core.money import cents, exact, percent_of, round_money
from orders.models import FulfillmentChannel, Order, OrderStatus
from sellers.models import Plan
from sellers.selectors import seller_label, sellers_with_plan_at
from wallet.models import EntryKind, WalletEntry
from wallet.services import (
    wallet_post_rows,
    wallet_posting_ctes,
    wallet_posting_params,
    wallets_lock,
    wallets_open,
)

ZERO = Decimal("0.00")
DUE_AFTER = timedelta(days=30)
BASE_CURRENCY = "USD"
CREDIT_REFERENCE = "cashback-accrual:"  # and the accrual's id: each credited once

# The orders that count towards a month's fulfilled GMV, once delivered in it.
COUNTING = Q(
    fulfillment_channel=FulfillmentChannel.ORDER_CENTER, status=OrderStatus.DELIVERED
) & ~Q(tracking_number="")


def counts_towards_gmv(order: Order) -> bool:
    """`COUNTING` for one order in memory."""
    return (
        order.fulfillment_channel == FulfillmentChannel.ORDER_CENTER
        and order.status == OrderStatus.DELIVERED
        and bool(order.tracking_number)
    )


# Tiers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierTable:
    tiers: tuple[tuple[Decimal, Decimal], ...]  # (threshold in USD, rate in percent), rising
    yearly_bonus: Decimal

    def rates(self, gmv_usd: Decimal, plan: str) -> tuple[Decimal, Decimal]:
        """(tier rate, bonus) for a month's GMV: the bonus goes to the yearly plan, and only
        on a tier above 0 %."""
        tier_rate = Decimal("0")
        for threshold, rate in self.tiers:
            if gmv_usd >= threshold:
                tier_rate = rate
        bonus = self.yearly_bonus if plan == Plan.YEARLY and tier_rate > 0 else Decimal("0")
        return tier_rate, bonus

    def next_tier(self, gmv_usd: Decimal) -> tuple[Decimal, Decimal] | None:
        """(threshold, rate) of the first tier above this GMV, or None at the top."""
        return next(((t, r) for t, r in self.tiers if t > gmv_usd), None)


def tier_table_for(month: date) -> TierTable:
    """The tiers of the latest schedule effective in `month`, in one query: the tiers of
    every schedule up to it (a few a year), newest schedule first, of which the first
    schedule's are kept. A schedule has tiers from its creation on (validate_tiers)."""
    rows = (
        Tier.objects.filter(schedule__effective_month__lte=month)
        .order_by("-schedule__effective_month", "threshold_usd")
        .values_list("schedule_id", "schedule__yearly_bonus", "threshold_usd", "rate")
    )
    tiers, schedule, yearly_bonus = [], None, Decimal("0")
    for schedule_id, bonus, threshold, rate in rows:
        if schedule is None:
            schedule, yearly_bonus = schedule_id, bonus
        elif schedule_id != schedule:
            break
        tiers.append((threshold, rate))
    if not tiers:
        return TierTable(tiers=((Decimal("0"), Decimal("0")),), yearly_bonus=Decimal("0"))
    return TierTable(tiers=tuple(tiers), yearly_bonus=yearly_bonus)


def validate_tiers(tiers: list[tuple[Decimal, Decimal]]) -> list[str]:
    """A tier table's rules: the first starts at 0, thresholds rise, rates do not fall."""
    problems = []
    if not tiers:
        return ["A schedule needs at least one tier, starting at 0."]
    if tiers[0][0] != 0:
        problems.append("The first tier starts at 0.00 USD.")
    for (t1, r1), (t2, r2) in pairwise(tiers):
        if t2 <= t1:
            problems.append(f"Thresholds rise: {t2} does not come after {t1}.")
        if r2 < r1:
            problems.append(f"Rates do not fall: {r2} % comes after {r1} %.")
    return problems


# FX rates ---------------------------------------------------------------------------------


class FxImportError(Exception):
    pass


def fx_rate_problem(rate: Decimal, *, currency: str) -> str | None:
    """What is wrong with a rate to USD, or None: it is above 0, with at most 8 decimals,
    and no more than any currency is worth."""
    if not rate.is_finite() or rate <= 0 or rate.as_tuple().exponent < -8:
        return f"a rate is above 0 with at most 8 decimals, not {rate}."
    if rate > MAX_FX_RATE:
        return (
            f"{rate} USD for one {currency} is more than any currency is worth (at most "
            f"{MAX_FX_RATE:,}): is the rate the wrong way round?"
        )
    return None


def import_fx_rates(path: Path) -> int:
    """Import `date,currency,rate_to_usd` lines: all of them or, on any bad line, none (the
    error names its line). A rate already known for the day is replaced."""
    rows, seen = [], {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if [h.strip() for h in header or []] != ["date", "currency", "rate_to_usd"]:
            raise FxImportError("Line 1: the header must be date,currency,rate_to_usd.")
        for number, line in enumerate(reader, start=2):
            if not line or not "".join(line).strip():
                continue
            if len(line) != 3:
                raise FxImportError(f"Line {number}: 3 values expected, found {len(line)}.")
            raw_date, currency, raw_rate = (v.strip() for v in line)
            try:
                day = date.fromisoformat(raw_date)
            except ValueError as exc:
                raise FxImportError(
                    f"Line {number}: {raw_date!r} is not a date (YYYY-MM-DD)."
                ) from exc
            if not is_currency(currency):
                raise FxImportError(f"Line {number}: {currency!r} is not an ISO 4217 code.")
            try:
                rate = Decimal(raw_rate)
            except InvalidOperation as exc:
                raise FxImportError(f"Line {number}: {raw_rate!r} is not a number.") from exc
            if problem := fx_rate_problem(rate, currency=currency):
                raise FxImportError(f"Line {number}: {problem}")
            if (currency, day) in seen:
                raise FxImportError(
                    f"Line {number}: {currency} on {day} is given already, on line "
                    f"{seen[(currency, day)]}."
                )
            seen[(currency, day)] = number
            rows.append(FxRate(currency=currency, date=day, rate_to_usd=rate))
    with transaction.atomic():
        FxRate.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["currency", "date"],
            update_fields=["rate_to_usd"],
        )
    return len(rows)


# SQL pieces ---------------------------------------------------------------------------------


def _sql_local_date(column: str) -> str:
    """The calendar day of an instant in the platform time zone (%(tz)s)."""
    if connection.vendor == "postgresql":
        return f"(({column}) AT TIME ZONE %(tz)s)::date"
    return f"django_datetime_cast_date({column}, %(tz)s, 'UTC')"


def _sql_plus_days(column: str, days: int) -> str:
    if connection.vendor == "postgresql":
        return f"({column} + interval '{days} days')"
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS[.ffffff]': move the whole seconds, keep the fraction
    # as written (its date functions would round it to milliseconds, and carry a second).
    return (
        f"(strftime('%%Y-%%m-%%d %%H:%%M:%%S', substr({column}, 1, 19), '+{days} days')"
        f" || substr({column}, 20))"
    )


def _sql_gmv_cents() -> str:
    """An order's GMV in US cents: paid for the products less refunds, times its delivery
    day's rate, rounded half up. Whole numbers, exact at any size, so that every database
    agrees."""
    paid = "o.net_product_price - o.seller_funded_discount - o.refunded_amount"
    return f"""CASE WHEN o.currency = %(usd)s THEN {sql_cents(paid)}
                    ELSE {sql_cents_at_rate(paid, "fx.rate_to_usd", places=8)} END"""


def _sql_counting_orders(extra: str = "", *, unaccrued: bool = False) -> str:
    """The counting orders of a month (those not accrued yet, when `unaccrued`: an order
    is accrued only once its month is closed, so the orders of a month not closed need no
    look-up; one that a plan made for an empty accrual table would make for each order, in
    a close fanned out on a fresh deployment, while the other chunks fill it)."""
    accrued = "LEFT JOIN cashback_accrual a ON a.order_id = o.id" if unaccrued else ""
    return f"""
        FROM orders_order o
        LEFT JOIN cashback_fxrate fx
               ON fx.currency = o.currency AND fx.date = {_sql_local_date("o.delivered_at")}
        {accrued}
        WHERE o.fulfillment_channel = %(channel)s AND o.status = %(delivered)s
          AND o.tracking_number <> '' AND o.delivered_at >= %(start)s AND o.delivered_at < %(end)s
          {"AND a.id IS NULL" if unaccrued else ""} {extra}"""


# Month close ------------------------------------------------------------------------------


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The first instant of a month and of the next, in the platform time zone."""
    start = month_start(
        datetime.combine(month, datetime.min.time(), timezone.get_current_timezone())
    )
    following = month_start(start + timedelta(days=32))
    return start, following


def _params(month: date, seller_ids: list[int] | None) -> dict:
    start, end = month_bounds(month)
    params = {
        "tz": str(timezone.get_current_timezone()),
        "usd": BASE_CURRENCY,
        "channel": FulfillmentChannel.ORDER_CENTER,
        "delivered": OrderStatus.DELIVERED,
        "start": _instant(start),
        "end": _instant(end),
        "month": connection.ops.adapt_datefield_value(month),
    }
    if seller_ids is not None:
        params.update({f"s{i}": s for i, s in enumerate(seller_ids)})
    return params


def _instant(value: datetime):
    """A datetime as the database stores it (SQLite keeps UTC text without an offset)."""
    return connection.ops.adapt_datetimefield_value(value)


def _seller_filter(column: str, seller_ids: list[int] | None) -> str:
    if seller_ids is None:
        return ""
    if not seller_ids:
        return "AND 1 = 0"
    return f"AND {column} IN ({', '.join(f'%(s{i})s' for i in range(len(seller_ids)))})"


def month_gmv(
    *, month: date, seller_ids: list[int] | None = None, since: datetime | None = None
) -> dict[int, tuple]:
    """For each seller, its counting orders of a month (delivered `since` an instant of it,
    if given): (orders, GMV in US cents, orders waiting for an FX rate, the first missing
    rate as "EUR on 2026-10-03"). Of a month not closed, none is accrued yet; of a closed
    month, the ones waiting for a rate are not."""
    params = _params(month, seller_ids)
    if since is not None:
        params["start"] = _instant(since)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT o.seller_id, {_sql_month_sums()}
                {_sql_counting_orders(_seller_filter("o.seller_id", seller_ids))}
                GROUP BY o.seller_id""",
            params,
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _sql_month_sums() -> str:
    """A seller's counting orders summed: their count, GMV in US cents, how many wait for
    an FX rate, and the first rate missing."""
    missing = "o.currency <> %(usd)s AND fx.id IS NULL"
    return f"""COUNT(*) AS orders,
        SUM(CASE WHEN {missing} THEN 0 ELSE {_sql_gmv_cents()} END) AS gmv_cents,
        SUM(CASE WHEN {missing} THEN 1 ELSE 0 END) AS waiting,
        MIN(CASE WHEN {missing}
                 THEN o.currency || ' on ' || {_sql_local_date("o.delivered_at")} END)
            AS first_missing"""


def roll_up_months(*, as_of: datetime) -> Counter:
    """Sum every seller's month so far, through the start of `as_of`'s hour, into its
    MonthSoFar: the dashboard and the API's summary then add only the orders delivered
    since. Twice, or twice at once, has the effect of once, and an earlier roll-up never
    replaces a later one. A seller with no counting order before then has no row, nor has
    a month that has ended. One statement for every seller; should it fail, one a seller,
    so that a seller whose sum fails keeps its last row and stops no one else's."""
    with recorded("roll_up_months", as_of=as_of, done_for=None) as counts:
        month = month_start(as_of).date()
        through = max(as_of.replace(minute=0, second=0, microsecond=0), month_bounds(month)[0])
        params = {
            **_params(month, None),
            "end": _instant(through),
            "through": _instant(through),
            "now": _instant(timezone.now()),
        }

        def roll_up(seller_ids: list[int] | None) -> Counter:
            sellers = {f"s{i}": s for i, s in enumerate(seller_ids or ())}
            return Counter(sellers=_roll_up({**params, **sellers}, seller_ids=seller_ids))

        for_all_or_each_seller(
            counts,
            seller_ids=None,
            all_at_once=roll_up,
            sellers=lambda: sorted(
                Order.objects.filter(
                    COUNTING, delivered_at__gte=month_bounds(month)[0], delivered_at__lt=through
                )
                .order_by()
                .values_list("seller_id", flat=True)
                .distinct()
            ),
            one_seller=lambda seller_id: roll_up([seller_id]),
            work=f"summing {month:%Y-%m} so far",
            name=seller_label,
        )
        # Sellers with no counting order left before it, and the months that have ended;
        # a seller whose sum failed keeps the row it has.
        stale = Q(month__lt=month) | Q(month=month, through__lt=through)
        counts["removed"] = (
            MonthSoFar.objects.filter(stale)
            .exclude(seller_id__in=list(counts.failures))
            .delete()[0]
        )
    return counts


def _roll_up(params: dict, *, seller_ids: list[int] | None) -> int:
    """The month so far of the sellers (or of all), written; returns how many rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO cashback_monthsofar (seller_id, month, through, orders_count,
                    gmv_usd, waiting_count, waiting_for, updated_at)
                SELECT seller_id, %(month)s, %(through)s, orders, {sql_from_cents("gmv_cents")},
                       waiting, COALESCE(first_missing, ''), %(now)s
                FROM (SELECT o.seller_id, {_sql_month_sums()}
                      {_sql_counting_orders(_seller_filter("o.seller_id", seller_ids))}
                      GROUP BY o.seller_id) summed
                WHERE TRUE  -- SQLite reads ON CONFLICT after a SELECT only past a WHERE
                ON CONFLICT (seller_id, month) DO UPDATE SET
                    through = excluded.through, orders_count = excluded.orders_count,
                    gmv_usd = excluded.gmv_usd, waiting_count = excluded.waiting_count,
                    waiting_for = excluded.waiting_for, updated_at = excluded.updated_at
                WHERE cashback_monthsofar.through <= excluded.through""",
            params,
        )
        return cursor.rowcount


def month_orders_gmv(*, month: date, seller_id: int) -> list[tuple[int, str, int | None]]:
    """A seller's counting orders of a month not accrued yet, each as (order id, external
    id, GMV in US cents or None while its FX rate is missing), by delivery."""
    params = _params(month, [seller_id])
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT o.id, o.external_id,
                       CASE WHEN o.currency <> %(usd)s AND fx.id IS NULL THEN NULL
                            ELSE {_sql_gmv_cents()} END
                {_sql_counting_orders(_seller_filter("o.seller_id", [seller_id]), unaccrued=True)}
                ORDER BY o.delivered_at, o.id""",
            params,
        )
        return cursor.fetchall()


def months_to_close(*, as_of: datetime, seller_ids: list[int] | None = None) -> list[date]:
    """The ended months holding counting orders not accrued yet, oldest first: only those
    (one look-up each, from one month with such orders to the next), however long ago the
    first of them was delivered."""
    current = month_start(as_of)
    orders = Order.objects.filter(COUNTING, accrual__isnull=True, delivered_at__lt=current)
    if seller_ids is not None:
        orders = orders.filter(seller_id__in=seller_ids)
    months = []
    first = orders.aggregate(first=Min("delivered_at"))["first"]
    while first is not None:
        month, following = month_bounds(month_start(first).date())
        months.append(month.date())
        first = orders.filter(delivered_at__gte=following).aggregate(first=Min("delivered_at"))[
            "first"
        ]
    # Months that wait for a rate, even if no order of theirs is left to count.
    waiting = CashbackMonth.objects.filter(status=MonthStatus.WAITING_FX, month__lt=current.date())
    if seller_ids is not None:
        waiting = waiting.filter(seller_id__in=seller_ids)
    return sorted(set(months) | set(waiting.values_list("month", flat=True)))


def _sellers_of_month(month: date, seller_ids: list[int] | None) -> list[int]:
    """The sellers a month's close has work for: counting orders of it not accrued yet, or
    the month waiting for an FX rate."""
    start, end = month_bounds(month)
    orders = Order.objects.filter(
        COUNTING, accrual__isnull=True, delivered_at__gte=start, delivered_at__lt=end
    )
    waiting = CashbackMonth.objects.filter(month=month, status=MonthStatus.WAITING_FX)
    if seller_ids is not None:
        orders = orders.filter(seller_id__in=seller_ids)
        waiting = waiting.filter(seller_id__in=seller_ids)
    with_orders = orders.order_by().values_list("seller_id", flat=True).distinct()
    return sorted(set(with_orders) | set(waiting.values_list("seller_id", flat=True)))


def close_months(
    *, as_of: datetime, seller_ids: list[int] | None = None, month: date | None = None
) -> Counter:
    """Close every ended seller-month not closed yet (or one month), and accrue the late
    orders of months closed before. Twice, or twice at once, has the effect of once."""
    scope = f"{len(seller_ids)} sellers" if seller_ids is not None else ""
    done_for = seller_ids if month is None else ()
    with recorded("close_month", as_of=as_of, scope=scope, done_for=done_for) as counts:
        months = [month] if month else months_to_close(as_of=as_of, seller_ids=seller_ids)
        for m in months:
            if month_bounds(m)[1] > as_of:
                raise ValueError(f"{m:%Y-%m} has not ended as of {as_of.isoformat()}.")
            _close_month_contained(m, seller_ids=seller_ids, as_of=as_of, counts=counts)
        if counts["accruals"] and connection.vendor == "postgresql":
            # Fresh statistics for the rows just written, before crediting plans over them.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE cashback_accrual, cashback_pendingaccrual")
    return counts


def _close_month_contained(month: date, *, seller_ids, as_of: datetime, counts: RunCounts):
    """Close a month for every seller at once; should that fail, for one seller at a time,
    so that a seller whose close fails stops no one else's (it is tried again next run)."""

    def close(sellers: list[int] | None) -> Counter:
        done: Counter = Counter()
        _close_month(month, seller_ids=sellers, as_of=as_of, counts=done)
        return done

    for_all_or_each_seller(
        counts,
        seller_ids=seller_ids,
        all_at_once=close,
        sellers=lambda: _sellers_of_month(month, seller_ids),
        one_seller=lambda seller_id: close([seller_id]),
        work=f"closing {month:%Y-%m}",
        name=seller_label,
    )


class _MonthMoved(Exception):
    """An order of the month changed between reading its total and writing its shares."""


CLOSE_ATTEMPTS = 5


def _close_month(month: date, *, seller_ids, as_of: datetime, counts: Counter) -> None:
    # The total and the shares are two statements; an order returned or arriving between
    # them would share a total that was not its own. The shares are checked against the
    # GMV the total came from, and the month is done again if they differ.
    for attempt in range(1, CLOSE_ATTEMPTS + 1):
        try:
            _close_month_once(month, seller_ids=seller_ids, counts=counts)
            return
        except _MonthMoved:
            counts["close_retries"] += 1
            if attempt == CLOSE_ATTEMPTS:
                raise


def _close_month_once(month: date, *, seller_ids, counts: Counter) -> None:
    params = _params(month, seller_ids)
    now = timezone.now()
    params["now"] = _instant(now)
    with transaction.atomic():
        closed = CashbackMonth.objects.filter(month=month, status=MonthStatus.CLOSED)
        if seller_ids is not None:
            closed = closed.filter(seller_id__in=seller_ids)
        closed_before = set(closed.values_list("seller_id", flat=True))
        totals = month_gmv(month=month, seller_ids=seller_ids)
        to_close = {s: t for s, t in totals.items() if s not in closed_before}
        # A month that waited for a rate and has no counting order left (returned since):
        # it closes with nothing to share.
        still_waiting = CashbackMonth.objects.filter(month=month, status=MonthStatus.WAITING_FX)
        if seller_ids is not None:
            still_waiting = still_waiting.filter(seller_id__in=seller_ids)
        for seller_id in still_waiting.values_list("seller_id", flat=True):
            to_close.setdefault(seller_id, (0, 0, 0, None))
        table = tier_table_for(month)
        plans = dict(
            sellers_with_plan_at(at=month_bounds(month)[1] - timedelta(microseconds=1))
            .filter(pk__in=list(to_close))
            .values_list("pk", "plan")
        )
        waiting = {s: t for s, t in to_close.items() if t[2]}
        closing = {s: t for s, t in to_close.items() if not t[2]}
        rows = []
        for seller_id, (count, gmv_cents, _, _) in closing.items():
            gmv = Decimal(gmv_cents or 0) / 100
            tier_rate, bonus = table.rates(gmv, plans.get(seller_id, Plan.MONTHLY))
            rate = tier_rate + bonus
            total = percent_of(gmv, rate)
            rows.append(
                CashbackMonth(
                    seller_id=seller_id,
                    month=month,
                    status=MonthStatus.CLOSED,
                    plan=plans.get(seller_id, Plan.MONTHLY),
                    orders_count=count,
                    gmv_usd=gmv,
                    tier_rate=tier_rate,
                    bonus_rate=bonus,
                    rate=rate,
                    total=total,
                    pending_total=total,  # the shares add up to it exactly, all pending
                    closed_at=now,
                )
            )
        try:
            with transaction.atomic():
                for seller_id, (count, _, _missing, example) in waiting.items():
                    CashbackMonth.objects.update_or_create(
                        seller_id=seller_id,
                        month=month,
                        status=MonthStatus.WAITING_FX,
                        defaults={
                            "waiting_for": f"FX rate {example}",
                            "orders_count": count,
                            # what is known so far: the orders whose rate exists
                            "gmv_usd": Decimal(waiting[seller_id][1] or 0) / 100,
                        },
                    )
                CashbackMonth.objects.filter(
                    month=month, status=MonthStatus.WAITING_FX, seller_id__in=list(closing)
                ).delete()
                CashbackMonth.objects.bulk_create(rows)
                closing = [m.pk for m in rows]
                created = _insert_shares(params, seller_ids, closing)
                _check_shares(closing)
                late = _insert_late_additions(params, seller_ids, closed_before)
                late_waiting = _note_late_orders_waiting(month, totals, closed_before)
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            # Another run closed these months a moment ago: its result stands.
            counts["months_closed_elsewhere"] += len(rows)
            return
    counts["months_waiting_fx"] += len(waiting)
    counts["late_orders_waiting_fx"] += late_waiting
    counts["months_closed"] += len(rows)
    counts["accruals"] += created
    counts["late_accruals"] += late


def _note_late_orders_waiting(month: date, totals: dict, closed_before: set[int]) -> int:
    """A closed month whose late orders wait for an FX rate says so, until the rate comes;
    they are never dropped silently. Returns how many orders wait."""
    waiting = {s: t for s, t in totals.items() if s in closed_before and t[2]}
    for seller_id, (_count, _cents, _missing, example) in waiting.items():
        CashbackMonth.objects.filter(seller_id=seller_id, month=month).update(
            waiting_for=f"Late orders wait for FX rate {example}"
        )
    CashbackMonth.objects.filter(
        month=month, status=MonthStatus.CLOSED, seller_id__in=closed_before - set(waiting)
    ).exclude(waiting_for="").update(waiting_for="")
    return sum(t[2] for t in waiting.values())


def _check_shares(month_ids: list[int]) -> None:
    """Each month just closed shares exactly the GMV its total was computed on."""
    for closed in CashbackMonth.objects.filter(pk__in=month_ids).annotate(
        accrued=Sum("accruals__gmv_usd")
    ):
        if cents(closed.accrued) != closed.gmv_usd:
            raise _MonthMoved


def _insert_shares(params: dict, seller_ids, month_ids: list[int]) -> int:
    """The accruals of the months just closed (`month_ids`), each listed as pending: each
    order's share of its month's total, rounded down to the cent, the cents left over going
    to the largest remainders (ties by order id), so that the shares add up to the total
    exactly. A month just closed has none of its orders accrued yet."""
    if not month_ids:
        return 0
    params = {**params, "closing": _id_list(month_ids)}
    shares = f"""
        WITH counted AS (
            SELECT o.id AS order_id, o.seller_id, o.delivered_at, o.refunded_amount,
                   {_sql_gmv_cents()} AS gmv_cents
            {_sql_counting_orders(_seller_filter("o.seller_id", seller_ids))}
              AND (o.currency = %(usd)s OR fx.id IS NOT NULL)
        ),
        closing AS (
            SELECT id AS month_id, seller_id, {sql_cents("total")} AS total_cents
            FROM cashback_cashbackmonth WHERE {_sql_among("id", "closing")}
        ),
        shares AS (
            SELECT c.order_id, c.seller_id, c.delivered_at, c.refunded_amount, c.gmv_cents,
                   m.month_id, m.total_cents,
                   SUM(c.gmv_cents) OVER (PARTITION BY c.seller_id) AS month_gmv
            FROM counted c JOIN closing m ON m.seller_id = c.seller_id
        ),
        split AS (
            SELECT s.*,
                   CASE WHEN month_gmv = 0 THEN 0
                        ELSE {sql_muldiv("gmv_cents", "total_cents", "month_gmv")}
                   END AS floor_cents,
                   CASE WHEN month_gmv = 0 THEN 0
                        ELSE {sql_mulmod("gmv_cents", "total_cents", "month_gmv")} END AS remainder
            FROM shares s
        ),
        ranked AS (
            SELECT p.*,
                   ROW_NUMBER() OVER (PARTITION BY p.seller_id
                                      ORDER BY p.remainder DESC, p.order_id) AS place,
                   p.total_cents - SUM(p.floor_cents) OVER (PARTITION BY p.seller_id) AS leftover
            FROM split p
        )"""
    accrue = f"""
        INSERT INTO cashback_accrual
            (month_id, seller_id, order_id, gmv_usd, amount, refunded_at_close, late, due_at,
             status, created_at)
        SELECT month_id, seller_id, order_id, {sql_from_cents("gmv_cents")},
               {sql_from_cents("floor_cents + CASE WHEN place <= leftover THEN 1 ELSE 0 END")},
               refunded_amount, FALSE, {_sql_plus_days("delivered_at", DUE_AFTER.days)},
               'pending', %(now)s
        FROM ranked"""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Listed as pending in the same statement: each accrual written, and no other.
            cursor.execute(
                f"""{shares},
                    accrued AS ({accrue} RETURNING id, seller_id, due_at)
                    INSERT INTO cashback_pendingaccrual (accrual_id, seller_id, due_at)
                    SELECT id, seller_id, due_at FROM accrued""",
                params,
            )
            return cursor.rowcount
        cursor.execute(shares + accrue, params)
    _insert_pending(f"{_sql_among('a.month_id', 'closing')}", params)
    # SQLite does not count the rows of an INSERT that starts with WITH.
    return Accrual.objects.filter(month_id__in=month_ids).count()


def _insert_late_additions(params: dict, seller_ids, closed_before: set[int]) -> int:
    """Orders of a month closed before, delivered in it but known only now: accrued at the
    month's closed rate, rounded half up, as late additions."""
    if not closed_before:
        return 0
    gmv = _sql_gmv_cents()
    late_share = sql_percent_of_cents(f"({gmv})", "m.rate")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO cashback_accrual
                (month_id, seller_id, order_id, gmv_usd, amount, refunded_at_close, late,
                 due_at, status, created_at)
            SELECT m.id, o.seller_id, o.id, {sql_from_cents(gmv)},
                   {sql_from_cents(late_share)},
                   o.refunded_amount, TRUE, {_sql_plus_days("o.delivered_at", DUE_AFTER.days)},
                   'pending', %(now)s
            FROM orders_order o
            JOIN cashback_cashbackmonth m
              ON m.seller_id = o.seller_id AND m.month = %(month)s AND m.status = 'closed'
             AND m.closed_at < %(now)s
            LEFT JOIN cashback_fxrate fx
                   ON fx.currency = o.currency AND fx.date = {_sql_local_date("o.delivered_at")}
            LEFT JOIN cashback_accrual a ON a.order_id = o.id
            WHERE o.fulfillment_channel = %(channel)s AND o.status = %(delivered)s
              AND o.tracking_number <> '' AND o.delivered_at >= %(start)s
              AND o.delivered_at < %(end)s AND a.id IS NULL
              AND (o.currency = %(usd)s OR fx.id IS NOT NULL)
              {_seller_filter("o.seller_id", seller_ids)}
            RETURNING id""",
            params,
        )
        late = [pk for (pk,) in cursor.fetchall()]
    if late:
        _insert_pending(_sql_among("a.id", "ids"), {"ids": _id_list(late)})
    _count_into_months(late, pending="amount", late="amount")
    return len(late)


def _insert_pending(where: str, params: dict) -> None:
    """The accruals just written (those the condition `where` on cashback_accrual a
    selects) are pending until crediting resolves them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO cashback_pendingaccrual (accrual_id, seller_id, due_at)
                SELECT a.id, a.seller_id, a.due_at FROM cashback_accrual a WHERE {where}""",
            params,
        )


def _count_into_months(accruals: list[int], **sums: str) -> None:
    """Add to the totals of the accruals' months the sums of the given expressions over
    them ({total without `_total`: expression of a row of cashback_accrual}), in the
    transaction that changed them. The months are locked in id order first, so that two
    runs adding to the same months wait for each other instead of deadlocking."""
    if not accruals:
        return
    ids = {"ids": _id_list(accruals)}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # SQLite writes one transaction at a time
            cursor.execute(
                f"""SELECT id FROM cashback_cashbackmonth
                    WHERE id IN (SELECT month_id FROM cashback_accrual
                                 WHERE {_sql_among("id", "ids")})
                    ORDER BY id FOR UPDATE""",
                ids,
            )
        sets = ", ".join(f"{name}_total = ROUND({name}_total + d.{name}, 2)" for name in sums)
        selects = ", ".join(f"SUM({expression}) AS {name}" for name, expression in sums.items())
        cursor.execute(
            f"""UPDATE cashback_cashbackmonth SET {sets}
                FROM (SELECT month_id, {selects} FROM cashback_accrual
                      WHERE {_sql_among("id", "ids")} GROUP BY month_id) d
                WHERE cashback_cashbackmonth.id = d.month_id""",
            ids,
        )


def sellers_to_close(*, as_of: datetime) -> list[int]:
    """Sellers with counting orders of ended months not accrued yet, or a month waiting for
    an FX rate, and those the close is stuck on."""
    current = month_start(as_of)
    with_orders = (
        Order.objects.filter(COUNTING, accrual__isnull=True, delivered_at__lt=current)
        .order_by()  # no default ordering in the DISTINCT: one row a seller
        .values_list("seller_id", flat=True)
        .distinct()
    )
    waiting = CashbackMonth.objects.filter(
        status=MonthStatus.WAITING_FX, month__lt=current.date()
    ).values_list("seller_id", flat=True)
    return sorted(set(with_orders) | set(waiting) | sellers_stuck_on("close_month"))


# Crediting ----------------------------------------------------------------------------------


def credit_cashback(
    *, as_of: datetime, batch_size: int = 20000, seller_ids: list[int] | None = None
) -> Counter:
    """Credit every accrual that is due, of a closed month: void it if its order was
    returned since the close, lower it in proportion to a refund since, credit the rest to
    the wallet. The due ones are taken in batches, in id order (a seller's together, as the
    close writes them), each in its own transaction with its wallet entries and its months'
    totals, so that a crash half way leaves each accrual either credited once or still
    pending. Two runs at once credit each accrual once: a run resolves only accruals still
    listed as pending, under their row locks, and one held by another run is waited for,
    then found resolved. A batch that fails is done again one seller at a time, so that a
    seller whose crediting fails stops no one else's (it stays pending for the next run)."""
    scope = f"{len(seller_ids)} sellers" if seller_ids is not None else ""
    with recorded("credit_cashback", as_of=as_of, scope=scope, done_for=seller_ids) as counts:
        wallets_open(set(sellers_to_credit(as_of=as_of, seller_ids=seller_ids)))
        bounds = _batch_bounds(as_of=as_of, seller_ids=seller_ids, size=batch_size)
        for after, last in zip([None, *bounds], [*bounds, None], strict=True):
            _credit_batch_contained(
                as_of=as_of, seller_ids=seller_ids, after=after, last=last, counts=counts
            )
    return counts


def _credit_batch_contained(*, as_of: datetime, seller_ids, after, last, counts: RunCounts):
    def credit(sellers: list[int] | None) -> Counter:
        done: Counter = Counter()
        _credit_batch(as_of=as_of, seller_ids=sellers, after=after, last=last, counts=done)
        return done

    def sellers_due() -> list[int]:
        due = PendingAccrual.objects.filter(due_at__lte=as_of)
        if after is not None:
            due = due.filter(accrual_id__gt=after)
        if last is not None:
            due = due.filter(accrual_id__lte=last)
        if seller_ids is not None:
            due = due.filter(seller_id__in=seller_ids)
        return sorted(due.order_by().values_list("seller_id", flat=True).distinct())

    for_all_or_each_seller(
        counts,
        seller_ids=seller_ids,
        all_at_once=credit,
        sellers=sellers_due,
        one_seller=lambda seller_id: credit([seller_id]),
        work="crediting its due cashback",
        name=seller_label,
    )


# What resolving pending accruals moves in their months' totals.
RESOLVED_SUMS = {
    "pending": "-amount",
    "credited": "CASE WHEN status = 'credited' THEN credited_amount ELSE 0 END",
    "lowered": "CASE WHEN status = 'credited' THEN amount - credited_amount ELSE 0 END",
    "voided": "CASE WHEN status = 'voided' THEN amount ELSE 0 END",
}


def _sql_batch(*, after: int | None, last: int | None, seller_ids) -> str:
    """The pending accruals (cashback_pendingaccrual p) due by %(as_of)s, after the accrual
    `after` and up to the accrual `last` (ids, either None for no bound). In id order, a
    batch holds few sellers (the close writes a seller's accruals together), whose months
    and wallets it moves."""
    parts = ["p.due_at <= %(as_of)s"]
    if after is not None:
        parts.append("p.accrual_id > %(after)s")
    if last is not None:
        parts.append("p.accrual_id <= %(last)s")
    return " AND ".join(parts) + " " + _seller_filter("p.seller_id", seller_ids)


def _batch_params(*, as_of: datetime, seller_ids, after=None, last=None) -> dict:
    params = {"as_of": _instant(as_of), "pending": AccrualStatus.PENDING}
    if seller_ids is not None:
        params.update({f"s{i}": s for i, s in enumerate(seller_ids)})
    return {**params, "after": after, "last": last}


def _batch_bounds(*, as_of: datetime, seller_ids, size: int) -> list[int]:
    """The id of every `size`-th accrual due and pending, in id order: where the batches of
    a run end (the last one takes all after the last bound, those written since included)."""
    batch = _sql_batch(after=None, last=None, seller_ids=seller_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT accrual_id FROM (
                    SELECT p.accrual_id, ROW_NUMBER() OVER (ORDER BY p.accrual_id) AS place
                    FROM cashback_pendingaccrual p WHERE {batch}) due
                WHERE place %% %(size)s = 0 ORDER BY accrual_id""",
            {**_batch_params(as_of=as_of, seller_ids=seller_ids), "size": size},
        )
        return [pk for (pk,) in cursor.fetchall()]


def _credit_batch(*, as_of: datetime, seller_ids, after, last, counts: Counter) -> None:
    """Resolve the pending accruals of a batch: each voided if its order was returned, else
    credited its `credited_share`; no longer pending, their months' totals moved, and a
    wallet entry for each one credited above zero, in one transaction (on PostgreSQL, one
    statement)."""
    batch = _sql_batch(after=after, last=last, seller_ids=seller_ids)
    params = {
        **_batch_params(as_of=as_of, seller_ids=seller_ids, after=after, last=last),
        **wallet_posting_params(EntryKind.CASHBACK),
        "now": _instant(timezone.now()),
        "returned": OrderStatus.RETURNED,
        "voided": AccrualStatus.VOIDED,
        "credited": AccrualStatus.CREDITED,
        "reference": CREDIT_REFERENCE,
    }
    columns = ("id", "seller_id", "month_id", "status", "amount", "credited_amount")
    # The status is checked again: resolved is resolved, whatever the pending row says.
    resolve = f"""
        UPDATE cashback_accrual
        SET status = CASE WHEN o.status = %(returned)s THEN %(voided)s ELSE %(credited)s END,
            credited_amount = CASE WHEN o.status = %(returned)s THEN NULL
                                   ELSE {_sql_credited_share()} END,
            resolved_at = %(now)s
        FROM orders_order o
        WHERE o.id = cashback_accrual.order_id AND cashback_accrual.status = %(pending)s
          AND {{batch}}"""
    sums = ", ".join(f"SUM({expression}) AS {name}" for name, expression in RESOLVED_SUMS.items())
    sets = ", ".join(f"{name}_total = ROUND({name}_total + d.{name}, 2)" for name in RESOLVED_SUMS)
    months = f"""
        UPDATE cashback_cashbackmonth SET {sets}
        FROM (SELECT month_id, {sums} FROM resolved GROUP BY month_id) d
        WHERE cashback_cashbackmonth.id = d.month_id"""
    postings = """
        SELECT seller_id, credited_amount AS amount, %(reference)s || id AS reference,
               'Order Cashback for order ' || external_id AS description, id AS position
        FROM resolved WHERE status = %(credited)s AND credited_amount > 0"""
    outcome = """
        SELECT COUNT(CASE WHEN status = %(credited)s THEN 1 END),
               COUNT(CASE WHEN status = %(credited)s AND credited_amount < amount THEN 1 END),
               COUNT(CASE WHEN status = %(voided)s THEN 1 END)
        FROM resolved"""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Locks are taken in one order, so that two runs wait for each other instead of
            # deadlocking: the months (by id) and the wallets (by seller) the batch moves,
            # then, in one statement, its pending rows, which a run that comes second finds
            # gone, and their accruals. A month or wallet is read after its lock.
            # The accruals (and their orders, below) are read by id: the planner, counting
            # the batch's rows among a million, would rather read them all than a few
            # thousand by their index.
            cursor.execute(
                f"""SELECT id FROM cashback_cashbackmonth
                    WHERE id IN (SELECT month_id FROM cashback_accrual WHERE id = ANY(ARRAY(
                        SELECT p.accrual_id FROM cashback_pendingaccrual p WHERE {batch})))
                    ORDER BY id FOR UPDATE""",
                params,
            )
            wallets_lock(
                sellers=f"SELECT p.seller_id FROM cashback_pendingaccrual p WHERE {batch}",
                params=params,
            )
            claimed = "ARRAY(SELECT accrual_id FROM claimed)"
            cursor.execute(
                f"""
                WITH claimed AS (
                    DELETE FROM cashback_pendingaccrual p WHERE {batch} RETURNING p.accrual_id),
                resolved AS (
                    {resolve.format(batch=f"cashback_accrual.id = ANY({claimed})")}
                    RETURNING {", ".join(f"cashback_accrual.{c}" for c in columns)},
                              o.external_id),
                months AS ({months}),
                posting AS ({postings}),
                {wallet_posting_ctes(postings="posting")}
                {outcome}""",
                params,
            )
            outcomes = cursor.fetchone()
        else:
            # SQLite runs one writing transaction at a time: the accruals of the batch's
            # pending rows that are resolved now are this batch's.
            in_batch = f"IN (SELECT p.accrual_id FROM cashback_pendingaccrual p WHERE {batch})"
            cursor.execute(resolve.format(batch=f"cashback_accrual.id {in_batch}"), params)
            resolved = f"""
                WITH resolved AS (
                    SELECT {", ".join(f"a.{c}" for c in columns)}, o.external_id
                    FROM cashback_accrual a JOIN orders_order o ON o.id = a.order_id
                    WHERE a.id {in_batch} AND a.status <> %(pending)s)"""
            cursor.execute(resolved + months, params)
            cursor.execute(resolved + " SELECT DISTINCT seller_id FROM resolved", params)
            wallet_post_rows(
                kind=EntryKind.CASHBACK,
                seller_ids={seller_id for (seller_id,) in cursor.fetchall()},
                rows=resolved + postings,
                params=params,
            )
            cursor.execute(resolved + outcome, params)
            outcomes = cursor.fetchone()
            cursor.execute(f"DELETE FROM cashback_pendingaccrual AS p WHERE {batch}", params)
    credited, lowered, voided = outcomes
    counts["credited"] += credited
    counts["lowered"] += lowered
    counts["voided"] += voided


def _id_list(ids: list[int]):
    """A list of ids as the parameter of `_sql_among`."""
    return ids if connection.vendor == "postgresql" else json.dumps(ids)


def _sql_among(column: str, param: str) -> str:
    """`column` is one of the ids in the parameter `param`, a list: each read by index."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%({param})s)"
    return f"{column} IN (SELECT value FROM json_each(%({param})s))"


def _sql_credited_share() -> str:
    """`credited_share` in SQL, of a row of cashback_accrual and its order o: in whole cents,
    exact on PostgreSQL and SQLite alike (the tests hold the two to the same amounts)."""
    amount = sql_cents("cashback_accrual.amount")
    at_close = sql_cents("cashback_accrual.refunded_at_close")
    refunded = sql_cents("o.refunded_amount")
    base = f"({sql_cents('o.net_product_price')} - {sql_cents('o.seller_funded_discount')})"
    was = f"({base} - {at_close})"
    kept = f"({base} - {refunded})"
    return f"""CASE WHEN {refunded} <= {at_close} THEN cashback_accrual.amount
                    WHEN {was} <= 0 THEN 0
                    ELSE {sql_from_cents(sql_muldiv(amount, kept, was, half_up=True))} END"""


def credited_share(
    *, amount: Decimal, base: Decimal, refunded: Decimal, refunded_at_close: Decimal
) -> Decimal:
    """What of an accrued share is credited: all of it, or, when the order was partly
    refunded since the close, the same proportion of it as the order kept, rounded half up.
    The rule as people read it; crediting computes it in SQL (`_sql_credited_share`), and
    the tests hold the two to the same amounts."""
    if refunded <= refunded_at_close:
        return amount
    was = base - refunded_at_close
    if was <= 0:
        return ZERO
    with exact():
        return round_money(amount * (base - refunded) / was)


def sellers_to_credit(*, as_of: datetime, seller_ids: list[int] | None = None) -> list[int]:
    """The sellers with accruals due and pending (among `seller_ids`, if given), and those
    crediting is stuck on."""
    due = PendingAccrual.objects.filter(due_at__lte=as_of)
    stuck = sellers_stuck_on("credit_cashback")
    if seller_ids is not None:
        due = due.filter(seller_id__in=seller_ids)
        stuck &= set(seller_ids)
    return sorted(set(due.values_list("seller_id", flat=True).distinct()) | stuck)


# Reconciliation -----------------------------------------------------------------------------


def cashback_mismatches() -> list[str]:
    """Each closed month whose shares (late additions aside) do not add up to its total,
    or whose stored totals are not what became of its accruals; each accrual credited other
    than once; each pending accrual not listed as pending, and the other way round."""
    problems = []
    paid = Q(accruals__status=AccrualStatus.CREDITED)
    for month in CashbackMonth.objects.annotate(
        shares=Sum("accruals__amount", filter=Q(accruals__late=False)),
        pending=Sum("accruals__amount", filter=Q(accruals__status=AccrualStatus.PENDING)),
        credited=Sum("accruals__credited_amount", filter=paid),
        lowered=Sum(F("accruals__amount") - F("accruals__credited_amount"), filter=paid),
        voided=Sum("accruals__amount", filter=Q(accruals__status=AccrualStatus.VOIDED)),
        late=Sum("accruals__amount", filter=Q(accruals__late=True)),
    ).order_by("pk"):
        name = f"month {month.month:%Y-%m} of seller {month.seller_id}"
        if month.status == MonthStatus.CLOSED and cents(month.shares) != month.total:
            problems.append(
                f"{name}: shares add up to {cents(month.shares)}, its total is {month.total}"
            )
        for total in ("pending", "credited", "lowered", "voided", "late"):
            stored, summed = getattr(month, f"{total}_total"), cents(getattr(month, total))
            if stored != summed:
                problems.append(f"{name}: {total} is {stored}, its accruals say {summed}")
    credited = {
        reference: (n, paid)
        for reference, n, paid in WalletEntry.objects.filter(reference__startswith=CREDIT_REFERENCE)
        .values_list("reference")
        .annotate(n=Count("id"), paid=Sum("amount"))
    }
    credited_ids = set()
    for pk, amount in Accrual.objects.filter(
        status=AccrualStatus.CREDITED, credited_amount__gt=0
    ).values_list("pk", "credited_amount"):
        credited_ids.add(pk)
        n, paid = credited.get(f"{CREDIT_REFERENCE}{pk}", (0, None))
        if n != 1:
            problems.append(f"accrual {pk} is credited in {n} wallet entries, not 1")
        elif cents(paid) != amount:
            problems.append(f"accrual {pk} credited {amount}, its wallet entry pays {cents(paid)}")
    for ref in credited:
        if int(ref.split(":")[1]) not in credited_ids:
            problems.append(f"wallet entry {ref} credits an accrual that is not credited")
    # Crediting finds pending accruals by their pending rows: one each, due when they are.
    listed = dict(PendingAccrual.objects.values_list("accrual_id", "due_at"))
    for pk, due_at in Accrual.objects.filter(status=AccrualStatus.PENDING).values_list(
        "pk", "due_at"
    ):
        if listed.pop(pk, None) != due_at:
            problems.append(f"accrual {pk} is pending, but not listed as due {due_at:%Y-%m-%d}")
    for pk in listed:
        problems.append(f"accrual {pk} is listed as pending, but is not")
    return problems
