"""An order's canonical input is stored with it (its created event) and compared with later
creations of the same external id: it must stay what it was, or existing orders would
answer "conflict" to the very data they were created with."""

from dataclasses import FrozenInstanceError, asdict
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.models import OrderStatus
from orders.services import ItemInput, OrderInput
from tests.orders.conftest import T0, order_input


def as_it_was(data) -> dict:
    """OrderInput.canonical() as first written: asdict, then a walk over the result."""

    def plain(value):
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, Decimal):
            return f"{value:.2f}"
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(asdict(data))


items = st.one_of(
    st.none(),
    st.lists(
        st.builds(
            ItemInput,
            sku=st.text(max_size=5),
            quantity=st.integers(min_value=1, max_value=10**6),
            unit_price=st.decimals(min_value=0, max_value=10**6, places=2),
            name=st.text(max_size=5),
        ),
        max_size=3,
    ).map(tuple),
)
zones = st.sampled_from([UTC, timezone(timedelta(hours=-3, minutes=-30)), UTC])


@given(
    items=items,
    status=st.sampled_from([OrderStatus.DELIVERED, "delivered", OrderStatus.UNPAID]),
    zone=zones,
    price=st.decimals(min_value=0, max_value=10**9, places=2),
    returned=st.booleans(),
    paid=st.sampled_from(["the placed_at object", "an equal time", "a later time"]),
)
def test_the_canonical_input_is_what_it_always_was(items, status, zone, price, returned, paid):
    placed_at = T0.astimezone(zone)
    # A time that is the one before it is written once (the same object), not otherwise.
    paid_at = {
        "the placed_at object": placed_at,
        "an equal time": T0.astimezone(UTC),
        "a later time": (T0 + timedelta(hours=1)).astimezone(zone),
    }[paid]
    data = order_input(
        items=items,
        status=status,
        placed_at=placed_at,
        paid_at=paid_at,
        net_product_price=price,
        returned_at=(T0 + timedelta(days=5)) if returned else None,
        campaign="bonus",
    )
    assert data.canonical() == as_it_was(data)
    assert list(data.canonical()) == list(as_it_was(data))


def test_an_input_made_of_its_fields_is_the_one_init_makes():
    values = {
        "external_id": "A-1",
        "placed_at": T0,
        "currency": "USD",
        "net_product_price": Decimal("120.00"),
        "fulfillment_channel": "order_center",
        "paid_at": None,
    }
    assert OrderInput.of(values) == OrderInput(**values)
    full = asdict(order_input(items=(ItemInput(sku="A", quantity=1, unit_price=Decimal("1")),)))
    assert OrderInput.of(full) == OrderInput(**full)
    made = OrderInput.of(values)
    with pytest.raises(FrozenInstanceError):
        made.currency = "EUR"
    # What is not exactly its fields is refused as __init__ refuses it.
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        OrderInput.of({**values, "colour": "red"})
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'currency'"):
        OrderInput.of({k: v for k, v in values.items() if k != "currency"})
