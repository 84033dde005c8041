"""The benchmark: the project's hot paths against raw PostgreSQL doing the same work.

Each scenario is timed with its baseline in the same run (a warm-up, then the median of
several runs), and judged by the ratio, which holds where absolute times drift. The data
set is built with set-based SQL, deterministically, for PostgreSQL only.
"""

import http.client
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent
# Pages are rendered in this process, where collectstatic's manifest may not exist.
IN_PROCESS = {
    "ROOT_URLCONF": "bench.urls",
    "ALLOWED_HOSTS": ["*"],
    "STORAGES": {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    },
}
# The data lives in two whole months; everything is due long before the crediting instant.
MONTHS = (date(2025, 11, 1), date(2025, 12, 1))
CLOSE_AS_OF = datetime(2026, 1, 1, 12, tzinfo=UTC)
CREDIT_AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
BIG_SHARE = 0.1  # of the orders, held by one seller


@dataclass
class Result:
    scenario: str
    project: float
    baseline: float
    unit: str  # what the numbers are: "s" (a job's time) or "ms p95" or "orders/s"
    target: str
    met: bool
    ratio: float = 0.0
    detail: dict = field(default_factory=dict)


def median_time(run: Callable[[], None], *, runs: int, reset: Callable[[], None] | None = None):
    """A warm-up, then the median of `runs` timed runs; `reset` puts the data back between."""
    times = []
    for n in range(runs + 1):
        if reset:
            reset()
        started = time.perf_counter()
        run()
        if n:  # the first run warms caches and connections up
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def p95_ms(request: Callable[[], None], *, count: int) -> float:
    request()  # warm-up
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        request()
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 95)


def percentile(samples: list[float], p: int) -> float:
    """The sample below which p % of them lie (nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * p / 100) - 1)]


class Statements:
    """The statements a piece of work runs, timed, each with the plan PostgreSQL chose for
    it just before its first run: `with connection.execute_wrapper(statements): ...`."""

    EXPLAINABLE = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")

    def __init__(self) -> None:
        self.seen: dict[str, dict] = {}
        self.explaining = False

    def __call__(self, execute, statement, params, many, context):
        if self.explaining:  # the EXPLAIN itself
            return execute(statement, params, many, context)
        entry = self.seen.get(statement)
        if entry is None:
            entry = self.seen[statement] = {"total": 0.0, "calls": 0, "plan": ""}
            verb = statement.lstrip().split(None, 1)[0].upper()
            if verb in self.EXPLAINABLE and not many:
                self.explaining = True
                try:
                    entry["plan"] = explain(statement, params)
                finally:
                    self.explaining = False
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            entry["total"] += time.perf_counter() - started
            entry["calls"] += 1

    def slowest(self, count: int) -> list[dict]:
        ranked = sorted(
            ((statement, e) for statement, e in self.seen.items() if e["plan"]),
            key=lambda item: item[1]["total"],
            reverse=True,
        )
        return [
            {
                "sql": _shorten(" ".join(statement.split())),
                "calls": e["calls"],
                "total_ms": round(e["total"] * 1000, 1),
                "plan": "\n".join(_shorten(line) for line in e["plan"].splitlines()),
            }
            for statement, e in ranked[:count]
        ]


def _shorten(text: str) -> str:
    """A statement or plan line with its long lists of parameters or ids cut short."""
    text = re.sub(r"(%s, ){3,}%s", "%s, %s, …, %s", text)
    return re.sub(r"'\{([^}]{60})[^}]*\}'", r"'{\1…}'", text)


def explain(statement: str, params) -> str:
    """The plan PostgreSQL chooses for a statement, without running it."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {statement}", params)
            return "\n".join(row[0] for row in cursor.fetchall())
    except Exception as exc:  # a plan is a report, never a reason to stop the benchmark
        return f"(no plan: {type(exc).__name__}: {exc})"


def sql(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or {})


def scalar(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params or {})
        return cursor.fetchone()[0]


class Bench:
    def __init__(
        self,
        *,
        sellers: int,
        orders: int,
        runs: int,
        out,
        progress: bool = True,
        broker: str = "redis://127.0.0.1:6379/0",
    ):
        if connection.vendor != "postgresql":
            raise RuntimeError("The benchmark measures against PostgreSQL: set DATABASE_URL.")
        if sellers < 2:
            raise RuntimeError("The benchmark needs at least 2 sellers.")
        self.sellers, self.orders, self.runs, self.out = sellers, orders, runs, out
        self.progress = progress
        self.broker = broker
        self.results: list[Result] = []
        self.plans: dict[str, list[dict]] = {}

    def explained(self, name: str, work: Callable[[], None], *, count: int = 3) -> None:
        """Run `work` once more, untimed, and keep the plans of its slowest statements."""
        statements = Statements()
        with connection.execute_wrapper(statements):
            work()
        self.plans[name] = statements.slowest(count)

    def say(self, text: str) -> None:
        self.out.write(text)

    def step(self, done: int, total: int, label: str) -> None:
        if self.progress:
            filled = int(30 * done / total)
            self.out.write(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {label}", ending=""
            )
            if done == total:
                self.out.write("")

    # The data set ------------------------------------------------------------------------

    def build(self) -> None:
        """Sellers (a third yearly), two months of delivered orders (one seller holding a
        tenth), EUR orders with their FX rates, the big seller in the Bonus Cashback Program
        with its voucher orders charged and settled."""
        from cashback.models import Campaign
        from cashback.services import Actor, campaign_create, registration_create
        from fees.services import settle_fees
        from sellers.models import Seller, User

        steps = 7
        self.step(0, steps, "clearing")
        sql(
            "TRUNCATE orders_order, orders_orderitem, orders_orderevent, fees_feeentry, "
            "fees_settledrecord, fees_settledrecordline, cashback_accrual, "
            "cashback_pendingaccrual, cashback_cashbackmonth, wallet_walletentry, wallet_wallet, "
            "cashback_fxrate, core_jobrun RESTART IDENTITY CASCADE"
        )
        sql(
            "DELETE FROM sellers_apikey WHERE seller_id IN "
            "(SELECT id FROM sellers_seller WHERE slug LIKE 'bench-%%')"
        )
        self.step(1, steps, "sellers")
        sql(
            "INSERT INTO sellers_seller (name, slug, created_at) "
            "SELECT 'Bench shop ' || g, 'bench-' || g, now() "
            "FROM generate_series(1, %(n)s) g ON CONFLICT (slug) DO NOTHING",
            {"n": self.sellers},
        )
        sql(
            "INSERT INTO sellers_planchange (seller_id, plan, effective_at, reason, created_at) "
            "SELECT s.id, CASE WHEN s.id %% 3 = 0 THEN 'yearly' ELSE 'monthly' END, "
            "'2020-01-01', 'bench', now() FROM sellers_seller s WHERE s.slug LIKE 'bench-%%' "
            "AND NOT EXISTS (SELECT 1 FROM sellers_planchange p WHERE p.seller_id = s.id)"
        )
        self.big = Seller.objects.get(slug="bench-1")
        self.step(2, steps, "orders")
        start = datetime.combine(MONTHS[0], datetime.min.time(), UTC) + timedelta(hours=12)
        span = int(
            (
                datetime.combine(MONTHS[1], datetime.min.time(), UTC) + timedelta(days=27) - start
            ).total_seconds()
        )
        big = int(self.orders * BIG_SHARE)
        sql(
            """
            WITH s AS (SELECT array_agg(id ORDER BY id) AS ids FROM sellers_seller
                       WHERE slug LIKE 'bench-%%' AND id <= (SELECT max(id) FROM sellers_seller))
            INSERT INTO orders_order
              (seller_id, external_id, placed_at, currency, net_product_price,
               seller_funded_discount, bonus_cashback_voucher, campaign_slug,
               fulfillment_channel, tracking_number, status, paid_at, shipped_at, delivered_at,
               refunded_amount, created_at, updated_at)
            SELECT CASE WHEN g <= %(big)s THEN s.ids[1]
                        ELSE s.ids[2 + (g %% (array_length(s.ids, 1) - 1))] END,
                   'B-' || g, t,
                   CASE WHEN g %% 10 = 0 THEN 'EUR' ELSE 'USD' END,
                   round((10 + (g::bigint * 7919 %% 40000) / 100.0)::numeric, 2), 0,
                   g %% 2 = 0, '',
                   CASE WHEN g %% 5 = 0 THEN 'seller' ELSE 'order_center' END,
                   'T' || g, 'delivered', t + interval '1 hour', t + interval '1 day',
                   t + interval '2 days', 0, now(), now()
            FROM generate_series(1, %(orders)s) g CROSS JOIN s,
                 LATERAL (SELECT %(start)s::timestamptz
                                 + ((g::bigint * 104729) %% %(span)s) * interval '1 second'
                          AS t) x
            """,
            {"big": big, "orders": self.orders, "start": start, "span": span},
        )
        self.step(3, steps, "FX rates")
        sql(
            "INSERT INTO cashback_fxrate (currency, date, rate_to_usd, created_at) "
            "SELECT 'EUR', d::date, 1.08 + (extract(day from d) / 1000), now() "
            "FROM generate_series(%(a)s::date - 5, %(b)s::date + 40, interval '1 day') d",
            {"a": MONTHS[0], "b": MONTHS[1]},
        )
        self.step(4, steps, "campaign")
        campaign = Campaign.objects.filter(slug="bench-bonus").first() or campaign_create(
            slug="bench-bonus",
            name="Bench Bonus Cashback",
            fee_rate="3",
            terms="Bench terms.",
            registration_opens_at=datetime(2020, 1, 1, tzinfo=UTC),
            now=datetime(2020, 1, 1, tzinfo=UTC),
        )
        user = User.objects.filter(username="bench-owner").first() or User.objects.create_user(
            username="bench-owner", password="bench-owner", seller=self.big
        )
        self.user = user
        if not self.big.registrations.exists():
            registration_create(
                seller=self.big,
                campaign=campaign,
                agree_to_terms=True,
                actor=Actor.seller_user(user),
                now=datetime(2020, 1, 2, tzinfo=UTC),
            )
        self.step(5, steps, "fees")
        sql(
            "INSERT INTO orders_orderevent (order_id, event_id, type, occurred_at, amount, "
            "payload, received_at) SELECT id, '', 'delivered', delivered_at, NULL, '{}', now() "
            "FROM orders_order WHERE seller_id = %(big)s AND bonus_cashback_voucher",
            {"big": self.big.pk},
        )
        registration = self.big.registrations.get()
        sql(
            """INSERT INTO fees_feeentry (seller_id, order_id, order_event_id, kind, amount,
                   currency, campaign_id, registration_id, rate, fee_base, refunded_base,
                   completes_return, occurred_at, created_at)
               SELECT o.seller_id, o.id, e.id, 'charge',
                      round((o.net_product_price - o.seller_funded_discount) * 0.03, 2),
                      o.currency, %(campaign)s, %(registration)s, 3,
                      o.net_product_price - o.seller_funded_discount, NULL, FALSE,
                      e.occurred_at, now()
               FROM orders_orderevent e JOIN orders_order o ON o.id = e.order_id
               WHERE e.type = 'delivered' AND o.seller_id = %(big)s""",
            {
                "campaign": registration.campaign_id,
                "registration": registration.pk,
                "big": self.big.pk,
            },
        )
        settle_fees(as_of=CLOSE_AS_OF, seller_ids=[self.big.pk])
        self.step(6, steps, "statistics")
        sql("ANALYZE")
        self.step(7, steps, "ready")

    # Scenarios -----------------------------------------------------------------------------

    def reset_close(self) -> None:
        sql("TRUNCATE cashback_accrual, cashback_cashbackmonth RESTART IDENTITY CASCADE")

    def scenario_close(self) -> None:
        from cashback.order_cashback import close_months

        project = median_time(
            lambda: close_months(as_of=CLOSE_AS_OF), runs=self.runs, reset=self.reset_close
        )
        baseline = median_time(self.baseline_close, runs=self.runs, reset=self.reset_close)
        self.record(
            "month close", project, baseline, "s", "<= 2 x baseline", lambda r: r.ratio <= 2.0
        )
        self.reset_close()
        self.explained("month close", lambda: close_months(as_of=CLOSE_AS_OF))  # for crediting

    def baseline_close(self) -> None:
        """One statement doing the same aggregate and inserts: every counting order's GMV,
        each seller-month's total at its tier written as a closed month, and the shares
        split by largest remainder written as its accruals, each listed as pending, into the
        same tables."""
        sql(
            """
            WITH o AS (
                SELECT o.id, o.seller_id, o.delivered_at, o.refunded_amount,
                       date_trunc('month', o.delivered_at)::date AS month,
                       ROUND((o.net_product_price - o.seller_funded_discount
                              - o.refunded_amount)
                             * CASE WHEN o.currency = 'USD' THEN 1 ELSE fx.rate_to_usd END
                             * 100) AS gmv
                FROM orders_order o
                LEFT JOIN cashback_fxrate fx
                       ON fx.currency = o.currency AND fx.date = o.delivered_at::date
                WHERE o.fulfillment_channel = 'order_center' AND o.status = 'delivered'
                  AND o.tracking_number <> '' AND o.delivered_at < %(end)s
            ),
            m AS (
                SELECT seller_id, month, COUNT(*) AS orders, SUM(gmv) AS gmv,
                       CASE WHEN SUM(gmv) >= 1000000 THEN 2 WHEN SUM(gmv) >= 300000 THEN 1
                            WHEN SUM(gmv) >= 100000 THEN 0.5 ELSE 0 END AS rate
                FROM o GROUP BY seller_id, month
            ),
            t AS (SELECT *, ROUND(gmv * rate * 0.01) AS total FROM m),
            months AS (
                INSERT INTO cashback_cashbackmonth
                    (seller_id, month, status, waiting_for, plan, orders_count, gmv_usd,
                     tier_rate, bonus_rate, rate, total, pending_total, closed_at, updated_at)
                SELECT seller_id, month, 'closed', '', 'monthly', orders, gmv * 0.01, rate, 0,
                       rate, total * 0.01, total * 0.01, now(), now()
                FROM t
                RETURNING id, seller_id, month
            ),
            s AS (
                SELECT o.*, t.total, t.gmv AS month_gmv,
                       CASE WHEN t.gmv = 0 THEN 0 ELSE DIV(o.gmv * t.total, t.gmv) END AS fl,
                       CASE WHEN t.gmv = 0 THEN 0 ELSE MOD(o.gmv * t.total, t.gmv) END AS rem
                FROM o JOIN t USING (seller_id, month)
            ),
            r AS (
                SELECT s.*,
                       ROW_NUMBER() OVER (PARTITION BY seller_id, month ORDER BY rem DESC, id)
                           AS place,
                       total - SUM(fl) OVER (PARTITION BY seller_id, month) AS leftover
                FROM s
            ),
            accruals AS (
                INSERT INTO cashback_accrual
                    (month_id, seller_id, order_id, gmv_usd, amount, refunded_at_close, late,
                     due_at, status, created_at)
                SELECT months.id, r.seller_id, r.id, r.gmv * 0.01,
                       (fl + CASE WHEN place <= leftover THEN 1 ELSE 0 END) * 0.01,
                       r.refunded_amount, FALSE, r.delivered_at + interval '30 days',
                       'pending', now()
                FROM r JOIN months USING (seller_id, month)
                RETURNING id, seller_id, due_at
            )
            INSERT INTO cashback_pendingaccrual (accrual_id, seller_id, due_at)
            SELECT id, seller_id, due_at FROM accruals
            """,
            {"end": datetime.combine(MONTHS[1], datetime.min.time(), UTC) + timedelta(days=31)},
        )

    def reset_credit(self) -> None:
        sql("TRUNCATE wallet_walletentry, wallet_wallet, cashback_pendingaccrual")
        sql(
            "UPDATE cashback_accrual SET status = 'pending', credited_amount = NULL, "
            "resolved_at = NULL"
        )
        sql(
            "INSERT INTO cashback_pendingaccrual (accrual_id, seller_id, due_at) "
            "SELECT id, seller_id, due_at FROM cashback_accrual"
        )
        sql(
            "UPDATE cashback_cashbackmonth SET pending_total = total + late_total, "
            "credited_total = 0, lowered_total = 0, voided_total = 0"
        )
        # As the close leaves them, whatever ran before: without the dead rows of the runs
        # before (a million an earlier run left behind slow every later one, the baseline's
        # included), and with fresh statistics.
        sql("VACUUM FULL ANALYZE cashback_accrual, cashback_pendingaccrual, cashback_cashbackmonth")

    def scenario_credit(self) -> None:
        from cashback.order_cashback import credit_cashback

        accruals = scalar("SELECT count(*) FROM cashback_accrual")
        project = median_time(
            lambda: credit_cashback(as_of=CREDIT_AS_OF), runs=self.runs, reset=self.reset_credit
        )
        baseline = median_time(self.baseline_credit, runs=self.runs, reset=self.reset_credit)
        rate = accruals / project if project else 0
        self.record(
            "crediting",
            project,
            baseline,
            "s",
            "<= 1.5 x baseline, >= 30,000 accruals/s",
            lambda r: r.ratio <= 1.5 and rate >= 30000,
            detail={"accruals": accruals, "accruals_per_s": round(rate)},
        )
        self.reset_credit()
        # leave the data consistent for reconcile
        self.explained("crediting", lambda: credit_cashback(as_of=CREDIT_AS_OF))

    def baseline_credit(self) -> None:
        """The same work as set-based SQL, in one transaction: each due accrual no longer
        pending, voided if its order was returned, else credited its share (lowered for a
        refund since the close), one wallet entry each for the credited ones with its running
        balance and the order it is for, the wallets' balances and the months' totals."""
        with transaction.atomic():
            sql(
                "INSERT INTO wallet_wallet (seller_id, currency, balance, updated_at) "
                "SELECT DISTINCT seller_id, 'USD', 0, now() FROM cashback_accrual "
                "ON CONFLICT (seller_id) DO NOTHING"
            )
            sql(
                """WITH due_pending AS (
                       DELETE FROM cashback_pendingaccrual WHERE due_at <= %(as_of)s
                       RETURNING accrual_id),
                   due AS (
                       UPDATE cashback_accrual a
                       SET status = CASE WHEN o.status = 'returned' THEN 'voided'
                                         ELSE 'credited' END,
                           credited_amount = CASE
                               WHEN o.status = 'returned' THEN NULL
                               WHEN o.refunded_amount <= a.refunded_at_close THEN a.amount
                               ELSE ROUND(a.amount * (o.net_product_price
                                          - o.seller_funded_discount - o.refunded_amount)
                                          / NULLIF(o.net_product_price - o.seller_funded_discount
                                                   - a.refunded_at_close, 0), 2) END,
                           resolved_at = now()
                       FROM orders_order o, due_pending p
                       WHERE o.id = a.order_id AND a.id = p.accrual_id
                       RETURNING a.id, a.seller_id, a.credited_amount, o.external_id)
                   INSERT INTO wallet_walletentry (wallet_id, kind, amount, balance_after,
                          reference, description, reason, created_at)
                   SELECT w.id, 'cashback', due.credited_amount,
                          SUM(due.credited_amount) OVER (PARTITION BY w.id ORDER BY due.id),
                          'cashback-accrual:' || due.id,
                          'Order Cashback for order ' || due.external_id, '', now()
                   FROM due JOIN wallet_wallet w ON w.seller_id = due.seller_id
                   WHERE due.credited_amount > 0""",
                {"as_of": CREDIT_AS_OF},
            )
            sql(
                "UPDATE wallet_wallet w SET balance = e.total FROM (SELECT wallet_id, "
                "SUM(amount) AS total FROM wallet_walletentry GROUP BY wallet_id) e "
                "WHERE e.wallet_id = w.id"
            )
            sql(
                """UPDATE cashback_cashbackmonth m
                   SET pending_total = m.pending_total - a.resolved,
                       credited_total = m.credited_total + a.credited,
                       lowered_total = m.lowered_total + a.lowered,
                       voided_total = m.voided_total + a.voided
                   FROM (SELECT month_id, SUM(amount) AS resolved,
                                SUM(COALESCE(credited_amount, 0)) AS credited,
                                SUM(CASE WHEN status = 'credited'
                                         THEN amount - credited_amount ELSE 0 END) AS lowered,
                                SUM(CASE WHEN status = 'voided' THEN amount ELSE 0 END)
                                    AS voided
                         FROM cashback_accrual WHERE resolved_at IS NOT NULL
                         GROUP BY month_id) a
                   WHERE a.month_id = m.id"""
            )

    def settle(self) -> None:
        """The database as autovacuum leaves it between jobs: the dead rows of the close and
        the crediting cleared and the statistics fresh, before the request scenarios, whose
        milliseconds would otherwise time the vacuum running beside them."""
        sql("VACUUM ANALYZE")

    def scenario_pages(self) -> None:
        from django.urls import reverse

        from cashback.order_cashback import close_months, credit_cashback, roll_up_months
        from fees.models import SettledRecord

        # The pages as a seller sees them after the close, the crediting and the hourly
        # roll-up of the month so far, whichever scenarios ran before (bulk ingestion
        # delivers orders this month, which beat would have rolled up within the hour).
        if not scalar("SELECT EXISTS (SELECT 1 FROM cashback_accrual)"):
            close_months(as_of=CLOSE_AS_OF)
        if not scalar("SELECT EXISTS (SELECT 1 FROM wallet_walletentry)"):
            credit_cashback(as_of=CREDIT_AS_OF)

        roll_up_months(as_of=timezone.now())
        self.settle()
        client = Client()
        client.force_login(self.user)
        deep = self.deep_cursor()
        record = SettledRecord.objects.filter(seller=self.big).order_by("-orders_count").first()
        pages = {
            "orders, first page": reverse("seller:orders"),
            "orders, deep page": f"{reverse('seller:orders')}?cursor={deep}",
            "settled record details": reverse("seller:settled-record", args=[record.pk]),
            "Order Cashback Dashboard": reverse("seller:order-cashback"),
        }
        count = max(60, self.runs * 40)  # a p95 of so many is the sixth largest of 120
        with override_settings(**IN_PROCESS):
            baseline = p95_ms(lambda: client.get("/bench/trivial/"), count=count)
            for name, url in pages.items():
                lines = {"lines": record.orders_count} if "settled" in name else {}
                self.time_page(name, url, client, baseline, count, detail=lines)
            # The dashboard of a large seller in the middle of a month: its month so far is
            # the hourly roll-up's and the last hour's orders.
            this_month = self.orders_this_month()
            self.settle()
            roll_up_months(as_of=timezone.now())
            self.time_page(
                f"Order Cashback Dashboard, {this_month:,} orders this month",
                pages["Order Cashback Dashboard"],
                client,
                baseline,
                count,
            )

    def time_page(
        self, name: str, url: str, client, baseline: float, count: int, detail=None
    ) -> None:
        project = p95_ms(lambda: client.get(url), count=count)
        self.record(
            f"page: {name}",
            project,
            baseline,
            "ms p95",
            "<= baseline + 20 ms",
            lambda r: r.project <= r.baseline + 20,
            detail=detail,
        )
        self.explained(f"page: {name}", lambda: client.get(url), count=2)

    def orders_this_month(self) -> int:
        """Delivered orders of the big seller in the current month, as many as a tenth of
        the data set holds in a month (half of its share), spread over the month so far
        before its last hour. Returns how many."""
        from core.dates import month_start

        now = timezone.now()
        start = month_start(now)
        count = int(self.orders * BIG_SHARE / 2)
        span = max(1, int((now - start).total_seconds()) - 3600)
        sql(
            """
            INSERT INTO orders_order
              (seller_id, external_id, placed_at, currency, net_product_price,
               seller_funded_discount, bonus_cashback_voucher, campaign_slug,
               fulfillment_channel, tracking_number, status, paid_at, shipped_at, delivered_at,
               refunded_amount, created_at, updated_at)
            SELECT %(seller)s, 'NOW-' || g, t - interval '2 days', 'USD',
                   round((10 + (g::bigint * 7919 %% 40000) / 100.0)::numeric, 2), 0, FALSE, '',
                   'order_center', 'N' || g, 'delivered', t - interval '2 days',
                   t - interval '1 day', t, 0, now(), now()
            FROM generate_series(1, %(count)s) g,
                 LATERAL (SELECT %(start)s::timestamptz
                                 + ((g::bigint * 104729) %% %(span)s) * interval '1 second'
                          AS t) x
            ON CONFLICT DO NOTHING
            """,
            {"seller": self.big.pk, "count": count, "start": start, "span": span},
        )
        return count

    def deep_cursor(self) -> str:
        from orders.models import Order
        from orders.selectors import encode_cursor

        order = Order.objects.filter(seller=self.big).order_by("-placed_at", "-pk")[
            int(self.orders * BIG_SHARE * 0.9)
        ]
        return encode_cursor(order)

    def scenario_single(self) -> None:
        """An order's life through the API, request by request: created shipped, then its
        delivered event (which charges its fee). The target is a request's latency, as the
        baseline's is: the p95 of every request, creates and events alike; the detail has
        each kind's p95 and the pair's."""
        from sellers.services import api_key_create

        self.settle()
        _, key = api_key_create(seller=self.big, name="bench")
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        counter = iter(range(10**9))
        now = datetime.now(UTC) - timedelta(days=1)
        timings: dict[str, list[float]] = {"create": [], "event": []}

        def timed(kind: str, call: Callable[[], object]) -> None:
            started = time.perf_counter()
            call()
            timings[kind].append((time.perf_counter() - started) * 1000)

        def create_and_deliver():
            n = next(counter)
            body = {
                "external_id": f"S-{n}",
                "placed_at": now.isoformat(),
                "currency": "USD",
                "net_product_price": "25.00",
                "fulfillment_channel": "order_center",
                "bonus_cashback_voucher": True,
                "status": "shipped",
                "paid_at": now.isoformat(),
                "shipped_at": now.isoformat(),
                "tracking_number": f"S{n}",
            }
            timed(
                "create",
                lambda: client.post("/api/v1/orders/", body, content_type="application/json"),
            )
            timed(
                "event",
                lambda: client.post(
                    f"/api/v1/orders/S-{n}/events/",
                    {"type": "delivered", "occurred_at": now.isoformat(), "event_id": f"d{n}"},
                    content_type="application/json",
                ),
            )

        count = max(30, self.runs * 20)
        with override_settings(**IN_PROCESS):
            baseline = p95_ms(lambda: client.get("/bench/json/"), count=2 * count)
            create_and_deliver()  # warm-up
            for samples in timings.values():
                samples.clear()
            for _ in range(count):
                create_and_deliver()
            creates, events = list(timings["create"]), list(timings["event"])
            self.explained("single order (create + event)", create_and_deliver, count=2)
        pairs = [c + e for c, e in zip(creates, events, strict=True)]
        self.record(
            "single order (create + event)",
            percentile(creates + events, 95),
            baseline,
            "ms p95",
            "<= 15 ms",
            lambda r: r.project <= 15,
            detail={
                "requests": 2 * count,
                "create_p95_ms": round(percentile(creates, 95), 3),
                "event_p95_ms": round(percentile(events, 95), 3),
                "create_and_event_p95_ms": round(percentile(pairs, 95), 3),
            },
        )

    def scenario_bulk(self) -> None:
        """1,000 delivered orders a request through gunicorn (a worker a core), from as many
        clients at once as gunicorn has workers, each sending its share one request after
        another; against COPY of the same rows. A warm-up round first (every worker has
        served a batch), then the median of `runs` timed rounds of eight requests a client,
        each round followed by the COPY of its rows."""
        from sellers.services import api_key_create

        self.settle()
        _, key = api_key_create(seller=self.big, name="bench-bulk")
        # A worker a core: PostgreSQL shares the machine's cores, and a batch keeps a core
        # busy all through (Python, then PostgreSQL), so more workers only take turns on
        # them (docs/performance.md has the measurements).
        workers = os.cpu_count() or 1
        per_round = 8 * workers  # a round long enough that its last request is a small part
        rounds = [
            [self.bulk_batch(r * per_round + n) for n in range(per_round)]
            for r in range(self.runs + 1)
        ]
        port = _free_port()
        env = {
            **os.environ,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": _database_url(),
        }
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        try:
            _wait_for_port(port)
            clients = [
                http.client.HTTPConnection("127.0.0.1", port, timeout=300) for _ in range(workers)
            ]

            def post(client, body: bytes) -> float:
                started = time.perf_counter()
                client.request("POST", "/api/v1/orders/bulk/", body=body, headers=headers)
                answer = client.getresponse()
                results = json.loads(answer.read())["results"]
                if answer.status != 200 or {r["result"] for r in results} != {"created"}:
                    raise RuntimeError(f"bulk ingestion refused orders: {results[:2]}")
                return time.perf_counter() - started

            def run_round(batches: list[list[dict]]) -> tuple[float, list[float]]:
                bodies = [json.dumps({"orders": batch}).encode() for batch in batches]
                shares = [bodies[w::workers] for w in range(workers)]
                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    times = pool.map(
                        lambda w: [post(clients[w], body) for body in shares[w]], range(workers)
                    )
                    per_request = [t for client_times in times for t in client_times]
                return len(batches) * 1000 / (time.perf_counter() - started), per_request

            # Warm-up: every worker has imported, connected, served; COPY has run once.
            run_round(rounds[0])
            self.copy_rate(rounds[0])
            # Each round's COPY right after it, so that both are timed in the same minute
            # of a machine whose speed drifts.
            timed = []
            for batches in rounds[1:]:
                rate, per_request = run_round(batches)
                timed.append((rate, per_request, self.copy_rate(batches)))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        rates = [rate for rate, _, _ in timed]
        copies = [copy for _, _, copy in timed]
        per_request = [t for _, times, _ in timed for t in times]
        self.record(
            "bulk ingestion",
            statistics.median(rates),
            statistics.median(copies),
            "orders/s",
            ">= 15,000 orders/s and >= 0.25 x COPY",
            lambda r: r.project >= 15000 and r.project >= 0.25 * r.baseline,
            detail={
                "rounds": len(timed),
                "requests_a_round": per_round,
                "clients": workers,
                "gunicorn_workers": workers,
                "round_rates": [round(rate) for rate in rates],
                "round_copy_rates": [round(copy) for copy in copies],
                "round_ratios": [
                    round(rate / copy, 3) for rate, copy in zip(rates, copies, strict=True)
                ],
                "median_request_ms": round(statistics.median(per_request) * 1000, 1),
            },
        )

    def bulk_batch(self, n: int) -> list[dict]:
        t = datetime.now(UTC) - timedelta(days=2)
        at = t.isoformat()
        return [
            {
                "external_id": f"BULK-{n}-{i}",
                "placed_at": at,
                "currency": "USD",
                "net_product_price": f"{10 + i % 500}.00",
                "fulfillment_channel": "order_center",
                "bonus_cashback_voucher": i % 2 == 0,
                "status": "delivered",
                "paid_at": at,
                "shipped_at": at,
                "delivered_at": at,
                "tracking_number": f"T{i}",
            }
            for i in range(1000)
        ]

    def copy_rate(self, batches: list[list[dict]]) -> float:
        """COPY the same rows into the same table, then take them out again."""
        columns = (
            "seller_id",
            "external_id",
            "placed_at",
            "currency",
            "net_product_price",
            "seller_funded_discount",
            "bonus_cashback_voucher",
            "campaign_slug",
            "fulfillment_channel",
            "tracking_number",
            "status",
            "paid_at",
            "shipped_at",
            "delivered_at",
            "refunded_amount",
            "created_at",
            "updated_at",
        )
        now = datetime.now(UTC)
        rows = [
            (
                self.big.pk,
                "COPY-" + o["external_id"],
                o["placed_at"],
                o["currency"],
                o["net_product_price"],
                "0",
                o["bonus_cashback_voucher"],
                "",
                o["fulfillment_channel"],
                o["tracking_number"],
                o["status"],
                o["paid_at"],
                o["shipped_at"],
                o["delivered_at"],
                "0",
                now,
                now,
            )
            for batch in batches
            for o in batch
        ]
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor
            started = time.perf_counter()
            with raw.copy(f"COPY orders_order ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            elapsed = time.perf_counter() - started
            cursor.execute("DELETE FROM orders_order WHERE external_id LIKE 'COPY-%%'")
        return len(rows) / elapsed

    def scenario_scale(self) -> None:
        """Month close and crediting as beat sends them: the coordinator task on a real
        Celery worker with a Redis broker fans the job out in chunks; timed with one worker
        process and with two, and checked to have done the same work exactly once."""
        from cashback.order_cashback import close_months, credit_cashback

        close_months(as_of=CLOSE_AS_OF)
        credit_cashback(as_of=CREDIT_AS_OF)
        expected = self.outcome()
        chunk = max(1, -(-self.sellers // 16))  # 16 chunks: enough for two to share
        jobs = {
            "month close": ("cashback.tasks.close_months", "close_month", CLOSE_AS_OF),
            "crediting": ("cashback.tasks.credit_cashback", "credit_cashback", CREDIT_AS_OF),
        }
        times: dict[str, dict[int, float]] = {name: {} for name in jobs}
        for processes in (1, 2):
            with CeleryWorker(self.broker, processes=processes, chunk=chunk) as worker:
                self.reset_close()
                self.reset_credit()
                for name, (task, job, as_of) in jobs.items():
                    times[name][processes] = worker.run(task, job=job, as_of=as_of)
                outcome = self.outcome()
                if outcome != expected:
                    raise RuntimeError(
                        f"{processes} worker(s) did other work than one run in process: "
                        f"{outcome} != {expected}"
                    )
        for name, by_processes in times.items():
            self.record(
                f"scale out: {name}",
                by_processes[2],
                by_processes[1],
                "s",
                "2 workers measurably faster, no work done twice",
                lambda r: r.ratio <= 0.9,
                detail={"chunk_sellers": chunk, "outcome": expected},
            )

    def outcome(self) -> dict:
        """What the close and the crediting produced: any work done twice or left undone
        changes it."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM cashback_cashbackmonth), "
                "(SELECT count(*) FROM cashback_accrual), "
                "(SELECT coalesce(sum(amount), 0) FROM cashback_accrual), "
                "(SELECT count(*) FROM cashback_accrual WHERE status = 'credited'), "
                "(SELECT count(*) FROM wallet_walletentry), "
                "(SELECT coalesce(sum(amount), 0) FROM wallet_walletentry), "
                "(SELECT coalesce(sum(balance), 0) FROM wallet_wallet)"
            )
            names = ("months", "accruals", "accrued", "credited", "entries", "posted", "balances")
            return {n: str(v) for n, v in zip(names, cursor.fetchone(), strict=True)}

    def record(self, scenario, project, baseline, unit, target, judge, detail=None) -> None:
        result = Result(
            scenario,
            round(project, 4),
            round(baseline, 4),
            unit,
            target,
            False,
            detail=detail or {},
        )
        if unit == "orders/s":
            result.ratio = round(project / baseline, 3) if baseline else 0.0
        else:
            result.ratio = round(project / baseline, 3) if baseline else 0.0
        result.met = bool(judge(result))
        self.results.append(result)
        mark = "met" if result.met else "NOT met"
        self.say(
            f"  {scenario}: {project:.3f} vs {baseline:.3f} {unit} "
            f"(x{result.ratio}) -> {target}: {mark}"
        )

    # After the timings -------------------------------------------------------------------

    def verify(self) -> dict:
        from io import StringIO

        from django.core.management import CommandError, call_command

        problems = StringIO()
        try:
            call_command("reconcile", stdout=StringIO(), stderr=problems)
            consistent = True
        except CommandError:
            consistent = False
        counts = {
            table: scalar(f"SELECT count(*) FROM {table}")
            for table in (
                "orders_order",
                "cashback_accrual",
                "cashback_cashbackmonth",
                "wallet_walletentry",
                "fees_feeentry",
                "fees_settledrecordline",
            )
        }
        return {"reconcile": consistent, "problems": problems.getvalue()[-4000:], "rows": counts}

    def report(self) -> dict:
        return {
            "scale": {"sellers": self.sellers, "orders": self.orders, "runs": self.runs},
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "postgresql": scalar("SHOW server_version"),
                "platform": platform.platform(),
            },
            "versions": {
                p: version(p)
                for p in ("django", "djangorestframework", "celery", "psycopg", "gunicorn")
            },
            "results": [asdict(r) for r in self.results],
            "explain": self.plans,
        }


def _database_url() -> str:
    """The URL of the database this process uses (the bench's own), for a subprocess."""
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return (
        f"postgres://{s.get('USER') or ''}{password}@{s.get('HOST') or '127.0.0.1'}:"
        f"{s.get('PORT') or 5432}/{s['NAME']}"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not listen on {port} within {timeout}s")


class CeleryWorker:
    """A real Celery worker on the bench database, reading a queue of its own on Redis."""

    def __init__(self, broker: str, *, processes: int, chunk: int):
        self.broker = broker
        self.queue = f"bench-{os.getpid()}-{processes}"
        self.log = Path(tempfile.gettempdir()) / f"{self.queue}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "JOB_CHUNK_SELLERS": str(chunk),
        }
        self.args = [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "config",
            "worker",
            "--concurrency",
            str(processes),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"{self.queue}@%h",
        ]

    def __enter__(self) -> "CeleryWorker":
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while " ready." not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{self.log.read_text()}")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.unlink(missing_ok=True)

    def run(self, task: str, *, job: str, as_of: datetime) -> float:
        """Send the job's coordinator as beat would, and time it until every chunk it sent
        has run (the worker logs the coordinator's count of chunks)."""
        from config.celery import app
        from core.models import JobRun

        # the job's runs, one a chunk, are the JobRun rows after this one
        after = JobRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        sent = re.compile(rf"Task {re.escape(task)}\[[^\]]+\] succeeded in [0-9.]+s: (\d+)")
        started = time.perf_counter()
        with app.connection_for_write(self.broker) as broker:
            app.send_task(task, args=[as_of.isoformat()], queue=self.queue, connection=broker)
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            runs = JobRun.objects.filter(pk__gt=after, job=job)
            failed = runs.filter(status=JobRun.Status.FAILED).first()
            if failed:
                raise RuntimeError(f"{job} failed on the worker:\n{failed.errors[-3000:]}")
            chunks = sent.findall(self.log.read_text())
            succeeded = runs.filter(status=JobRun.Status.SUCCEEDED).count()
            if chunks and succeeded >= int(chunks[-1]):
                return time.perf_counter() - started
            time.sleep(0.05)
        raise RuntimeError(f"{job} did not finish within an hour:\n{self.log.read_text()}")
