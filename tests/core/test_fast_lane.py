"""StrictSerializer.parse_many: exactly what DRF's is_valid() gives, for any input.

Its fast lane (core.api.serializers._FastLane) accepts only what the DRF fields accept and gives
the very values they give; everything else goes to DRF. Random inputs around valid orders
and events check both halves: whatever the lane accepts, DRF accepts with the same data,
and the answers of parse_many (data or errors) are DRF's.
"""

import copy
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.api import serializers as api
from orders.api import EventInputSerializer, OrderInputSerializer
from tests.orders.test_validation import ITEM, VALID

EVENT = {"type": "delivered", "occurred_at": "2026-10-04T10:00:00Z", "event_id": "e-1"}


def same(a, b) -> bool:
    """Equal, and alike where == is lenient: the exponent of a Decimal, the zone of a time,
    the type of a value."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal):
        return isinstance(b, Decimal) and str(a) == str(b)
    if isinstance(a, datetime):
        return isinstance(b, datetime) and a == b and a.tzinfo == b.tzinfo
    return type(a) is type(b) and a == b


def drf(serializer_class, data):
    incoming = serializer_class(data=data)
    valid = incoming.is_valid()
    return valid, (incoming.validated_data if valid else incoming.errors)


def check(serializer_class, data) -> None:
    valid, expected = drf(serializer_class, copy.deepcopy(data))
    fast = api._fast_lane(serializer_class).run(copy.deepcopy(data), api._Batch())
    if fast is not api._UNSURE:
        assert valid, (data, expected)
        assert same(fast, dict(expected)), (data, fast, expected)
    ((value, errors),) = serializer_class.parse_many([copy.deepcopy(data)])
    if valid:
        assert errors is None and same(value, dict(expected)), (data, value, expected)
    else:
        assert value is None and errors == expected, (data, errors, expected)


def test_the_lane_takes_the_plain_valid_inputs():
    batch = api._Batch()
    with_items = {**VALID, "items": [ITEM, {**ITEM, "unit_price": "0"}]}
    with_items["net_product_price"] = "120.00"
    for serializer_class, data in (
        (OrderInputSerializer, VALID),
        (OrderInputSerializer, with_items),
        (EventInputSerializer, EVENT),
    ):
        assert api._fast_lane(serializer_class).run(data, batch) is not api._UNSURE
        check(serializer_class, data)


times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), allow_imaginary=False
)
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-11)), None]
)
time_text = st.builds(lambda t, z: t.replace(tzinfo=z).isoformat(), times, offsets)
special = st.sampled_from(
    [
        "",
        " ",
        " x ",
        "\x00",
        "\ud800",
        "é",
        "USD",
        "seller",
        "order_center",
        "delivered",
        "refunded",
        "shipped",
        "my-slug",
        "no slug!",
        "10",
        "10.5",
        "10.00",
        "10.005",
        " 10.00 ",
        "-0.00",
        "-1.00",
        "1e2",
        "1E-2",
        "1_000.00",
        "NaN",
        "Infinity",
        "123456789012.34",
        "1234567890123.45",
        "9999999999.99",
        "10000000000.00",
        "0009999999999",
        "1999-12-31T23:59:59.999999Z",
        "2000-01-01T00:00:00Z",
        "2026-10-01T10:00:00Z",
        " 2026-10-01T10:00:00Z",
        "2026-10-01T10:00:00",
        "2026-10-01",
        "2026-02-30T10:00:00Z",
        "2026-10-01T10:00:00+25:00",
        "20261001T100000Z",
        "2026-10-01 10:00:00.123456789+01:00",
        "true",
        "1",
        "x" * 65,
        "x" * 101,
    ]
)
amount_text = st.one_of(
    st.decimals(min_value=-1000, max_value=10**13, allow_nan=False, places=2).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"\A ?-?[0-9]{0,14}(\.[0-9]{0,3})?([eE][-+]?[0-9])? ?\Z"),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=70),
    time_text,
    amount_text,
    special,
)
# Mostly the values that are nearly right, where a lane and DRF could part.
values = st.one_of(
    special,
    amount_text,
    time_text,
    scalars,
    st.lists(scalars, max_size=2),
    st.dictionaries(st.text(max_size=5), scalars, max_size=2),
)
items = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "sku": values,
            "name": values,
            "quantity": st.one_of(st.integers(min_value=-2, max_value=2_000_000), values),
            "unit_price": values,
            "colour": values,
        },
    ),
    max_size=3,
)


def changed(base: dict, names: list[str]):
    """The base with a field replaced; or with some replaced, some left out, one added."""
    one = st.builds(lambda k, v: {**base, k: v}, st.sampled_from(names), values)
    some = st.builds(
        lambda new, gone, extra: {
            **{k: v for k, v in base.items() if k not in gone},
            **new,
            **extra,
        },
        st.dictionaries(st.sampled_from(names), values, max_size=3),
        st.sets(st.sampled_from(names), max_size=2),
        st.dictionaries(st.sampled_from(["unknown", "Status", "\ud800"]), values, max_size=1),
    )
    return st.one_of(one, some)


ORDER_FIELDS = list(OrderInputSerializer().fields)
EVENT_FIELDS = list(EventInputSerializer().fields)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changed(VALID, ORDER_FIELDS), items)
@example({**VALID, "placed_at": "2026-10-01T12:00:00+02:00"}, [])
@example({**VALID, "seller_funded_discount": "20"}, [{**ITEM, "quantity": 2.0}])
@example({**VALID, "net_product_price": "-1.00"}, [{**ITEM, "unit_price": " 5 "}])
@example({**VALID, "tracking_number": "  "}, [{**ITEM, "name": ""}])
def test_orders_are_validated_as_drf_does(data, given_items):
    check(OrderInputSerializer, data)
    check(OrderInputSerializer, {**data, "items": given_items})


@settings(max_examples=200, deadline=None)
@given(changed(EVENT, EVENT_FIELDS))
@example({**EVENT, "type": "refunded", "amount": "5.00"})
@example({**EVENT, "amount": "5.00"})
@example({**EVENT, "type": "shipped", "tracking_number": " T-1 "})
@example({**EVENT, "type": "refunded", "amount": "10000000000.00"})
@example({**EVENT, "occurred_at": "1999-12-31T23:59:59Z"})
def test_events_are_validated_as_drf_does(data):
    check(EventInputSerializer, data)


@given(st.one_of(values, st.lists(st.just(VALID), max_size=2)))
def test_anything_else_is_answered_as_drf_does(data):
    check(OrderInputSerializer, data)
