"""Writes of the orders app: creating orders and applying their steps.

Every change of an order's status goes through `_apply_step`, which checks the step
against `STEPS` and the times, applies it, records the event and runs the effects other
apps subscribed to (`orders.steps`), all in one transaction. An order created past some
steps is checked against the same lifecycle by `order_input_errors` and written as they
leave it, and the effects of each of them run (`_create_many`).
"""

import dataclasses
import logging
import unicodedata
from dataclasses import MISSING, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from core.currencies import is_currency
from core.dates import EARLIEST
from core.money import MAX_AMOUNT
from orders import steps
from orders.inserts import builder, insert_objects, insert_rows
from orders.models import EventType, Order, OrderEvent, OrderItem, OrderStatus, fee_base
from orders.selectors import orders_by_external_id
from sellers.models import Seller

logger = logging.getLogger(__name__)
S = OrderStatus
# How far ahead of our clock a client's time may be before it counts as the future.
CLOCK_SKEW = timedelta(minutes=5)
ZERO = Decimal("0.00")
# The most items an order has, and of one item (docs/decisions.md, "Orders").
MAX_ITEMS = 100
MAX_QUANTITY = 1_000_000


class OrderError(Exception):
    """An order request refused; nothing was changed."""


class OrderInvalid(OrderError):
    """Bad input (HTTP 400): a message for each field."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class OrderConflict(OrderError):
    """Well formed, but the order's state does not allow it (HTTP 409)."""


@dataclass(frozen=True)
class Step:
    from_statuses: tuple[OrderStatus, ...]
    to_status: OrderStatus
    time_field: str


# The order lifecycle: unpaid -> paid -> shipped -> delivered -> returned, with
# payment_failed (from unpaid) and cancelled (from unpaid, paid or shipped) ending it. A
# refund keeps an order delivered until the refunds reach what the buyer paid; then it is
# returned (handled in `_apply_step`).
STEPS: dict[str, Step] = {
    EventType.PAID: Step((S.UNPAID,), S.PAID, "paid_at"),
    EventType.PAYMENT_FAILED: Step((S.UNPAID,), S.PAYMENT_FAILED, "payment_failed_at"),
    EventType.CANCELLED: Step((S.UNPAID, S.PAID, S.SHIPPED), S.CANCELLED, "cancelled_at"),
    EventType.SHIPPED: Step((S.PAID,), S.SHIPPED, "shipped_at"),
    EventType.DELIVERED: Step((S.SHIPPED,), S.DELIVERED, "delivered_at"),
    EventType.REFUNDED: Step((S.DELIVERED,), S.DELIVERED, "returned_at"),
}
# The steps a status at creation has passed, in order; their times are required.
STATUS_PATH: dict[str, tuple[str, ...]] = {
    S.UNPAID: (),
    S.PAID: ("paid",),
    S.SHIPPED: ("paid", "shipped"),
    S.DELIVERED: ("paid", "shipped", "delivered"),
    S.RETURNED: ("paid", "shipped", "delivered", "refunded"),
    S.PAYMENT_FAILED: ("payment_failed",),
    S.CANCELLED: ("cancelled",),
}
TIME_FIELDS = (
    "paid_at",
    "shipped_at",
    "delivered_at",
    "returned_at",
    "cancelled_at",
    "payment_failed_at",
)


@dataclass(frozen=True)
class ItemInput:
    sku: str
    quantity: int
    unit_price: Decimal
    name: str = ""


@dataclass(frozen=True)
class OrderInput:
    """A validated order as a client sends it (types checked; rules not yet)."""

    external_id: str
    placed_at: datetime
    currency: str
    net_product_price: Decimal
    fulfillment_channel: str
    seller_funded_discount: Decimal = ZERO
    bonus_cashback_voucher: bool = False
    campaign: str = ""
    tracking_number: str = ""
    items: tuple[ItemInput, ...] | None = None
    status: str = S.UNPAID
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    returned_at: datetime | None = None
    cancelled_at: datetime | None = None
    payment_failed_at: datetime | None = None
    refunded_amount: Decimal = ZERO
    refunded_at: datetime | None = None

    @property
    def fee_base(self) -> Decimal:
        return fee_base(self.net_product_price, self.seller_funded_discount)

    @classmethod
    def of(cls, values: dict) -> "OrderInput":
        """`OrderInput(**values)`, seven times as fast for the thousand inputs of a bulk
        request: a frozen dataclass's __init__ sets each field through object.__setattr__.
        Values that are not exactly its fields go through __init__, which says what is
        wrong."""
        if not (_INPUT_REQUIRED <= values.keys() <= _INPUT_FIELDS):
            return cls(**values)
        data = object.__new__(cls)
        data.__dict__.update(_INPUT_DEFAULTS)
        data.__dict__.update(values)
        return data

    def canonical(self) -> dict:
        """The input as JSON, times in UTC and amounts with 2 decimals: equal inputs give
        equal dicts, so a repeated creation is recognised. Every field, written out: what
        `dataclasses.asdict` and a walk over its result gave, five times as fast (the stored
        payloads of existing orders compare equal to it; tests/orders/test_canonical.py)."""
        placed, paid, shipped, delivered, returned, cancelled, failed, refunded = _utc_each(
            (
                self.placed_at,
                self.paid_at,
                self.shipped_at,
                self.delivered_at,
                self.returned_at,
                self.cancelled_at,
                self.payment_failed_at,
                self.refunded_at,
            )
        )
        return {
            "external_id": self.external_id,
            "placed_at": placed,
            "currency": self.currency,
            "net_product_price": f"{self.net_product_price:.2f}",
            "fulfillment_channel": self.fulfillment_channel,
            "seller_funded_discount": f"{self.seller_funded_discount:.2f}",
            "bonus_cashback_voucher": self.bonus_cashback_voucher,
            "campaign": self.campaign,
            "tracking_number": self.tracking_number,
            "items": None
            if self.items is None
            else [
                {
                    "sku": item.sku,
                    "quantity": item.quantity,
                    "unit_price": f"{item.unit_price:.2f}",
                    "name": item.name,
                }
                for item in self.items
            ],
            "status": self.status,
            "paid_at": paid,
            "shipped_at": shipped,
            "delivered_at": delivered,
            "returned_at": returned,
            "cancelled_at": cancelled,
            "payment_failed_at": failed,
            "refunded_amount": f"{self.refunded_amount:.2f}",
            "refunded_at": refunded,
        }


_INPUT_DEFAULTS = {
    f.name: f.default for f in dataclasses.fields(OrderInput) if f.default is not MISSING
}
_INPUT_FIELDS = frozenset(f.name for f in dataclasses.fields(OrderInput))
_INPUT_REQUIRED = _INPUT_FIELDS - _INPUT_DEFAULTS.keys()


def _utc_each(values: tuple[datetime | None, ...]) -> list[str | None]:
    """Each time in UTC, ISO 8601 (None for none). A time that is the one before it (the
    request's parser gives equal texts one object: an order paid as it was placed) is
    written once: a quarter of the time of writing each, and never slower."""
    written: list[str | None] = []
    last = text = None
    for value in values:
        if value is None:
            written.append(None)
            continue
        if value is not last:
            last, text = value, value.astimezone(UTC).isoformat()
        written.append(text)
    return written


@dataclass(frozen=True)
class EventInput:
    type: str
    occurred_at: datetime
    event_id: str | None = None
    tracking_number: str = ""
    amount: Decimal | None = None

    def canonical(self) -> dict:
        return {
            "type": self.type,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "event_id": self.event_id,
            "tracking_number": self.tracking_number,
            "amount": None if self.amount is None else f"{self.amount:.2f}",
        }


@dataclass
class _Errors:
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def order_input_errors(data: OrderInput, *, now: datetime) -> dict[str, list[str]]:
    """The rules of a new order, field by field: empty when it may be created."""
    e = _Errors()
    for message in external_id_errors(data.external_id):
        e.add("external_id", message)
    if not is_currency(data.currency):
        e.add("currency", f"{data.currency!r} is not an ISO 4217 currency code, such as USD.")
    for name in ("net_product_price", "seller_funded_discount", "refunded_amount"):
        amount = getattr(data, name)
        if amount < 0:
            e.add(name, "An amount is 0.00 or more.")
        elif amount > MAX_AMOUNT:
            e.add(name, AMOUNT_ABOVE_MAX)
    if data.items:
        for message in _item_errors(data.items):
            e.add("items", message)
    if data.seller_funded_discount > data.net_product_price:
        e.add(
            "seller_funded_discount",
            f"The discount ({data.seller_funded_discount:.2f}) is above the net product price "
            f"({data.net_product_price:.2f}).",
        )
    if data.items is not None and data.items:
        # Exact within the bounds: a line has at most 18 digits and a hundred of them 20,
        # within the 28 of Decimal's default context.
        total = sum((item.quantity * item.unit_price for item in data.items), ZERO)
        if total != data.net_product_price:
            e.add(
                "items",
                f"The items add up to {total:.2f}, not to the net product price "
                f"({data.net_product_price:.2f}).",
            )
    status, placed_at, refunded_at = data.status, data.placed_at, data.refunded_at
    times = [  # the step times given, in the order of TIME_FIELDS
        (name, value)
        for name, value in zip(
            TIME_FIELDS,
            (
                data.paid_at,
                data.shipped_at,
                data.delivered_at,
                data.returned_at,
                data.cancelled_at,
                data.payment_failed_at,
            ),
            strict=True,
        )
        if value is not None
    ]
    given = {name for name, _ in times}
    needed, allowed = _STATUS_TIMES[status]
    if status == S.CANCELLED and data.shipped_at is not None and data.paid_at is None:
        e.add("paid_at", "An order that was shipped was paid first: give paid_at.")
    if not needed <= given:
        for name in sorted(needed - given):
            e.add(name, f"A {status} order needs {name}.")
    if not given <= allowed:
        for name in sorted(given - allowed):
            e.add(name, f"A {status} order has no {name}.")
    if ("shipped_at" in given or status in _SHIPPED) and not data.tracking_number.strip():
        e.add("tracking_number", "A shipped order needs its tracking number.")

    refundable = data.fee_base
    if data.refunded_amount:
        if status == S.DELIVERED:
            if data.refunded_amount >= refundable:
                e.add(
                    "refunded_amount",
                    "Refunds that reach the amount paid make the order returned: use status "
                    "returned with returned_at.",
                )
            if refunded_at is None:
                e.add("refunded_at", "Give the time of the refund (refunded_at).")
        elif status == S.RETURNED:
            if data.refunded_amount != refundable:
                e.add(
                    "refunded_amount",
                    f"A returned order has refunded all it was paid ({refundable:.2f}).",
                )
        else:
            e.add("refunded_amount", "Only a delivered or returned order has refunds.")
    if refunded_at is not None and not (status == S.DELIVERED and data.refunded_amount):
        e.add("refunded_at", "refunded_at goes with a partial refund of a delivered order.")

    # Times: none before the step it follows, none in the future.
    chain = [("placed_at", placed_at)]
    chain += [(name, value) for name, value in times if name in _CHAINED]
    if status == S.DELIVERED and refunded_at is not None:
        chain.append(("refunded_at", refunded_at))
    for (before, earlier), (name, later) in pairwise(chain):
        if later < earlier:
            e.add(name, f"{name} ({later.isoformat()}) is before {before} ({earlier.isoformat()})")
    last_name, last = chain[-1]
    for name, value in times:
        if name in _ENDING and value < last:
            e.add(name, f"{name} is before {last_name} ({last.isoformat()}).")
    given_times = [("placed_at", placed_at), *times]
    if refunded_at is not None:
        given_times.append(("refunded_at", refunded_at))
    latest_allowed = now + CLOCK_SKEW
    if max(value for _, value in given_times) > latest_allowed:
        for name, value in given_times:
            if value > latest_allowed:
                e.add(name, f"{name} ({value.isoformat()}) is in the future.")
    if min(value for _, value in given_times) < EARLIEST:
        for name, value in given_times:
            if (message := earliest_error(name, value)) is not None:
                e.add(name, message)
    return e.errors


AMOUNT_ABOVE_MAX = f"An amount is at most {MAX_AMOUNT}."
ITEMS_ABOVE_MAX = f"An order has at most {MAX_ITEMS} items."


def _item_errors(items: tuple[ItemInput, ...]) -> list[str]:
    errors = []
    if len(items) > MAX_ITEMS:
        errors.append(ITEMS_ABOVE_MAX)
    if any(item.quantity < 1 or item.unit_price < 0 for item in items):
        errors.append("An item's quantity is 1 or more and its unit price 0.00 or more.")
    if any(item.quantity > MAX_QUANTITY or item.unit_price > MAX_AMOUNT for item in items):
        errors.append(
            f"An item's quantity is at most {MAX_QUANTITY:,} and its unit price at most "
            f"{MAX_AMOUNT}."
        )
    return errors


def earliest_error(name: str, value: datetime) -> str | None:
    """Why the time `name` is refused for being too early, or None."""
    if value >= EARLIEST:
        return None
    return (
        f"{name} ({value.isoformat()}) is before {EARLIEST:%Y-%m-%d}, the earliest time an "
        "order may have."
    )


# An external id is read back at /api/v1/orders/<external_id>/ (orders/urls.py), and takes
# events at .../<external_id>/events/. Ids that route elsewhere, or that clients rewrite on
# the way (a "." or ".." segment), could be created but never read.
_ROUTED_ELSEWHERE = frozenset(("bulk",))
_INVISIBLE = frozenset(("Cc", "Cf", "Zl", "Zp"))


def external_id_errors(external_id: str) -> list[str]:
    """Why an external id cannot be taken: empty when it can (docs/decisions.md)."""
    if not external_id.strip():
        return ["An order needs its external id."]
    errors = []
    if external_id != external_id.strip():
        errors.append("An external id does not start or end with white space.")
    # Every character of categories C and Z but the space is not printable: the usual id,
    # printable, needs no look at each character.
    if not external_id.isprintable():
        invisible = next((c for c in external_id if unicodedata.category(c) in _INVISIBLE), None)
        if invisible is not None:
            errors.append(
                "An external id has no control or invisible characters, such as a line "
                f"break or a zero-width space; it has U+{ord(invisible):04X}."
            )
    segments = external_id.split("/")
    if external_id in _ROUTED_ELSEWHERE:
        errors.append(
            f"{external_id!r} is not an external id: /api/v1/orders/{external_id}/ is "
            "another endpoint."
        )
    elif len(segments) > 1 and segments[-1] == "events":
        errors.append(
            "An external id does not end with /events: its order's URL would be its events'."
        )
    if "." in segments or ".." in segments:
        errors.append(
            'An external id is not "." or "..", nor has them between slashes: clients '
            "rewrite such URLs, so that its order could not be read."
        )
    return errors


# The statuses of an order that was shipped, the steps whose times follow one another from
# placed_at, and those that end an order from where it stands.
_SHIPPED = frozenset(status for status, path in STATUS_PATH.items() if EventType.SHIPPED in path)
_CHAINED = frozenset(("paid_at", "shipped_at", "delivered_at", "returned_at"))
_ENDING = frozenset(("cancelled_at", "payment_failed_at"))


def _status_times(status: str) -> tuple[frozenset[str], frozenset[str]]:
    """The step times an order created in `status` needs, and those it may have."""
    needed = {STEPS[step].time_field for step in STATUS_PATH[status] if step != EventType.REFUNDED}
    if status == S.RETURNED:
        needed.add("returned_at")
    allowed = set(needed)
    if status == S.CANCELLED:
        allowed |= {"paid_at", "shipped_at"}  # cancelled after payment or shipping
    return frozenset(needed), frozenset(allowed)


_STATUS_TIMES = {status: _status_times(status) for status in STATUS_PATH}


@dataclass
class CreateResult:
    """The outcome of one order of a creation request."""

    external_id: str
    result: str  # "created", "unchanged" or "error"
    order: Order | None = None
    errors: dict[str, list[str]] | None = None
    conflict: bool = False  # an error because the external id exists with other data


def _conflict_message(external_id: str, first: dict, canonical: dict) -> str:
    differing = sorted(k for k in canonical if first.get(k) != canonical[k])
    return (
        f"An order with external_id {external_id!r} exists with other data "
        f"({', '.join(differing)}). Send the same data to read it, or events to change it."
    )


def _same_or_conflict(order: Order, first: dict, canonical: dict) -> CreateResult:
    if first == canonical:
        return CreateResult(order.external_id, "unchanged", order=order)
    message = _conflict_message(order.external_id, first, canonical)
    return CreateResult(
        order.external_id, "error", order=order, errors={"external_id": [message]}, conflict=True
    )


def _advance(
    order: Order,
    *,
    type: str,
    occurred_at: datetime,
    now: datetime,
    tracking_number: str = "",
    amount: Decimal | None = None,
) -> tuple[list[str], Decimal | None]:
    """Check one step against the lifecycle and the times and apply it to the order in
    memory. Returns the fields it changed and the refund amount (for refunds)."""
    step = STEPS[type]
    if order.status not in step.from_statuses:
        allowed = " or ".join(s.label.lower() for s in step.from_statuses)
        raise OrderConflict(
            f"The order is {order.get_status_display().lower()}: “{EventType(type).label}” "
            f"needs an order that is {allowed}."
        )
    if occurred_at > now + CLOCK_SKEW:
        raise OrderInvalid({"occurred_at": [f"{occurred_at.isoformat()} is in the future."]})
    latest_name, latest = "placed_at", order.placed_at  # the first of equal times is named
    for name in ("paid_at", "shipped_at", "delivered_at"):
        value = getattr(order, name)
        if value is not None and value > latest:
            latest_name, latest = name, value
    if occurred_at < latest:
        raise OrderInvalid(
            {"occurred_at": [f"It is before the order's {latest_name} ({latest.isoformat()})."]}
        )
    changed = ["status"]
    if type == EventType.SHIPPED:
        tracking_number = (tracking_number or order.tracking_number).strip()
        if not tracking_number:
            raise OrderInvalid({"tracking_number": ["A shipped order needs a tracking number."]})
        order.tracking_number = tracking_number
        changed.append("tracking_number")
    if type == EventType.REFUNDED:
        remaining = order.refundable_amount
        amount = remaining if amount is None else amount
        if amount <= 0 and remaining > 0:
            raise OrderInvalid({"amount": ["A refund is more than 0.00."]})
        if amount > remaining:
            raise OrderConflict(
                f"A refund of {amount:.2f} is more than what remains to refund ({remaining:.2f})."
            )
        order.refunded_amount += amount
        changed.append("refunded_amount")
        if order.refunded_amount == order.fee_base:
            order.status = S.RETURNED
            order.returned_at = occurred_at
            changed.append("returned_at")
        return changed, amount
    order.status = step.to_status
    setattr(order, step.time_field, occurred_at)
    changed.append(step.time_field)
    return changed, None


def _apply_step(
    order: Order,
    *,
    type: str,
    occurred_at: datetime,
    now: datetime,
    event_id: str = "",
    tracking_number: str = "",
    amount: Decimal | None = None,
    payload: dict | None = None,
) -> OrderEvent:
    """Apply one step to a stored order: change it, record the event and run what other
    apps attached to the step. The caller holds the order's row lock."""
    changed, amount = _advance(
        order,
        type=type,
        occurred_at=occurred_at,
        now=now,
        tracking_number=tracking_number,
        amount=amount,
    )
    order.save(update_fields=[*changed, "updated_at"])
    event = OrderEvent.objects.create(
        order=order,
        event_id=event_id or "",
        type=type,
        occurred_at=occurred_at,
        amount=amount,
        payload=payload or {},
        received_at=now,
    )
    steps.run(type, [steps.AppliedStep(order=order, event=event)])
    return event


def _creation_steps(data: OrderInput) -> list[tuple[str, datetime, Decimal | None]]:
    """The steps a new order passes to reach its status, in lifecycle order, each with its
    time and, for a refund, its amount: all that was paid for a returned order."""
    if data.status == S.CANCELLED:
        passed = [("paid", data.paid_at, None), ("shipped", data.shipped_at, None)]
        return [p for p in passed if p[1] is not None] + [("cancelled", data.cancelled_at, None)]
    plan = [
        (step, getattr(data, STEPS[step].time_field), None)
        for step in STATUS_PATH[data.status]
        if step != EventType.REFUNDED
    ]
    if data.status == S.DELIVERED and data.refunded_amount:
        plan.append(("refunded", data.refunded_at, data.refunded_amount))
    if data.status == S.RETURNED:
        plan.append(("refunded", data.returned_at, data.fee_base))
    return plan


# Handlers of a batch run step by step in this order, as they would for a single order.
LIFECYCLE = ("paid", "payment_failed", "shipped", "delivered", "cancelled", "refunded")


# What the bulk writes give the database, by attname (orders.inserts).
ITEM_COLUMNS = ("order_id", "position", "sku", "name", "quantity", "unit_price")
EVENT_COLUMNS = ("order_id", "event_id", "type", "occurred_at", "amount", "payload", "received_at")


def _create_many(
    *, seller: Seller, batch: list[tuple[OrderInput, dict]], now: datetime
) -> list[Order]:
    """Create new orders in a few statements: each is built as the steps it was created
    past left it, then orders, items and events are inserted in bulk and the effects of
    each step run once for the whole batch. The caller holds the transaction.

    An order's `created` event holds its creation input and stands for the steps it was
    created past (their times are the order's): they were not sent one by one, and their
    effects point at it. A refund at creation is an event of its own, with its amount, as
    each refund is. So a backfilled order is two rows, not five."""
    orders: list[Order] = []
    # The events, in the order they happened: (order, type, occurred_at, amount, payload).
    plans: list[tuple[Order, str, datetime, Decimal | None, dict]] = []
    # The steps passed, each with the index of its event in `plans`.
    passed: list[tuple[str, Order, int]] = []
    subscribed = {step for step in LIFECYCLE if steps.subscribers(step)}
    new_order = builder(Order)
    for data, canonical in batch:
        order = _new_order(seller, data, new_order)
        created = len(plans)
        plans.append((order, EventType.CREATED, data.placed_at, None, canonical))
        for type, occurred_at, amount in _creation_steps(data):
            if type == EventType.REFUNDED:
                if type in subscribed:
                    passed.append((type, order, len(plans)))
                plans.append((order, type, occurred_at, amount, {}))
            elif type in subscribed:
                passed.append((type, order, created))
        orders.append(order)

    insert_objects(orders)
    items = [
        (order.id, n, item.sku, item.name, item.quantity, item.unit_price)
        for order, (data, _) in zip(orders, batch, strict=True)
        for n, item in enumerate(data.items or (), start=1)
    ]
    insert_rows(OrderItem, ITEM_COLUMNS, items, ids=False)
    event_ids = insert_rows(
        OrderEvent,
        EVENT_COLUMNS,
        [
            (order.id, "", type, occurred_at, amount, payload, now)
            for order, type, occurred_at, amount, payload in plans
        ],
    )

    # The effects: only the events of steps something subscribed to are needed as objects.
    applied: dict[str, list[steps.AppliedStep]] = {step: [] for step in subscribed}
    events: dict[int, OrderEvent] = {}
    new_event, alias = builder(OrderEvent), connection.alias
    for type, order, at in passed:
        event = events.get(at)
        if event is None:
            _, event_type, occurred_at, amount, payload = plans[at]
            values = {
                "id": event_ids[at],
                "order_id": order.id,
                "event_id": "",
                "type": event_type,
                "occurred_at": occurred_at,
                "amount": amount,
                "payload": payload,
                "received_at": now,
            }
            event = events[at] = new_event(values)
            event._state.adding, event._state.db = False, alias
            event._state.fields_cache["order"] = order
        applied[type].append(steps.AppliedStep(order=order, event=event))
    for step in LIFECYCLE:
        steps.run(step, applied.get(step, []))
    return orders


def _new_order(seller: Seller, data: OrderInput, build) -> Order:
    """The order as the steps it was created past left it: its status and their times as
    given, which `order_input_errors` checked against the lifecycle (each step's status
    and time, as `_advance` checks an event's); a returned order has refunded all it was
    paid (tests/orders/test_lifecycle.py creates each status both ways and compares)."""
    shipped = data.shipped_at is not None
    values = {
        "id": None,
        "seller_id": seller.id,
        "external_id": data.external_id,
        "placed_at": data.placed_at,
        "currency": data.currency,
        "net_product_price": data.net_product_price,
        "seller_funded_discount": data.seller_funded_discount,
        "bonus_cashback_voucher": data.bonus_cashback_voucher,
        "campaign_slug": data.campaign,
        "fulfillment_channel": data.fulfillment_channel,
        "tracking_number": data.tracking_number.strip() if shipped else data.tracking_number,
        "status": data.status,
        "paid_at": data.paid_at,
        "shipped_at": data.shipped_at,
        "delivered_at": data.delivered_at,
        "returned_at": data.returned_at,
        "cancelled_at": data.cancelled_at,
        "payment_failed_at": data.payment_failed_at,
        "refunded_amount": data.fee_base if data.status == S.RETURNED else data.refunded_amount,
        "created_at": None,
        "updated_at": None,
    }
    order = build(values)
    order._state.fields_cache["seller"] = seller
    return order


def orders_create(
    *, seller: Seller, inputs: list[OrderInput], now: datetime | None = None
) -> list[CreateResult]:
    """Create orders in any status, each passing through the steps it has passed so that
    every effect happens; one result per input, in order.

    An external id that exists answers "unchanged" when the data is the same as when it
    was created, and an error (a conflict) when it is not. Each order is atomic on its own:
    the batch is written in one go, and if that fails each order is written alone.

    Most batches are new orders, so the batch is written first without looking its ids
    up: the unique (seller, external_id) refuses it if one of them exists (a retry, or a
    concurrent request), and only then are they looked up. The orders that exist are
    answered, and the new ones written in one go again. A batch refused with none of its
    ids existing (an effect failed) is written order by order straight away.
    """
    now = now or timezone.now()
    results: list[CreateResult | None] = [None] * len(inputs)
    first: dict[str, tuple[int, OrderInput, dict]] = {}
    repeats: list[tuple[int, str, dict]] = []  # an external id twice in one request
    for i, data in enumerate(inputs):
        errors = order_input_errors(data, now=now)
        if errors:
            results[i] = CreateResult(data.external_id, "error", errors=errors)
        elif data.external_id in first:
            repeats.append((i, data.external_id, data.canonical()))
        else:
            first[data.external_id] = (i, data, data.canonical())

    existing: dict[str, Order] = {}
    entries = list(first.values())
    if entries and not _created_at_once(seller, entries, results, now=now):
        existing = orders_by_external_id(seller=seller, external_ids=first.keys())
        new = []
        for i, data, canonical in entries:
            if data.external_id in existing:
                order = existing[data.external_id]
                results[i] = _same_or_conflict(order, order.first_payload or {}, canonical)
            else:
                new.append((i, data, canonical))
        # Refused with none existing (an effect failed), or again (a concurrent request
        # created one since): each order alone, so that the others are not held back by it.
        if new and not (existing and _created_at_once(seller, new, results, now=now)):
            for i, data, canonical in new:
                results[i] = _create_alone(seller=seller, data=data, canonical=canonical, now=now)
    for i, external_id, canonical in repeats:
        first_i, _, first_canonical = first[external_id]
        order = results[first_i].order
        if order is None:  # the first one failed: so does its repeat
            results[i] = CreateResult(external_id, "error", errors=results[first_i].errors)
        elif external_id in existing:
            results[i] = _same_or_conflict(order, order.first_payload or {}, canonical)
        else:
            results[i] = _same_or_conflict(order, first_canonical, canonical)
    return results


def _created_at_once(
    seller: Seller,
    entries: list[tuple[int, OrderInput, dict]],
    results: list[CreateResult | None],
    *,
    now: datetime,
) -> bool:
    """Write these new orders in one transaction and fill in their results; False, with
    nothing written, if any of them cannot be (one exists, or an effect failed)."""
    try:
        with transaction.atomic():
            orders = _create_many(
                seller=seller, batch=[(data, canonical) for _, data, canonical in entries], now=now
            )
    except Exception:
        logger.debug("a batch of %s orders was refused", len(entries), exc_info=True)
        return False
    for (i, data, _), order in zip(entries, orders, strict=True):
        results[i] = CreateResult(data.external_id, "created", order=order)
    return True


def _create_alone(
    *, seller: Seller, data: OrderInput, canonical: dict, now: datetime
) -> CreateResult:
    """One order in a transaction of its own: created, found (the same data or a conflict),
    or an error result, so that it never holds back the others of its request."""
    try:
        with transaction.atomic():
            (order,) = _create_many(seller=seller, batch=[(data, canonical)], now=now)
    except Exception as exc:
        if isinstance(exc, IntegrityError):  # it exists (a concurrent request created it)?
            existing = orders_by_external_id(seller=seller, external_ids=[data.external_id])
            if data.external_id in existing:
                order = existing[data.external_id]
                return _same_or_conflict(order, order.first_payload or {}, canonical)
        logger.exception("order %s of seller %s could not be created", data.external_id, seller.pk)
        return CreateResult(
            data.external_id,
            "error",
            errors={"non_field_errors": ["The order could not be processed; nothing was stored."]},
        )
    return CreateResult(data.external_id, "created", order=order)


def order_create(*, seller: Seller, data: OrderInput, now: datetime | None = None) -> CreateResult:
    """One order: `orders_create` with a batch of one."""
    return orders_create(seller=seller, inputs=[data], now=now)[0]


def order_apply_event(
    *, seller: Seller, external_id: str, event: EventInput, now: datetime | None = None
) -> tuple[Order, bool]:
    """Apply one event to an order. Returns (order, changed): an event applied already (the
    same event_id, or the same step with the same data) changes nothing. The order is as
    the event left it, with `has_items`."""
    now = now or timezone.now()
    if event.type not in STEPS:
        raise OrderInvalid({"type": [f"{event.type!r} is not an order event."]})
    canonical = event.canonical()
    # Whether it has items, for the answer: an order without any needs no query for them.
    items = OrderItem.objects.filter(order=OuterRef("pk"))
    orders = (
        Order.objects.select_for_update()
        .filter(seller=seller, external_id=external_id)
        .annotate(has_items=Exists(items))
    )
    if event.event_id:
        # The event of that id, if applied already: read with the order, in one query.
        seen = OrderEvent.objects.filter(order=OuterRef("pk"), event_id=event.event_id)
        orders = orders.annotate(seen_payload=Subquery(seen.order_by().values("payload")[:1]))
    with transaction.atomic():
        order = orders.first()
        if order is None:
            raise Order.DoesNotExist
        if event.event_id and order.seen_payload is not None:
            if order.seen_payload == canonical:
                return order, False
            raise OrderConflict(
                f"The event {event.event_id!r} was applied already with other data."
            )
        if _is_replay(order, event):
            return order, False
        _apply_step(
            order,
            type=event.type,
            occurred_at=event.occurred_at,
            now=now,
            event_id=event.event_id or "",
            tracking_number=event.tracking_number,
            amount=event.amount,
            payload=canonical,
        )
    return order, True


def _is_replay(order: Order, event: EventInput) -> bool:
    """The same step with the same data, sent again without an event id."""
    if event.type == EventType.REFUNDED:
        if event.event_id:
            return False  # a refund with an id of its own is a new refund; ids are checked above
        same = OrderEvent.objects.filter(
            order=order, type=EventType.REFUNDED, occurred_at=event.occurred_at
        )
        if event.amount is not None:
            return same.filter(amount=event.amount).exists()
        # "Refund all that remains" again, once the order is returned by it.
        return order.status == S.RETURNED and same.exists()
    applied_at = getattr(order, STEPS[event.type].time_field)
    if applied_at is None:
        return False
    same = applied_at == event.occurred_at and (
        event.type != EventType.SHIPPED
        or not event.tracking_number
        or event.tracking_number == order.tracking_number
    )
    if same:
        return True
    raise OrderConflict(
        f"The order was {EventType(event.type).label.lower()} already, at {applied_at.isoformat()}."
    )
