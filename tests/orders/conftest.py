from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orders import steps
from orders.services import OrderInput

T0 = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)


def order_input(**overrides) -> OrderInput:
    """A delivered Order Center order, 120.00 less 20.00, that used the voucher."""
    values = {
        "external_id": "A-1",
        "placed_at": T0,
        "currency": "USD",
        "net_product_price": Decimal("120.00"),
        "seller_funded_discount": Decimal("20.00"),
        "bonus_cashback_voucher": True,
        "fulfillment_channel": "order_center",
        "status": "delivered",
        "paid_at": T0 + timedelta(hours=1),
        "shipped_at": T0 + timedelta(days=1),
        "delivered_at": T0 + timedelta(days=3),
        "tracking_number": "TRK-1",
    }
    values.update(overrides)
    return OrderInput(**values)


def body(**overrides) -> dict:
    """The same order as the API takes it."""
    values = {
        "external_id": "A-1",
        "placed_at": "2026-10-01T10:00:00Z",
        "currency": "USD",
        "net_product_price": "120.00",
        "seller_funded_discount": "20.00",
        "bonus_cashback_voucher": True,
        "fulfillment_channel": "order_center",
        "status": "delivered",
        "paid_at": "2026-10-01T11:00:00Z",
        "shipped_at": "2026-10-02T10:00:00Z",
        "delivered_at": "2026-10-04T10:00:00Z",
        "tracking_number": "TRK-1",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


@contextmanager
def handlers_kept():
    """The step handlers as they are: what a test subscribes inside is taken away after."""
    saved = {k: list(v) for k, v in steps._subscribers.items()}
    try:
        yield
    finally:
        steps._subscribers.clear()
        steps._subscribers.update(saved)


@pytest.fixture
def recorded_steps():
    """Subscribe a recording handler to every step for the test, then take it away."""
    calls: list[tuple[str, list]] = []

    def make(step):
        def record(applied):
            calls.append((step, [(a.order.external_id, a.event.type) for a in applied]))

        record.__qualname__ = f"record_{step}"
        return record

    with handlers_kept():
        for step in ("paid", "payment_failed", "cancelled", "shipped", "delivered", "refunded"):
            steps.subscribe(step, make(step))
        yield calls
