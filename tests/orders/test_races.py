"""Concurrent writes of one order make one change. Real threads with their own connections."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from orders.models import Order, OrderEvent
from orders.services import EventInput, OrderConflict, order_apply_event, order_create
from tests.concurrency import race
from tests.orders.conftest import T0, order_input

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL, as CI runs"
    ),
]


def test_the_same_order_created_at_once_is_created_once(seller):
    outcomes = race(*[lambda: order_create(seller=seller, data=order_input())] * 4)
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert sorted(value.result for _, value in outcomes) == [
        "created",
        "unchanged",
        "unchanged",
        "unchanged",
    ]
    assert Order.objects.count() == 1 and OrderEvent.objects.count() == 1


def test_the_same_step_at_once_is_applied_once(seller):
    order_create(seller=seller, data=order_input(status="shipped", delivered_at=None))
    event = EventInput(type="delivered", occurred_at=T0 + timedelta(days=3))
    outcomes = race(*[lambda: order_apply_event(seller=seller, external_id="A-1", event=event)] * 3)
    assert sorted(value[1] for _, value in outcomes) == [False, False, True]
    assert OrderEvent.objects.filter(type="delivered").count() == 1


def test_refunds_racing_never_exceed_what_was_paid(seller):
    order_create(seller=seller, data=order_input())

    def refund(n):
        return lambda: order_apply_event(
            seller=seller,
            external_id="A-1",
            event=EventInput(
                type="refunded",
                occurred_at=T0 + timedelta(days=5),
                amount=Decimal("60.00"),
                event_id=f"r-{n}",
            ),
        )

    outcomes = race(refund(1), refund(2))
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["error", "ok"], outcomes
    assert isinstance(next(v for k, v in outcomes if k == "error"), OrderConflict)
    assert Order.objects.get().refunded_amount == Decimal("60.00")
