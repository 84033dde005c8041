"""A seeded random run of many sellers through the real services, the money checked after
every step (`tests/test_simulation.py` runs it).

The run keeps its own model of what SPEC.md says every order, service fee, cashback month,
accrual and wallet must be, worked out here from first principles (no production function
computes a value that is checked against it), and after every step compares the database
with that model, besides running the project's own reconciliation. A failure names its seed;
`SIMULATION_SEED=N SIMULATION_STEPS=M pytest tests/test_simulation.py` replays it.
"""

import io
import os
import random
import time as _time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from cashback.models import Accrual, CashbackMonth, Registration, RegistrationEvent
from cashback.order_cashback import (
    CREDIT_REFERENCE,
    cashback_mismatches,
    close_months,
    credit_cashback,
    import_fx_rates,
)
from cashback.services import (
    Actor,
    CampaignError,
    RegistrationError,
    campaign_add_rate,
    campaign_create,
    registration_create,
    registration_transition,
)
from core.dates import EARLIEST
from core.money import MAX_AMOUNT
from fees.models import FeeEntry, SettledRecord, SettledRecordLine
from fees.services import fee_mismatches, settle_fees
from orders.models import Order, OrderEvent
from orders.services import (
    EventInput,
    ItemInput,
    OrderError,
    OrderInput,
    order_apply_event,
    order_create,
    orders_create,
)
from sellers.services import SellerError, seller_change_plan, seller_create
from tests.factories import SellerUserFactory, StaffUserFactory
from wallet.models import Wallet, WalletEntry
from wallet.selectors import wallet_mismatches
from wallet.services import WalletError, wallet_adjust

D = Decimal
ZERO = D("0.00")
CENT = D("0.01")
# SPEC 7, written out again here: (threshold in USD, rate in percent), and the yearly bonus.
TIERS = ((D("0"), D("0")), (D("1000"), D("0.5")), (D("3000"), D("1")), (D("10000"), D("2")))
YEARLY_BONUS = D("0.5")
CREDIT_AFTER = timedelta(days=30)
TIME_ZONES = ("UTC", "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")
LIVE = ("under_review", "approved", "suspended", "withdraw_under_review")
# SPEC 4: action -> (who, from statuses, to status; None = back where the withdrawal came
# from, needs a reason).
TABLE = {
    "approve_registration": ("admin", ("under_review",), "approved", False),
    "reject_registration": ("admin", ("under_review",), "rejected", True),
    "suspend": ("admin", ("approved",), "suspended", True),
    "unsuspend": ("admin", ("suspended",), "approved", False),
    "withdraw": ("seller", ("approved", "suspended"), "withdraw_under_review", False),
    "cancel_withdraw": ("seller", ("withdraw_under_review",), None, False),
    "approve_withdrawal": ("admin", ("withdraw_under_review",), "expired", False),
    "reject_withdrawal": ("admin", ("withdraw_under_review",), None, True),
}
# SPEC 5: event type -> (statuses it may follow, status it leads to, its time field).
LIFECYCLE = {
    "paid": (("unpaid",), "paid", "paid_at"),
    "payment_failed": (("unpaid",), "payment_failed", "payment_failed_at"),
    "cancelled": (("unpaid", "paid", "shipped"), "cancelled", "cancelled_at"),
    "shipped": (("paid",), "shipped", "shipped_at"),
    "delivered": (("shipped",), "delivered", "delivered_at"),
    "refunded": (("delivered",), "delivered", "returned_at"),
}
TIME_FIELDS = (
    "paid_at",
    "shipped_at",
    "delivered_at",
    "returned_at",
    "cancelled_at",
    "payment_failed_at",
)
CLIENT_CLOCK_SKEW = timedelta(minutes=5)

ACTIONS = {  # action: weight
    "new_orders": 26,
    "advance_order": 24,
    "refund": 9,
    "replay_event": 7,
    "stale_event": 6,
    "retry_create": 5,
    "registration": 7,
    "rate_change": 2,
    "plan_change": 3,
    "fx_import": 5,
    "settle": 4,
    "close": 4,
    "credit": 4,
    "cron": 2,
    "wallet_adjust": 2,
    "jump_days": 4,
    "jump_30_days": 1,
    "next_month": 2,
    "before_month_end": 1,
}


class SimulationFailure(AssertionError):
    pass


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def local_date(at: datetime) -> date:
    return timezone.localtime(at).date()


def month_of(at: datetime) -> date:
    return local_date(at).replace(day=1)


def month_start_at(month: date) -> datetime:
    return datetime.combine(month, time.min, timezone.get_current_timezone())


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.get_current_timezone())


# The model ----------------------------------------------------------------------------------


@dataclass
class RegModel:
    pk: int
    campaign: str
    registered_at: datetime
    status: str
    previous: str = ""
    timeline: list = field(default_factory=list)  # (at, from, to)


@dataclass
class SellerModel:
    idx: int
    seller: object
    actor: Actor
    plans: list  # (effective_at, sequence, plan)
    size: int
    regs: list = field(default_factory=list)
    next_order: int = 1
    balance: Decimal = ZERO
    adjustments: Decimal = ZERO


@dataclass
class AccrualModel:
    month: date
    gmv: Decimal
    amount: Decimal
    refunded_at_close: Decimal
    late: bool
    due_at: datetime
    status: str = "pending"
    credited: Decimal | None = None


@dataclass
class OrderModel:
    seller: SellerModel
    data: OrderInput
    pk: int
    status: str = "unpaid"
    times: dict = field(default_factory=dict)
    tracking: str = ""
    refunded: Decimal = ZERO
    refund_events: list = field(default_factory=list)  # (occurred_at, amount)
    applied: list = field(default_factory=list)  # EventInputs applied
    by_id: dict = field(default_factory=dict)  # event_id -> EventInput
    events: int = 1  # OrderEvent rows: the creation, each refund and each later step
    charge: Decimal | None = None
    fee_refunds: list = field(default_factory=list)
    covered_rate: Decimal | None = None
    accrual: AccrualModel | None = None
    next_event: int = 1

    @property
    def base(self) -> Decimal:
        return self.data.net_product_price - self.data.seller_funded_discount

    @property
    def latest(self) -> datetime:
        return max(
            t
            for t in (
                self.data.placed_at,
                *(self.times.get(f) for f in ("paid_at", "shipped_at", "delivered_at")),
            )
            if t is not None
        )


@dataclass
class MonthModel:
    status: str
    orders_count: int
    gmv: Decimal
    plan: str = ""
    tier_rate: Decimal = ZERO
    bonus_rate: Decimal = ZERO
    rate: Decimal = ZERO
    total: Decimal = ZERO


class Simulation:
    """Sellers, a campaign, orders and jobs, driven at random by one seed."""

    def __init__(self, *, seed: int, steps: int, workdir: Path):
        self.seed, self.steps, self.workdir = seed, steps, workdir
        self.rng = random.Random(seed)  # noqa: S311 (not a secret)
        self.time_zone = self.rng.choice(TIME_ZONES)
        self.start = datetime(2025, 2, 3, 6, tzinfo=UTC) + timedelta(
            days=self.rng.randint(0, 300), minutes=self.rng.randint(0, 1439)
        )
        self.step_no = 0
        self.log: list[str] = []
        self.sellers: list[SellerModel] = []
        self.orders: dict[tuple[int, str], OrderModel] = {}
        self.campaigns: dict[str, object] = {}
        self.rates: dict[str, list] = {}  # campaign -> [(effective_from, rate)]
        self.closes_at: dict[str, datetime | None] = {}
        self.requires_review: dict[str, bool] = {}
        self.fx_known: dict[date, Decimal] = {}
        self.months: dict[tuple[int, date], MonthModel] = {}
        self.settled_snapshot: dict[int, tuple] = {}
        self.wallet_snapshot: dict[int, tuple] = {}
        self.must_be_settled: dict[int, date] = {}
        self.plan_sequence = 0
        self.stats = Counter()
        self.progress = int(os.environ.get("SIMULATION_PROGRESS", "0"))  # print every N steps
        self.started = _time.monotonic()

    # Running ---------------------------------------------------------------------------

    def run(self, steps: int | None = None) -> None:
        assert self.time_zone == settings.TIME_ZONE, "set settings.TIME_ZONE = sim.time_zone"
        self.now = self.start - timedelta(days=120)
        with time_machine.travel(self.now, tick=False) as self.clock:
            self.setup()
            self.check("setup")
            for _ in range(self.steps if steps is None else steps):
                self.step()
            self.check("end", command=True)

    def step(self) -> None:
        self.step_no += 1
        self.advance(timedelta(minutes=self.rng.randint(1, 180), seconds=self.rng.random()))
        action = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        self.stats[action] += 1
        try:
            description = getattr(self, f"act_{action}")()
        except SimulationFailure:
            raise
        except Exception as exc:
            self.fail(f"{action} raised {type(exc).__name__}: {exc}", exc=exc)
        self.log.append(f"{self.step_no} {self.now:%Y-%m-%d %H:%M} {description}")
        if self.progress and self.step_no % self.progress == 0:
            print(f"{_time.monotonic() - self.started:.0f}s {self.summary()}", flush=True)
        self.check(description, command=self.step_no % 25 == 0)

    def advance(self, by: timedelta) -> None:
        self.now = self.now + by
        self.clock.move_to(self.now)

    def fail(self, message: str, exc: Exception | None = None):
        recent = "\n  ".join(self.log[-15:])
        raise SimulationFailure(
            f"seed={self.seed} step={self.step_no} tz={self.time_zone} now={self.now.isoformat()}"
            f": {message}\n recent steps:\n  {recent}\n replay: SIMULATION_SEED={self.seed} "
            f"SIMULATION_STEPS={self.steps} pytest tests/test_simulation.py"
        ) from exc

    # Setup -----------------------------------------------------------------------------

    def setup(self) -> None:
        rng = self.rng
        self.staff = StaffUserFactory()
        self.admin = Actor.admin(self.staff)
        opens = self.now
        for slug, rate, review in (("bonus", "3", False), ("reviewed", "2.5", True)):
            closes = self.start + timedelta(days=rng.randint(30, 200)) if review else None
            self.campaigns[slug] = campaign_create(
                slug=slug,
                name=f"Campaign {slug}",
                fee_rate=rate,
                terms="Pay the service fee on delivered voucher orders.",
                requires_review=review,
                registration_opens_at=opens,
                registration_closes_at=closes,
                now=opens,
            )
            self.rates[slug] = [(opens, D(rate))]
            self.closes_at[slug] = closes
            self.requires_review[slug] = review
        self.advance(timedelta(days=10))
        for idx in range(rng.randint(5, 9)):
            plan = rng.choice(("monthly", "monthly", "yearly"))
            seller = seller_create(name=f"Sim shop {idx}", plan=plan, now=self.now)
            user = SellerUserFactory(seller=seller)
            self.sellers.append(
                SellerModel(
                    idx=idx,
                    seller=seller,
                    actor=Actor.seller_user(user),
                    plans=[(self.now, self.next_plan_sequence(), plan)],
                    size=rng.choice((150, 600, 2500, 6000)),
                )
            )
            self.advance(timedelta(minutes=7))
        self.advance(timedelta(days=30))
        for s in self.sellers:
            if rng.random() < 0.7:
                self.register(s, "bonus")
            if rng.random() < 0.3:
                reg = self.register(s, "reviewed")
                if reg is not None and rng.random() < 0.7:
                    self.advance(timedelta(hours=rng.randint(1, 48)))
                    self.transition(s, reg, "approve_registration")
            self.advance(timedelta(minutes=13))
        self.advance(self.start - self.now)

    def next_plan_sequence(self) -> int:
        self.plan_sequence += 1
        return self.plan_sequence

    # The rules, from SPEC.md ------------------------------------------------------------

    def plan_at(self, s: SellerModel, at: datetime) -> str:
        in_force = [p for p in s.plans if p[0] <= at]
        return max(in_force or [min(s.plans)], key=lambda p: (p[0], p[1]))[2]

    @staticmethod
    def state_at(reg: RegModel, at: datetime):
        state = None
        for when, from_status, to_status in reg.timeline:
            if when > at:
                break
            state = (from_status, to_status)
        return state

    def covering(self, s: SellerModel, at: datetime, campaign: str | None) -> RegModel | None:
        """SPEC 6: the registration that had the seller in the program (approved, or
        withdrawing from approved) when the order was placed; the latest registered."""
        best = None
        for reg in s.regs:
            if campaign is not None and reg.campaign != campaign:
                continue
            if reg.registered_at > at:
                continue
            state = self.state_at(reg, at)
            in_program = state is not None and (
                state[1] == "approved"
                or (state[1] == "withdraw_under_review" and state[0] == "approved")
            )
            if in_program and (
                best is None or (reg.registered_at, reg.pk) > (best.registered_at, best.pk)
            ):
                best = reg
        return best

    def rate_at(self, campaign: str, at: datetime) -> Decimal:
        rates = sorted(self.rates[campaign])
        current = rates[0][1]
        for effective_from, rate in rates:
            if effective_from <= at:
                current = rate
        return current

    def fee_of(self, o: OrderModel) -> tuple[Decimal, Decimal] | None:
        """(rate, fee) of a delivered order, or None when it pays none."""
        d = o.data
        if not d.bonus_cashback_voucher:
            return None
        if d.campaign and d.campaign not in self.campaigns:
            return None
        reg = self.covering(o.seller, d.placed_at, d.campaign or None)
        if reg is None:
            return None
        rate = self.rate_at(reg.campaign, d.placed_at)
        return rate, half_up(o.base * rate / 100)

    def counts(self, o: OrderModel) -> bool:
        return (
            o.data.fulfillment_channel == "order_center"
            and o.status == "delivered"
            and bool(o.tracking)
        )

    def gmv_cents(self, o: OrderModel) -> int | None:
        kept = o.base - o.refunded
        if o.data.currency == "USD":
            return int(kept * 100)
        rate = self.fx_known.get(local_date(o.times["delivered_at"]))
        if rate is None:
            return None
        return int(half_up(kept * rate) * 100)

    @staticmethod
    def tier(gmv: Decimal, plan: str) -> tuple[Decimal, Decimal]:
        rate = D("0")
        for threshold, tier_rate in TIERS:
            if gmv >= threshold:
                rate = tier_rate
        return rate, (YEARLY_BONUS if plan == "yearly" and rate > 0 else D("0"))

    # Orders in the model ---------------------------------------------------------------

    def model_step(
        self, o: OrderModel, type: str, at: datetime, amount=None, tracking="", creation=False
    ) -> None:
        # A step passed at creation is told by the created event; a refund is its own event.
        if not creation or type == "refunded":
            o.events += 1
        if type == "refunded":
            remaining = o.base - o.refunded
            amount = remaining if amount is None else amount
            o.refunded += amount
            o.refund_events.append((at, amount))
            if o.charge is not None:
                left = o.charge - sum(o.fee_refunds, ZERO)
                if o.refunded == o.base:
                    o.fee_refunds.append(left)
                else:
                    share = half_up(o.charge * amount / o.base) if o.base else ZERO
                    o.fee_refunds.append(min(share, left))
            if o.refunded == o.base:
                o.status = "returned"
                o.times["returned_at"] = at
            return
        _, to_status, time_field = LIFECYCLE[type]
        o.status = to_status
        o.times[time_field] = at
        if type == "shipped":
            o.tracking = tracking or o.tracking
        if type == "delivered":
            fee = self.fee_of(o)
            if fee is not None:
                o.covered_rate, o.charge = fee

    def model_create(self, o: OrderModel) -> None:
        d = o.data
        o.tracking = d.tracking_number
        if d.status == "cancelled":
            for type, at in (("paid", d.paid_at), ("shipped", d.shipped_at)):
                if at is not None:
                    self.model_step(o, type, at, creation=True)
            self.model_step(o, "cancelled", d.cancelled_at, creation=True)
            return
        path = {
            "unpaid": (),
            "paid": ("paid",),
            "shipped": ("paid", "shipped"),
            "delivered": ("paid", "shipped", "delivered"),
            "returned": ("paid", "shipped", "delivered"),
            "payment_failed": ("payment_failed",),
        }[d.status]
        for type in path:
            self.model_step(o, type, getattr(d, LIFECYCLE[type][2]), creation=True)
        if d.status == "delivered" and d.refunded_amount:
            self.model_step(o, "refunded", d.refunded_at, d.refunded_amount, creation=True)
        if d.status == "returned":
            self.model_step(o, "refunded", d.returned_at, creation=True)

    def event_outcome(self, o: OrderModel, ev: EventInput) -> str:
        """SPEC 9: "applied", "replay" (the same event again changes nothing) or "refused"."""
        if ev.event_id and ev.event_id in o.by_id:
            return "replay" if o.by_id[ev.event_id] == ev else "refused"
        if ev.type == "refunded":
            if not ev.event_id:
                same = [a for at, a in o.refund_events if at == ev.occurred_at]
                if ev.amount is not None and ev.amount in same:
                    return "replay"
                if ev.amount is None and same and o.status == "returned":
                    return "replay"
        else:
            applied_at = o.times.get(LIFECYCLE[ev.type][2])
            if applied_at is not None:
                same_tracking = ev.type != "shipped" or ev.tracking_number in ("", o.tracking)
                return "replay" if applied_at == ev.occurred_at and same_tracking else "refused"
        if o.status not in LIFECYCLE[ev.type][0]:
            return "refused"
        if ev.occurred_at > self.now + CLIENT_CLOCK_SKEW or ev.occurred_at < o.latest:
            return "refused"
        if ev.type == "shipped" and not (ev.tracking_number or o.tracking):
            return "refused"
        if ev.type == "refunded":
            remaining = o.base - o.refunded
            amount = remaining if ev.amount is None else ev.amount
            if (amount <= 0 and remaining > 0) or amount > remaining:
                return "refused"
        return "applied"

    # Making orders ---------------------------------------------------------------------

    def money(self, low: Decimal, high: Decimal) -> Decimal:
        return D(self.rng.randint(int(low * 100), int(high * 100))) / 100

    def times_after(self, start: datetime, n: int) -> list[datetime]:
        span = (self.now - start).total_seconds()
        points = sorted(self.rng.uniform(0, span) for _ in range(n))
        return [min(start + timedelta(seconds=p), self.now) for p in points]

    def gen_order(self, s: SellerModel) -> OrderInput:
        rng = self.rng
        external_id = f"S{s.idx}-{s.next_order}"
        s.next_order += 1
        edge = rng.random() < 0.01  # backfilled from the earliest date orders may have
        if edge:
            placed = EARLIEST + timedelta(hours=rng.uniform(0, 48))
        elif rng.random() < 0.3:  # ingested late, or backfilled
            placed = self.now - timedelta(days=rng.uniform(1, 45))
        else:
            placed = self.now - timedelta(hours=rng.uniform(0, 12))
        if rng.random() < 0.02:  # at or just below the largest amount an order may have
            net = MAX_AMOUNT - self.money(ZERO, D("1.00"))
        else:
            net = self.money(D("1"), D(s.size))
        roll = rng.random()
        if roll < 0.03:
            discount = net  # nothing paid for the products: base 0
        elif roll < 0.5:
            discount = ZERO
        else:
            discount = self.money(ZERO, net / 3)
        status = rng.choices(
            (
                "unpaid",
                "paid",
                "shipped",
                "delivered",
                "refunded",
                "returned",
                "cancelled",
                "failed",
            ),
            weights=(14, 9, 14, 42, 6, 6, 6, 3),
        )[0]
        values = {
            "external_id": external_id,
            "placed_at": placed,
            "currency": "USD" if edge else rng.choice(("USD", "USD", "EUR")),
            "net_product_price": net,
            "seller_funded_discount": discount,
            "bonus_cashback_voucher": rng.random() < 0.75,
            "campaign": rng.choices(("", "bonus", "reviewed", "ghost"), weights=(80, 9, 8, 3))[0],
            "fulfillment_channel": rng.choice(("order_center",) * 4 + ("seller",)),
            "tracking_number": f"TRK-{external_id}" if rng.random() < 0.2 else "",
        }
        if rng.random() < 0.2 and net > 1:
            first = self.money(CENT, net - CENT)
            values["items"] = (
                ItemInput(sku="A", quantity=1, unit_price=first, name="a"),
                ItemInput(sku="B", quantity=1, unit_price=net - first),
            )
        base = net - discount
        if status == "failed":
            (values["payment_failed_at"],) = self.times_after(placed, 1)
            values["status"] = "payment_failed"
        elif status == "cancelled":
            steps = rng.choice(((), ("paid_at",), ("paid_at", "shipped_at")))
            times = self.times_after(placed, len(steps) + 1)
            values.update(zip(steps, times, strict=False))
            values["cancelled_at"] = times[-1]
            values["status"] = "cancelled"
        else:
            path = ("paid_at", "shipped_at", "delivered_at")
            n = {"unpaid": 0, "paid": 1, "shipped": 2}.get(status, 3)
            extra = 1 if status in ("refunded", "returned") else 0
            times = self.times_after(placed, n + extra)
            values.update(zip(path[:n], times, strict=False))
            values["status"] = {"refunded": "delivered"}.get(status, status)
            if status == "refunded" and base >= D("0.02"):
                values["refunded_amount"] = self.money(CENT, base - CENT)
                values["refunded_at"] = times[-1]
            if status == "returned":
                values["returned_at"] = times[-1]
                values["refunded_amount"] = base if rng.random() < 0.5 else ZERO
        if values.get("shipped_at") and not values["tracking_number"]:
            values["tracking_number"] = f"TRK-{external_id}"
        return OrderInput(**values)

    def pick_seller(self) -> SellerModel:
        return self.rng.choice(self.sellers)

    def seller_orders(self, s: SellerModel) -> list[OrderModel]:
        return [o for o in self.orders.values() if o.seller is s]

    # Actions: orders ---------------------------------------------------------------------

    def act_new_orders(self) -> str:
        rng = self.rng
        s = self.pick_seller()
        plan: list[tuple[str, OrderInput]] = [
            ("new", self.gen_order(s)) for _ in range(rng.choice((1, 1, 2, 3, 5, 8, 12)))
        ]
        old = self.seller_orders(s)
        if old and rng.random() < 0.15:
            plan.insert(rng.randrange(len(plan) + 1), ("retry", rng.choice(old).data))
        if rng.random() < 0.1:
            plan.append(("repeat", plan[0][1]))
        if rng.random() < 0.1:
            bad = self.gen_order(s)
            wrong = rng.choice(
                (
                    {"seller_funded_discount": bad.net_product_price + 1},
                    # just past the bounds: the amount, the earliest date, the id's characters
                    {"net_product_price": MAX_AMOUNT + CENT, "items": None},
                    {"placed_at": EARLIEST - timedelta(microseconds=1)},
                    {"external_id": bad.external_id + rng.choice(("\n", "\t", "\x00", "\u200b"))},
                )
            )
            plan.insert(rng.randrange(len(plan) + 1), ("invalid", replace(bad, **wrong)))
        inputs = [data for _, data in plan]
        if len(inputs) == 1 and rng.random() < 0.5:
            results = [order_create(seller=s.seller, data=inputs[0], now=self.now)]
        else:
            results = orders_create(seller=s.seller, inputs=inputs, now=self.now)
        created = 0
        for (kind, data), result in zip(plan, results, strict=True):
            key = (s.idx, data.external_id)
            if kind == "new" and (s.idx, data.external_id) not in self.orders:
                if result.result != "created":
                    self.fail(f"new order {data.external_id} was {result.result}: {result.errors}")
                o = OrderModel(seller=s, data=data, pk=result.order.pk)
                self.model_create(o)
                self.orders[key] = o
                created += 1
            elif kind in ("new", "retry", "repeat"):
                if result.result != "unchanged" or result.order.pk != self.orders[key].pk:
                    self.fail(f"the same order {data.external_id} again was {result.result}")
            elif result.result != "error" or result.order is not None:
                self.fail(f"an invalid order {data.external_id} was {result.result}")
        self.stats["orders"] += created
        return f"new_orders seller={s.idx} " + ",".join(f"{k}:{d.external_id}" for k, d in plan)

    def act_retry_create(self) -> str:
        if not self.orders:
            return "retry_create (no orders)"
        o = self.rng.choice(list(self.orders.values()))
        if self.rng.random() < 0.75:
            result = order_create(seller=o.seller.seller, data=o.data, now=self.now)
            if result.result != "unchanged" or result.order.pk != o.pk:
                self.fail(f"retrying {o.data.external_id} gave {result.result} {result.errors}")
            return f"retry_create {o.data.external_id} same"
        other = replace(o.data, bonus_cashback_voucher=not o.data.bonus_cashback_voucher)
        result = order_create(seller=o.seller.seller, data=other, now=self.now)
        if result.result != "error" or not result.conflict:
            self.fail(f"{o.data.external_id} with other data gave {result.result}, not a conflict")
        return f"retry_create {o.data.external_id} different"

    def event_time(self, o: OrderModel) -> datetime:
        latest = o.latest
        low = 0.5 if self.rng.random() < 0.8 else 0.0  # sometimes back-dated
        return latest + (self.now - latest) * self.rng.uniform(low, 1.0)

    def new_event(self, o: OrderModel, type: str, **kwargs) -> EventInput:
        event_id = None
        if self.rng.random() < 0.5:
            event_id = f"{o.data.external_id}-e{o.next_event}"
            o.next_event += 1
        return EventInput(
            type=type,
            occurred_at=kwargs.pop("occurred_at", None) or self.event_time(o),
            event_id=event_id,
            **kwargs,
        )

    def send(self, o: OrderModel, ev: EventInput, expected: str | None = None) -> str:
        outcome_expected = self.event_outcome(o, ev)
        if expected is not None and expected != outcome_expected:
            self.fail(f"the model says {outcome_expected} for {ev}, the step wanted {expected}")
        try:
            _, changed = order_apply_event(
                seller=o.seller.seller, external_id=o.data.external_id, event=ev, now=self.now
            )
            outcome = "applied" if changed else "replay"
        except OrderError as exc:
            outcome = f"refused ({exc})"
        if outcome.split()[0] != outcome_expected:
            self.fail(f"{o.data.external_id} {ev}: {outcome}, expected {outcome_expected}")
        if outcome == "applied":
            self.model_step(o, ev.type, ev.occurred_at, ev.amount, ev.tracking_number)
            o.applied.append(ev)
            if ev.event_id:
                o.by_id[ev.event_id] = ev
        self.stats[f"events_{outcome_expected}"] += 1
        return f"{o.data.external_id} {ev.type} {ev.amount or ''} {outcome_expected}"

    def act_advance_order(self) -> str:
        open_orders = [o for o in self.orders.values() if o.status in ("unpaid", "paid", "shipped")]
        if not open_orders:
            return "advance_order (none open)"
        o = self.rng.choice(open_orders)
        choices = {
            "unpaid": ("paid",) * 8 + ("payment_failed", "cancelled"),
            "paid": ("shipped",) * 8 + ("cancelled",),
            "shipped": ("delivered",) * 9 + ("cancelled",),
        }[o.status]
        type = self.rng.choice(choices)
        kwargs = {}
        if type == "shipped" and (not o.tracking or self.rng.random() < 0.3):
            kwargs["tracking_number"] = f"TRK-{o.data.external_id}-{o.next_event}"
        return "advance " + self.send(o, self.new_event(o, type, **kwargs), "applied")

    def act_refund(self) -> str:
        delivered = [o for o in self.orders.values() if o.status == "delivered"]
        if not delivered:
            return "refund (none delivered)"
        o = self.rng.choice(delivered)
        remaining = o.base - o.refunded
        roll = self.rng.random()
        if roll < 0.6 and remaining >= D("0.02"):
            amount = self.money(CENT, remaining / 2 if remaining >= D("0.04") else CENT)
        elif roll < 0.8:
            amount = remaining if remaining > 0 else None
        else:
            amount = None
        ev = self.new_event(o, "refunded", amount=amount)
        return "refund " + self.send(o, ev)

    def act_replay_event(self) -> str:
        with_events = [o for o in self.orders.values() if o.applied]
        if not with_events:
            return "replay_event (none)"
        o = self.rng.choice(with_events)
        return "replay " + self.send(o, self.rng.choice(o.applied), "replay")

    def act_stale_event(self) -> str:
        if not self.orders:
            return "stale_event (no orders)"
        o = self.rng.choice(list(self.orders.values()))
        rng = self.rng
        done = [t for t in LIFECYCLE if t != "refunded" and o.times.get(LIFECYCLE[t][2])]
        kind = rng.choice(("again", "not_now", "reused_id", "too_much", "too_early", "future"))
        if kind == "again" and done:  # a step applied already, at another time
            type = rng.choice(done)
            at = o.times[LIFECYCLE[type][2]]
            at = (
                at + timedelta(minutes=1)
                if at + timedelta(minutes=1) <= self.now
                else at - timedelta(minutes=1)
            )
            ev = EventInput(type=type, occurred_at=at)
        elif kind == "reused_id" and o.by_id:
            first = o.by_id[rng.choice(list(o.by_id))]
            ev = replace(first, occurred_at=first.occurred_at - timedelta(seconds=1))
        elif kind == "too_much" and o.status == "delivered":
            ev = self.new_event(o, "refunded", amount=o.base - o.refunded + CENT)
        elif kind == "too_early" and o.status in ("unpaid", "paid", "shipped"):
            type = {"unpaid": "paid", "paid": "shipped", "shipped": "delivered"}[o.status]
            ev = self.new_event(o, type, occurred_at=o.latest - timedelta(hours=1))
        elif kind == "future":
            type = rng.choice(list(LIFECYCLE))
            ev = self.new_event(o, type, occurred_at=self.now + timedelta(hours=2))
        else:  # a step its status does not allow
            types = [t for t in LIFECYCLE if o.status not in LIFECYCLE[t][0]]
            types = [t for t in types if t == "refunded" or not o.times.get(LIFECYCLE[t][2])]
            if not types:
                return "stale_event (nothing to try)"
            ev = self.new_event(o, rng.choice(types), amount=CENT if rng.random() < 0.5 else None)
            if ev.event_id is None and ev.type == "refunded":
                ev = replace(ev, event_id=f"{o.data.external_id}-x{o.next_event}")
                o.next_event += 1
        return "stale " + self.send(o, ev, "refused")

    # Actions: the program ------------------------------------------------------------

    def register(self, s: SellerModel, campaign: str) -> RegModel | None:
        window_open = self.closes_at[campaign] is None or self.now < self.closes_at[campaign]
        live = any(r.status in LIVE for r in s.regs if r.campaign == campaign)
        try:
            registration = registration_create(
                seller=s.seller,
                campaign=self.campaigns[campaign],
                agree_to_terms=True,
                actor=s.actor,
                now=self.now,
            )
        except RegistrationError as exc:
            if window_open and not live:
                self.fail(f"seller {s.idx} could not register for {campaign}: {exc}")
            return None
        if not window_open or live:
            self.fail(f"seller {s.idx} registered for {campaign} (open={window_open}, live={live})")
        status = "under_review" if self.requires_review[campaign] else "approved"
        reg = RegModel(
            registration.pk, campaign, self.now, status, timeline=[(self.now, "", status)]
        )
        s.regs.append(reg)
        return reg

    def transition(self, s: SellerModel, reg: RegModel, action: str, *, by=None, reason="ok"):
        who, from_statuses, to_status, needs_reason = TABLE[action]
        by = by or who
        allowed = by == who and reg.status in from_statuses and (reason or not needs_reason)
        actor = s.actor if by == "seller" else self.admin
        try:
            registration_transition(
                registration_id=reg.pk, action=action, actor=actor, reason=reason, now=self.now
            )
        except RegistrationError as exc:
            if allowed:
                self.fail(f"{action} of registration {reg.pk} ({reg.status}) refused: {exc}")
            return "refused"
        if not allowed:
            self.fail(f"{action} by {by} of registration {reg.pk} ({reg.status}) was allowed")
        new = to_status or reg.previous
        reg.previous = reg.status if new == "withdraw_under_review" else ""
        reg.timeline.append((self.now, reg.status, new))
        reg.status = new
        return "done"

    def act_registration(self) -> str:
        rng = self.rng
        s = self.pick_seller()
        campaign = rng.choice(("bonus", "bonus", "reviewed"))
        regs = [r for r in s.regs if r.campaign == campaign]
        latest = regs[-1] if regs else None
        if latest is None or latest.status not in LIVE or rng.random() < 0.1:
            reg = self.register(s, campaign)
            return f"register seller={s.idx} {campaign}: {'refused' if reg is None else reg.status}"
        allowed = [a for a, rule in TABLE.items() if latest.status in rule[1]]
        if rng.random() < 0.8 and allowed:
            action = rng.choice(allowed)
            by, reason = None, "ok"
            if TABLE[action][3] and rng.random() < 0.1:
                reason = ""
        else:
            action = rng.choice(list(TABLE))
            by, reason = rng.choice(("seller", "admin")), "because"
        outcome = self.transition(s, latest, action, by=by, reason=reason)
        return f"registration seller={s.idx} {campaign} {action} by {by or 'its role'}: {outcome}"

    def act_rate_change(self) -> str:
        campaign = self.rng.choice(list(self.campaigns))
        rate = self.rng.choice(("0", "1.5", "2", "3", "4.25", "5.1234"))
        roll = self.rng.random()
        if roll < 0.5:
            effective = self.now
        elif roll < 0.85:
            effective = self.now + timedelta(hours=self.rng.uniform(1, 240))
        else:
            effective = self.now - timedelta(days=1)
        try:
            campaign_add_rate(
                campaign=self.campaigns[campaign],
                rate=rate,
                effective_from=effective,
                created_by=self.staff,
                now=self.now,
            )
        except CampaignError:
            if effective >= self.now:
                self.fail(f"a rate of {rate} % from {effective} for {campaign} was refused")
            return f"rate_change {campaign} {rate} refused (in the past)"
        if effective < self.now:
            self.fail(f"a rate of {rate} % for {campaign} was taken from the past ({effective})")
        self.rates[campaign].append((effective, D(rate)))
        return f"rate_change {campaign} {rate} from {effective:%Y-%m-%d %H:%M}"

    def act_plan_change(self) -> str:
        s = self.pick_seller()
        plan = "yearly" if self.plan_at(s, self.now) == "monthly" else "monthly"
        this_month = month_start_at(month_of(self.now))
        following = month_start_at(next_month(month_of(self.now)))
        roll = self.rng.random()
        if roll < 0.1:
            effective = this_month - timedelta(hours=1)
        elif roll < 0.3 or local_date(self.now + timedelta(days=1)).day == 1:
            # Not during a month's last day: "on the yearly plan on the month's last day" is
            # then a question of the hour.
            effective = following
        else:
            effective = self.now
        try:
            seller_change_plan(seller=s.seller, plan=plan, effective_at=effective, now=self.now)
        except SellerError:
            if effective >= this_month:
                self.fail(f"a plan change of seller {s.idx} from {effective} was refused")
            return f"plan_change seller={s.idx} refused (before this month)"
        if effective < this_month:
            self.fail(f"a plan change of seller {s.idx} reached back to {effective}")
        s.plans.append((effective, self.next_plan_sequence(), plan))
        return f"plan_change seller={s.idx} {plan} from {effective:%Y-%m-%d %H:%M}"

    # Actions: FX rates, jobs, wallet, clock ----------------------------------------------------

    def fx_truth(self, day: date) -> tuple[Decimal, datetime]:
        """The EUR rate of a day and when it becomes known: usually the next day, sometimes
        weeks late. Drawn from its own generator so that it does not depend on the run."""
        rng = random.Random(self.seed * 1_000_003 + day.toordinal())  # noqa: S311
        rate = D(rng.randint(95_000_000, 125_000_000)) / D(100_000_000)
        delay = 1 if rng.random() < 0.75 else rng.randint(5, 40)
        return rate, local_midnight(day + timedelta(days=delay))

    def act_fx_import(self) -> str:
        rows = []
        day = local_date(self.start) - timedelta(days=100)
        today = local_date(self.now)
        while day <= today:
            rate, known_at = self.fx_truth(day)
            if known_at <= self.now and (day not in self.fx_known or self.rng.random() < 0.05):
                rows.append((day, rate))
            day += timedelta(days=1)
        path = self.workdir / f"fx-{self.step_no}.csv"
        path.write_text(
            "date,currency,rate_to_usd\n" + "".join(f"{d.isoformat()},EUR,{r}\n" for d, r in rows),
            encoding="utf-8",
        )
        imported = import_fx_rates(path)
        if imported != len(rows):
            self.fail(f"import_fx_rates imported {imported} of {len(rows)} rates")
        self.fx_known.update(rows)
        return f"fx_import {len(rows)} rates"

    def as_of(self) -> datetime:
        if self.rng.random() < 0.2:
            return self.now - timedelta(hours=self.rng.uniform(0, 30))
        return self.now

    def twice(self, job, as_of: datetime, **kwargs) -> str:
        """A job, then the same job again a second later: the second changes nothing. The
        first run is sometimes fanned out over the sellers in two groups, as the Celery
        tasks do."""
        fan_out = self.rng.random() < 0.3
        if fan_out:
            ids = [s.seller.pk for s in self.sellers]
            self.rng.shuffle(ids)
            cut = self.rng.randint(1, len(ids) - 1)
            for group in (ids[:cut], ids[cut:]):
                job(as_of, seller_ids=group, **kwargs)
                self.check(f"{job.__name__} for sellers {group}")
        else:
            job(as_of, **kwargs)
            self.check(f"{job.__name__} (first run)")
        self.advance(timedelta(seconds=1))
        job(as_of, **kwargs)
        return " (fanned out per seller)" if fan_out else ""

    def act_settle(self) -> str:
        as_of = self.as_of()
        return f"settle_fees as_of={as_of:%Y-%m-%d %H:%M}" + self.twice(self.settle, as_of)

    def act_close(self) -> str:
        as_of = self.as_of()
        if self.rng.random() < 0.2:  # the operator's `close_month YYYY-MM`
            ended = [m for (_, m) in self.months if m < month_of(as_of)]
            ended += [
                month_of(o.times["delivered_at"])
                for o in self.orders.values()
                if self.counts(o) and month_of(o.times["delivered_at"]) < month_of(as_of)
            ]
            month = self.rng.choice(ended) if ended else None
            if month is not None:
                fanned = self.twice(self.close, as_of, month=month)
                return f"close_months {month:%Y-%m} as_of={as_of:%Y-%m-%d %H:%M}{fanned}"
        return f"close_months as_of={as_of:%Y-%m-%d %H:%M}" + self.twice(self.close, as_of)

    def act_credit(self) -> str:
        as_of = self.as_of()
        return f"credit_cashback as_of={as_of:%Y-%m-%d %H:%M}" + self.twice(self.credit, as_of)

    def act_cron(self) -> str:
        if self.rng.random() < 0.7:
            self.act_fx_import()
        for job in (self.settle, self.close, self.credit):
            self.twice(job, self.now)
        return "cron: settle, close, credit"

    def act_wallet_adjust(self) -> str:
        s = self.pick_seller()
        if self.rng.random() < 0.5:
            amount = self.money(CENT, D("40"))
        else:
            amount = -self.money(CENT, s.balance + D("5"))
        try:
            wallet_adjust(
                seller_id=s.seller.pk,
                amount=amount,
                reason="Simulated correction",
                staff=self.staff,
            )
        except WalletError as exc:
            if s.balance + amount >= 0:
                self.fail(f"an adjustment of {amount} to {s.balance} was refused: {exc}")
            return f"wallet_adjust seller={s.idx} {amount} refused"
        if s.balance + amount < 0:
            self.fail(f"an adjustment of {amount} took seller {s.idx}'s {s.balance} below zero")
        s.balance += amount
        s.adjustments += amount
        return f"wallet_adjust seller={s.idx} {amount}"

    def act_jump_days(self) -> str:
        self.advance(timedelta(days=self.rng.uniform(1, 6)))
        return "jump_days"

    def act_jump_30_days(self) -> str:
        self.advance(timedelta(days=30))
        return "jump_30_days"

    def act_next_month(self) -> str:
        target = month_start_at(next_month(month_of(self.now)))
        self.advance(target - self.now + timedelta(minutes=self.rng.uniform(1, 180)))
        if self.rng.random() < 0.5:
            return "next_month, then " + self.act_cron()
        return "next_month"

    def act_before_month_end(self) -> str:
        target = month_start_at(next_month(month_of(self.now)))
        target -= timedelta(minutes=self.rng.uniform(1, 90))
        if target > self.now:
            self.advance(target - self.now)
        return "before_month_end"

    # Jobs, with what the model expects of them --------------------------------------------

    def settle(self, as_of: datetime, seller_ids: list[int] | None = None) -> None:
        current = week_start(local_date(as_of))
        waiting = FeeEntry.objects.filter(settled_line__isnull=True)
        if seller_ids is not None:
            waiting = waiting.filter(seller_id__in=seller_ids)
        waiting = list(waiting.values_list("pk", "seller_id", "currency", "occurred_at"))
        last_before: dict[tuple, date] = {}
        for seller_id, currency, start in SettledRecord.objects.values_list(
            "seller_id", "currency", "period_start"
        ):
            key = (seller_id, currency)
            last_before[key] = max(start, last_before.get(key, start))
        existing = set(SettledRecord.objects.values_list("pk", flat=True))
        settle_fees(as_of=as_of, seller_ids=seller_ids)
        # SPEC 6: an entry is settled in its own period once that has ended or, when that
        # period was settled already, in the next period that was not.
        for pk, seller_id, currency, occurred_at in waiting:
            period = week_start(local_date(occurred_at))
            last = last_before.get((seller_id, currency))
            if last is not None and period <= last:
                period = last + timedelta(days=7)
            if period < current:
                self.must_be_settled[pk] = period
        for record in SettledRecord.objects.exclude(pk__in=existing):
            key = (record.seller_id, record.currency)
            if key in last_before and record.period_start <= last_before[key]:
                self.fail(
                    f"settled record {record.pk} ({record.period_start}) is not after the last "
                    f"period settled before it ({last_before[key]})"
                )
            if record.period_end >= current:
                self.fail(f"settled record {record.pk} ends {record.period_end}: not ended")
        self.stats["settle_runs"] += 1

    def close(
        self, as_of: datetime, seller_ids: list[int] | None = None, month: date | None = None
    ) -> None:
        current = month_of(as_of)

        def in_scope(idx: int, m: date) -> bool:
            return (
                m < current
                and (month is None or m == month)
                and (seller_ids is None or self.sellers[idx].seller.pk in seller_ids)
            )

        pending: dict[tuple[int, date], list[OrderModel]] = defaultdict(list)
        for o in self.orders.values():
            if o.accrual is None and self.counts(o):
                key = (o.seller.idx, month_of(o.times["delivered_at"]))
                if in_scope(*key):
                    pending[key].append(o)
        for key, m in self.months.items():
            if m.status == "waiting_fx" and in_scope(*key):
                pending.setdefault(key, [])
        for (idx, m), orders in pending.items():
            self.expect_close(self.sellers[idx], m, sorted(orders, key=lambda o: o.pk))
        close_months(as_of=as_of, seller_ids=seller_ids, month=month)
        self.stats["close_runs"] += 1

    def expect_close(self, s: SellerModel, month: date, orders: list[OrderModel]) -> None:
        key = (s.idx, month)
        known = self.months.get(key)
        gmvs = [self.gmv_cents(o) for o in orders]
        if known is not None and known.status == "closed":  # late additions at its rate
            for o, g in zip(orders, gmvs, strict=True):
                if g is not None:
                    amount = half_up(D(g) / 100 * known.rate / 100)
                    o.accrual = self.accrual(o, month, g, amount, late=True)
            return
        if any(g is None for g in gmvs):
            self.months[key] = MonthModel(
                "waiting_fx", len(orders), D(sum(g for g in gmvs if g is not None)) / 100
            )
            return
        gmv = D(sum(gmvs)) / 100
        plan = self.plan_at(s, month_start_at(next_month(month)) - timedelta(microseconds=1))
        tier_rate, bonus = self.tier(gmv, plan)
        rate = tier_rate + bonus
        total = half_up(gmv * rate / 100)
        self.months[key] = MonthModel(
            "closed", len(orders), gmv, plan, tier_rate, bonus, rate, total
        )
        # Shares: rounded down to the cent, the cents left to the largest remainders, ties
        # by order id.
        total_cents, month_cents = int(total * 100), sum(gmvs)
        floors = [g * total_cents // month_cents if month_cents else 0 for g in gmvs]
        remainders = [g * total_cents % month_cents if month_cents else 0 for g in gmvs]
        leftover = total_cents - sum(floors)
        ranked = sorted(range(len(orders)), key=lambda i: (-remainders[i], orders[i].pk))
        for place, i in enumerate(ranked):
            amount = D(floors[i] + (1 if place < leftover else 0)) / 100
            orders[i].accrual = self.accrual(orders[i], month, gmvs[i], amount, late=False)

    def accrual(self, o: OrderModel, month: date, gmv_cents: int, amount, *, late) -> AccrualModel:
        self.stats["accruals"] += 1
        return AccrualModel(
            month=month,
            gmv=D(gmv_cents) / 100,
            amount=amount,
            refunded_at_close=o.refunded,
            late=late,
            due_at=o.times["delivered_at"] + CREDIT_AFTER,
        )

    def credit(self, as_of: datetime, seller_ids: list[int] | None = None) -> None:
        for o in self.orders.values():
            a = o.accrual
            if a is None or a.status != "pending" or a.due_at > as_of:
                continue
            if seller_ids is not None and o.seller.seller.pk not in seller_ids:
                continue
            if o.status == "returned":
                a.status, a.credited = "voided", None
                continue
            if o.refunded <= a.refunded_at_close:
                credited = a.amount
            else:
                was = o.base - a.refunded_at_close
                credited = half_up(a.amount * (o.base - o.refunded) / was) if was > 0 else ZERO
            a.status, a.credited = "credited", credited
            o.seller.balance += credited
            self.stats["credited"] += 1
        credit_cashback(as_of=as_of, seller_ids=seller_ids)
        self.stats["credit_runs"] += 1

    # Checks ------------------------------------------------------------------------------

    def check(self, description: str, *, command: bool = False) -> None:
        problems = [f"fee_mismatches: {p}" for p in fee_mismatches()]
        problems += [f"cashback_mismatches: {p}" for p in cashback_mismatches()]
        problems += [f"wallet_mismatches: {p}" for p in wallet_mismatches()]
        if command:
            try:
                call_command("reconcile", stdout=io.StringIO(), stderr=io.StringIO())
            except Exception as exc:
                problems.append(f"manage.py reconcile: {exc}")
        problems += self.independent_problems()
        if problems:
            self.fail(f"after {description}:\n  " + "\n  ".join(problems[:25]))

    def independent_problems(self) -> list[str]:
        problems: list[str] = []
        for part in (
            self.check_orders,
            self.check_registrations,
            self.check_fees,
            self.check_settlement,
            self.check_cashback,
            self.check_wallets,
        ):
            part(problems)
        return problems

    def check_orders(self, problems: list[str]) -> None:
        by_pk = {o.pk: o for o in self.orders.values()}
        fields = ("pk", "status", "refunded_amount", "tracking_number", *TIME_FIELDS)
        rows = Order.objects.values(*fields)
        if len(rows) != len(by_pk):
            problems.append(f"{len(rows)} orders stored, the model has {len(by_pk)}")
        events = dict(
            OrderEvent.objects.values("order_id")
            .annotate(n=Count("id"))
            .values_list("order_id", "n")
            .order_by()
        )
        for row in rows:
            o = by_pk.get(row["pk"])
            if o is None:
                problems.append(f"order {row['pk']} is not in the model")
                continue
            want = {
                "pk": o.pk,
                "status": o.status,
                "refunded_amount": o.refunded,
                "tracking_number": o.tracking,
                **{f: o.times.get(f) for f in TIME_FIELDS},
            }
            if row != want:
                diff = {k: (row[k], want[k]) for k in want if row[k] != want[k]}
                problems.append(f"order {o.data.external_id}: (stored, model) {diff}")
            if events.get(o.pk, 0) != o.events:
                problems.append(
                    f"order {o.data.external_id} has {events.get(o.pk, 0)} events, not {o.events}"
                )

    def check_registrations(self, problems: list[str]) -> None:
        regs = {r.pk: r for s in self.sellers for r in s.regs}
        history = dict(
            RegistrationEvent.objects.values("registration_id")
            .annotate(n=Count("id"))
            .values_list("registration_id", "n")
            .order_by()
        )
        for pk, status, previous in Registration.objects.values_list(
            "pk", "status", "previous_status"
        ):
            r = regs.get(pk)
            if r is None or (status, previous) != (r.status, r.previous):
                problems.append(f"registration {pk} is {status}/{previous}, model: {r}")
            elif history.get(pk) != len(r.timeline):
                problems.append(f"registration {pk} has {history.get(pk)} history rows")

    def check_fees(self, problems: list[str]) -> None:
        by_pk = {o.pk: o for o in self.orders.values()}
        charges: dict[int, list] = defaultdict(list)
        refunds: dict[int, list] = defaultdict(list)
        for order_id, kind, amount, currency, seller_id in FeeEntry.objects.values_list(
            "order_id", "kind", "amount", "currency", "seller_id"
        ).order_by("pk"):
            o = by_pk[order_id]
            (charges if kind == "charge" else refunds)[order_id].append(amount)
            if currency != o.data.currency or seller_id != o.seller.seller.pk:
                problems.append(f"fee entry of {o.data.external_id} in {currency}/{seller_id}")
        for o in self.orders.values():
            charged, refunded = charges.get(o.pk, []), refunds.get(o.pk, [])
            name = o.data.external_id
            want = [] if o.charge is None else [o.charge]
            if charged != want:
                problems.append(f"order {name} is charged {charged}, expected {want}")
                continue
            if refunded != o.fee_refunds:
                problems.append(f"order {name}: fee refunds {refunded}, expected {o.fee_refunds}")
            if not charged:
                if refunded:
                    problems.append(f"order {name} has fee refunds but no charge")
                continue
            net = charged[0] - sum(refunded, ZERO)
            if net < 0:
                problems.append(f"order {name}: the fee nets to {net}, below zero")
            if o.status == "returned" and net != 0:
                problems.append(f"order {name} is returned; its fee nets to {net}, not 0")
            if o.status == "delivered" and o.refunded == 0:
                expected = half_up(o.base * o.covered_rate / 100)
                if net != expected:
                    problems.append(f"order {name}: fee net {net}, base x rate is {expected}")

    def check_settlement(self, problems: list[str]) -> None:
        entries = {
            pk: (seller_id, currency, kind, amount, order_id, at)
            for pk, seller_id, currency, kind, amount, order_id, at in FeeEntry.objects.values_list(
                "pk", "seller_id", "currency", "kind", "amount", "order_id", "occurred_at"
            )
        }
        lines = defaultdict(list)
        periods = {}
        for record_id, entry_id, start in SettledRecordLine.objects.values_list(
            "record_id", "entry_id", "record__period_start"
        ):
            lines[record_id].append(entry_id)
            periods[entry_id] = start
        for entry_id, period in self.must_be_settled.items():
            if periods.get(entry_id) != period:
                problems.append(
                    f"fee entry {entry_id} is settled in {periods.get(entry_id)}, not {period}"
                )
        for record in SettledRecord.objects.all():
            ids = sorted(lines[record.pk])
            rows = [entries[e] for e in ids]
            charged = sum((r[3] for r in rows if r[2] == "charge"), ZERO)
            refunded = sum((r[3] for r in rows if r[2] == "refund"), ZERO)
            snapshot = (
                record.seller_id,
                record.currency,
                record.period_start,
                record.period_end,
                record.orders_count,
                record.fees_charged,
                record.fees_refunded,
                record.net,
                tuple(ids),
            )
            before = self.settled_snapshot.setdefault(record.pk, snapshot)
            if before != snapshot:
                problems.append(f"settled record {record.pk} changed: {before} -> {snapshot}")
            want = (charged, refunded, charged - refunded, len({r[4] for r in rows}))
            got = (record.fees_charged, record.fees_refunded, record.net, record.orders_count)
            if got != want:
                problems.append(f"settled record {record.pk} says {got}; its entries say {want}")
            if record.period_start != week_start(record.period_start) or (
                record.period_end != record.period_start + timedelta(days=6)
            ):
                problems.append(
                    f"settled record {record.pk}: {record.period_start}–{record.period_end}"
                )
            for entry_id, r in zip(ids, rows, strict=True):
                if (r[0], r[1]) != (record.seller_id, record.currency):
                    problems.append(f"fee entry {entry_id} settled in another seller's record")
                if week_start(local_date(r[5])) > record.period_start:
                    problems.append(f"fee entry {entry_id} settled before its period")
        if len(self.settled_snapshot) != SettledRecord.objects.count():
            problems.append("a settled record disappeared")

    def check_cashback(self, problems: list[str]) -> None:
        months = {
            (m["seller_id"], m["month"]): m
            for m in CashbackMonth.objects.values(
                "seller_id",
                "month",
                "status",
                "orders_count",
                "gmv_usd",
                "plan",
                "tier_rate",
                "bonus_rate",
                "rate",
                "total",
            )
        }
        expected_months = {(self.sellers[i].seller.pk, m): mm for (i, m), mm in self.months.items()}
        if set(months) != set(expected_months):
            problems.append(
                f"cashback months {sorted(set(months) ^ set(expected_months))} differ from model"
            )
        for key, mm in expected_months.items():
            m = months.get(key)
            if m is None:
                continue
            got = (m["status"], m["orders_count"], m["gmv_usd"])
            if mm.status == "closed":
                got += (m["plan"], m["tier_rate"], m["bonus_rate"], m["rate"], m["total"])
                want = (
                    mm.status,
                    mm.orders_count,
                    mm.gmv,
                    mm.plan,
                    mm.tier_rate,
                    mm.bonus_rate,
                    mm.rate,
                    mm.total,
                )
            else:
                want = (mm.status, mm.orders_count, mm.gmv)
            if got != want:
                problems.append(f"cashback month {key}: stored {got}, model {want}")
        by_pk = {o.pk: o for o in self.orders.values()}
        accruals = list(
            Accrual.objects.values(
                "pk",
                "order_id",
                "seller_id",
                "month__month",
                "month__seller_id",
                "month__total",
                "month__status",
                "gmv_usd",
                "amount",
                "refunded_at_close",
                "late",
                "due_at",
                "status",
                "credited_amount",
            )
        )
        shares = defaultdict(lambda: ZERO)
        seen_orders = Counter(a["order_id"] for a in accruals)
        for order_id, n in seen_orders.items():
            if n > 1:
                problems.append(f"order {order_id} is counted in {n} months")
        self.accrual_pks = {}
        for a in accruals:
            o = by_pk[a["order_id"]]
            self.accrual_pks[a["pk"]] = o
            if not a["late"]:
                shares[(a["month__seller_id"], a["month__month"])] += a["amount"]
            if a["month__month"] != month_of(o.times["delivered_at"]) or (
                a["month__seller_id"] != o.seller.seller.pk or a["seller_id"] != o.seller.seller.pk
            ):
                problems.append(f"accrual {a['pk']} of {o.data.external_id} in the wrong month")
            e = o.accrual
            if e is None:
                problems.append(f"order {o.data.external_id} has an accrual the model has not")
                continue
            got = (
                a["gmv_usd"],
                a["amount"],
                a["refunded_at_close"],
                a["late"],
                a["due_at"],
                a["status"],
                a["credited_amount"],
            )
            want = (e.gmv, e.amount, e.refunded_at_close, e.late, e.due_at, e.status, e.credited)
            if got != want:
                problems.append(f"accrual of {o.data.external_id}: stored {got}, model {want}")
        missing = [
            o.data.external_id
            for o in self.orders.values()
            if o.accrual is not None and o.pk not in seen_orders
        ]
        if missing:
            problems.append(f"orders without the accrual the model expects: {missing}")
        for key, m in months.items():
            if m["status"] == "closed" and shares[key] != m["total"]:
                problems.append(f"month {key}: shares add up to {shares[key]}, total {m['total']}")

    def check_wallets(self, problems: list[str]) -> None:
        balances = dict(Wallet.objects.values_list("seller_id", "balance"))
        entries = defaultdict(list)
        references = Counter()
        for e in WalletEntry.objects.values(
            "pk", "wallet__seller_id", "kind", "amount", "balance_after", "reference"
        ).order_by("pk"):
            entries[e["wallet__seller_id"]].append(e)
            if e["reference"]:
                references[e["reference"]] += 1
            snapshot = (
                e["wallet__seller_id"],
                e["kind"],
                e["amount"],
                e["balance_after"],
                e["reference"],
            )
            before = self.wallet_snapshot.setdefault(e["pk"], snapshot)
            if before != snapshot:
                problems.append(f"wallet entry {e['pk']} changed: {before} -> {snapshot}")
        if len(self.wallet_snapshot) != sum(len(v) for v in entries.values()):
            problems.append("a wallet entry disappeared")
        for s in self.sellers:
            seller_id = s.seller.pk
            rows = entries.get(seller_id, [])
            running = ZERO
            for e in rows:
                running += e["amount"]
                if e["balance_after"] != running or running < 0:
                    problems.append(
                        f"wallet entry {e['pk']} of seller {s.idx}: balance_after "
                        f"{e['balance_after']}, running sum {running}"
                    )
            balance = balances.get(seller_id, ZERO)
            if balance != running or balance < 0:
                problems.append(
                    f"wallet of seller {s.idx}: balance {balance}, entries sum {running}"
                )
            if balance != s.balance:
                problems.append(f"wallet of seller {s.idx}: balance {balance}, model {s.balance}")
            adjusted = sum((e["amount"] for e in rows if e["kind"] == "adjustment"), ZERO)
            if adjusted != s.adjustments:
                problems.append(f"seller {s.idx}: adjustments {adjusted}, model {s.adjustments}")
        for pk, o in self.accrual_pks.items():
            n = references.get(f"{CREDIT_REFERENCE}{pk}", 0)
            a = o.accrual
            want = 1 if a is not None and a.status == "credited" and a.credited > 0 else 0
            if n != want:
                problems.append(f"accrual {pk} of {o.data.external_id} is in {n} wallet entries")
        for reference in references:
            if reference.startswith(CREDIT_REFERENCE):
                pk = int(reference.removeprefix(CREDIT_REFERENCE))
                o = self.accrual_pks.get(pk)
                amounts = (
                    [
                        e["amount"]
                        for e in entries.get(o.seller.seller.pk, [])
                        if e["reference"] == reference
                    ]
                    if o
                    else []
                )
                if o is None or amounts != [o.accrual.credited]:
                    problems.append(f"wallet entry {reference} ({amounts}) credits no accrual")

    def summary(self) -> str:
        return (
            f"seed={self.seed} tz={self.time_zone} steps={self.step_no} "
            f"sellers={len(self.sellers)} orders={len(self.orders)} "
            f"days={(self.now - self.start).days} "
            + " ".join(f"{k}={v}" for k, v in sorted(self.stats.items()))
        )
