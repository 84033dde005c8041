"""The rules of a new order (`order_input_errors`) and the lifecycle (`_advance`) agree: an
order they accept, created at once in its status, is the order its steps make one by one
from unpaid. In memory, over inputs of every status with and without each time."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orders.inserts import builder
from orders.models import Order, OrderStatus
from orders.services import (
    _STATUS_TIMES,
    TIME_FIELDS,
    _advance,
    _creation_steps,
    _new_order,
    order_input_errors,
)
from sellers.models import Seller
from tests.orders.conftest import T0, order_input

NOW = T0 + timedelta(hours=3)
SELLER = Seller(id=1)
hours = st.integers(-1, 4).map(lambda h: T0 + timedelta(hours=h))


@st.composite
def inputs(draw):
    """An input of any status with the times it needs, some of those it may have, and at
    times one it may not; each time anywhere from before placing to after now."""
    status = draw(st.sampled_from(OrderStatus.values))
    needed, allowed = _STATUS_TIMES[status]
    values = dict.fromkeys(TIME_FIELDS)
    for name in TIME_FIELDS:
        if name in needed or draw(st.integers(0, 9)) < (5 if name in allowed else 1):
            values[name] = draw(hours)
    if draw(st.booleans()):
        values["refunded_amount"] = draw(st.sampled_from([Decimal("30.00"), Decimal("100.00")]))
        values["refunded_at"] = draw(st.one_of(st.none(), hours))
    values["tracking_number"] = draw(st.sampled_from(["", " ", "TRK-1", " TRK-1 "]))
    return order_input(status=status, **values)


@settings(max_examples=1500)
@given(data=inputs())
def test_an_order_the_rules_accept_is_the_order_its_steps_make(data):
    if order_input_errors(data, now=NOW):
        return
    made = _new_order(SELLER, data, builder(Order))
    unpaid = replace(
        data,
        status=OrderStatus.UNPAID,
        refunded_amount=Decimal("0.00"),
        refunded_at=None,
        **dict.fromkeys(TIME_FIELDS),
    )
    stepped = _new_order(SELLER, unpaid, builder(Order))
    for step, at, amount in _creation_steps(data):
        refund = {"amount": amount} if step == "refunded" and data.status != "returned" else {}
        _advance(stepped, type=step, occurred_at=at, now=NOW, **refund)
    fields = ("status", "tracking_number", "refunded_amount", *TIME_FIELDS)
    assert {f: getattr(made, f) for f in fields} == {f: getattr(stepped, f) for f in fields}
