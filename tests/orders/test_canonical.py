"""An order's canonical input is stored with it (its created event) and compared with later
creations of the same external id: it must stay what it was, or existing orders would
answer "conflict" to the very data they were created with."""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from orders.models import OrderStatus
from orders.services import ItemInput
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
)
def test_the_canonical_input_is_what_it_always_was(items, status, zone, price, returned):
    data = order_input(
        items=items,
        status=status,
        placed_at=T0.astimezone(zone),
        net_product_price=price,
        returned_at=(T0 + timedelta(days=5)) if returned else None,
        campaign="bonus",
    )
    assert data.canonical() == as_it_was(data)
    assert list(data.canonical()) == list(as_it_was(data))
