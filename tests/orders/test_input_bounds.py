"""The bounds of an order's input: every amount at most MAX_AMOUNT, every time from EARLIEST
on, at most MAX_ITEMS items. Refused with a message that names the bound, in one order, in
bulk and through the service alike; nothing is stored."""

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from core.api import serializers as kit
from core.dates import EARLIEST
from core.money import MAX_AMOUNT
from orders.api import EventInputSerializer, OrderInputSerializer
from orders.models import Order, OrderEvent
from orders.services import MAX_ITEMS, MAX_QUANTITY, ItemInput, order_input_errors
from tests.orders.conftest import T0, order_input
from tests.orders.test_validation import ITEM, order

pytestmark = pytest.mark.django_db

ORDERS = reverse("api:order-list")
BULK = reverse("api:order-bulk")
NOW = T0 + timedelta(days=10)
JUST_ABOVE = "10000000000.00"


@pytest.fixture
def api(api_client):
    api_client.raise_request_exception = False
    return api_client


def post(api, url: str, body):
    return api.post(url, json.dumps(body), content_type="application/json")


def items(*lines: tuple[int, str]) -> list[dict]:
    return [
        {**ITEM, "sku": f"S-{n}", "quantity": q, "unit_price": p} for n, (q, p) in enumerate(lines)
    ]


# 1. Amounts ---------------------------------------------------------------------------------

AT_MOST = f"An amount is at most {MAX_AMOUNT}."
ABOVE_THE_BOUND = [
    pytest.param({"net_product_price": JUST_ABOVE}, "net_product_price", id="price"),
    pytest.param({"net_product_price": "99999999999999.99"}, "net_product_price", id="price-14"),
    pytest.param({"seller_funded_discount": JUST_ABOVE}, "seller_funded_discount", id="discount"),
    pytest.param(
        {"refunded_amount": JUST_ABOVE, "refunded_at": "2026-10-05T10:00:00Z"},
        "refunded_amount",
        id="refunded",
    ),
]


@pytest.mark.parametrize(("changes", "field"), ABOVE_THE_BOUND)
def test_an_amount_above_the_bound_answers_400_naming_it(api, changes, field):
    response = post(api, ORDERS, order(**changes))

    assert response.status_code == 400, response.content
    assert response.json()[field] == [AT_MOST]
    assert not Order.objects.exists()


@pytest.mark.parametrize(("changes", "field"), ABOVE_THE_BOUND)
def test_an_amount_above_the_bound_in_bulk_is_an_error_result(api, changes, field):
    response = post(api, BULK, {"orders": [order(**changes), order(external_id="GOOD")]})

    assert response.status_code == 200, response.content
    refused, created = response.json()["results"]
    assert refused["result"] == "error" and refused["errors"][field] == [AT_MOST]
    assert created["result"] == "created"


def test_an_item_price_above_the_bound_answers_400(api):
    body = order(
        net_product_price=JUST_ABOVE,
        seller_funded_discount="0.00",
        items=items((1, JUST_ABOVE)),
    )
    response = post(api, ORDERS, body)

    assert response.status_code == 400, response.content
    assert response.json()["items"] == {"0": {"unit_price": [AT_MOST]}}


def test_an_event_amount_above_the_bound_answers_400(api):
    assert post(api, ORDERS, order()).status_code == 201
    event = {"type": "refunded", "occurred_at": "2026-10-05T10:00:00Z", "amount": JUST_ABOVE}

    response = post(api, reverse("api:order-events", args=["A-1"]), event)

    assert response.status_code == 400, response.content
    assert response.json() == {"amount": [AT_MOST]}


def test_every_amount_at_the_bound_is_taken(api):
    body = order(
        net_product_price=str(MAX_AMOUNT),
        seller_funded_discount=str(MAX_AMOUNT - 1),
        refunded_amount="0.50",
        refunded_at="2026-10-05T10:00:00Z",
        items=items((1, str(MAX_AMOUNT - 1)), (1, "1.00")),
    )
    response = post(api, ORDERS, body)

    assert response.status_code == 201, response.content
    assert response.json()["net_product_price"] == str(MAX_AMOUNT)
    refund = {"type": "refunded", "occurred_at": "2026-10-05T11:00:00Z", "amount": "0.49"}
    response = post(api, reverse("api:order-events", args=["A-1"]), refund)
    assert response.status_code == 200, response.content
    assert response.json()["refunded_amount"] == "0.99"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param(
            {"net_product_price": MAX_AMOUNT + Decimal("0.01")}, "net_product_price", id="price"
        ),
        pytest.param(
            {"seller_funded_discount": MAX_AMOUNT + 1}, "seller_funded_discount", id="discount"
        ),
        pytest.param(
            {"status": "returned", "refunded_amount": MAX_AMOUNT * 2, "returned_at": NOW},
            "refunded_amount",
            id="refunded",
        ),
    ],
)
def test_the_service_refuses_an_amount_above_the_bound(changes, field):
    errors = order_input_errors(order_input(**changes), now=NOW)

    assert AT_MOST in errors[field], errors


def test_the_service_refuses_items_beyond_their_bounds():
    def errors(*lines: ItemInput) -> list[str]:
        total = sum((i.quantity * i.unit_price for i in lines), Decimal("0.00"))
        data = order_input(items=lines, net_product_price=total, seller_funded_discount=0)
        return order_input_errors(data, now=NOW).get("items", [])

    line = ItemInput(sku="S", quantity=1, unit_price=Decimal("1.00"))
    assert errors(*[line] * MAX_ITEMS) == []
    assert errors(*[line] * (MAX_ITEMS + 1)) == [f"An order has at most {MAX_ITEMS} items."]
    assert errors(replace(line, unit_price=MAX_AMOUNT + 1)) != []
    assert errors(replace(line, quantity=MAX_QUANTITY + 1)) != []


def test_quantity_times_price_at_their_bounds_is_refused_not_overflowed(api):
    """A million of the dearest item is far above any order's price: the items do not add up
    to it, and nothing overflows on the way to saying so."""
    body = order(
        net_product_price=str(MAX_AMOUNT),
        seller_funded_discount="0.00",
        items=items(*[(MAX_QUANTITY, str(MAX_AMOUNT))] * MAX_ITEMS),
    )
    response = post(api, ORDERS, body)

    assert response.status_code == 400, response.content
    (message,) = response.json()["items"]
    total = MAX_QUANTITY * MAX_AMOUNT * MAX_ITEMS
    assert message.startswith(f"The items add up to {total:.2f}, not to"), message
    assert not Order.objects.exists()


def test_more_items_than_the_bound_answers_400_naming_it(api):
    body = order(
        net_product_price=f"{MAX_ITEMS + 1}.00",
        seller_funded_discount="0.00",
        items=items(*[(1, "1.00")] * (MAX_ITEMS + 1)),
    )
    response = post(api, ORDERS, body)

    assert response.status_code == 400, response.content
    assert response.json() == {
        "items": {"non_field_errors": [f"An order has at most {MAX_ITEMS} items."]}
    }


def test_the_fast_lane_and_drf_agree_at_the_bound():
    lane = kit._fast_lane(OrderInputSerializer)
    for text, taken in ((str(MAX_AMOUNT), True), (JUST_ABOVE, False), ("99999999999.99", False)):
        body = order(net_product_price=text, seller_funded_discount="0.00")
        assert (lane.run(body, kit._Batch()) is not kit._UNSURE) is taken, text
        incoming = OrderInputSerializer(data=body)
        assert incoming.is_valid() is taken, text
        ((_, errors),) = OrderInputSerializer.parse_many([body])
        assert errors == (None if taken else incoming.errors)


def test_the_schema_shows_the_bound_of_each_input_amount():
    from drf_spectacular.generators import SchemaGenerator

    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    bound = {"maximum": float(MAX_AMOUNT), "pattern": r"^[0-9]{1,10}(?:\.[0-9]{1,2})?$"}
    for component, names in (
        ("OrderInputRequest", ("net_product_price", "seller_funded_discount", "refunded_amount")),
        ("ItemInputRequest", ("unit_price",)),
        ("EventInputRequest", ("amount",)),
    ):
        for name in names:
            field = schemas[component]["properties"][name]
            assert field | bound == field, (component, name, field)
    assert schemas["OrderInputRequest"]["properties"]["items"]["maxItems"] == MAX_ITEMS
    assert schemas["BulkOrdersRequest"]["properties"]["orders"]["maxItems"] == 1000


# 2. Times -----------------------------------------------------------------------------------

BEFORE = (EARLIEST - timedelta(microseconds=1)).isoformat()
UNPAID = {"status": "unpaid", "paid_at": None, "shipped_at": None, "delivered_at": None}
TOO_EARLY = [
    pytest.param({**UNPAID, "placed_at": BEFORE}, "placed_at", id="placed_at"),
    pytest.param(
        {"placed_at": BEFORE, "paid_at": BEFORE, "shipped_at": BEFORE, "delivered_at": BEFORE},
        "delivered_at",
        id="every-step",
    ),
    pytest.param(
        {**UNPAID, "status": "cancelled", "placed_at": BEFORE, "cancelled_at": BEFORE},
        "cancelled_at",
        id="cancelled_at",
    ),
    pytest.param(
        {
            **UNPAID,
            "status": "payment_failed",
            "placed_at": BEFORE,
            "payment_failed_at": BEFORE,
        },
        "payment_failed_at",
        id="payment_failed_at",
    ),
]


@pytest.mark.parametrize(("changes", "field"), TOO_EARLY)
def test_a_time_before_the_earliest_answers_400_naming_it(api, changes, field):
    body = {k: v for k, v in order(**changes).items() if v is not None}
    response = post(api, ORDERS, body)

    assert response.status_code == 400, response.content
    errors = response.json()
    assert (
        f"{field} ({BEFORE}) is before 2000-01-01, the earliest time an order may have."
        in (errors[field])
    ), errors
    assert "placed_at" in errors
    assert not Order.objects.exists()


@pytest.mark.parametrize(("changes", "field"), TOO_EARLY)
def test_a_time_before_the_earliest_in_bulk_is_an_error_result(api, changes, field):
    body = {k: v for k, v in order(**changes).items() if v is not None}
    response = post(api, BULK, {"orders": [body]})

    (result,) = response.json()["results"]
    assert result["result"] == "error" and field in result["errors"], result


def test_the_service_refuses_every_time_before_the_earliest():
    early = EARLIEST - timedelta(seconds=1)
    data = order_input(
        placed_at=early,
        paid_at=early,
        shipped_at=early,
        delivered_at=early,
        refunded_amount=Decimal("1.00"),
        refunded_at=early,
    )
    errors = order_input_errors(data, now=NOW)
    for name in ("placed_at", "paid_at", "shipped_at", "delivered_at", "refunded_at"):
        assert any("the earliest time an order may have" in m for m in errors[name]), name


def test_the_earliest_instant_is_taken(api):
    at = EARLIEST.isoformat()
    body = order(placed_at=at, paid_at=at, shipped_at=at, delivered_at=at)

    response = post(api, ORDERS, body)

    assert response.status_code == 201, response.content


def test_an_event_before_the_earliest_answers_400(api):
    assert post(api, ORDERS, order(**UNPAID, placed_at=EARLIEST.isoformat())).status_code == 201
    event = {"type": "paid", "occurred_at": BEFORE}

    response = post(api, reverse("api:order-events", args=["A-1"]), event)

    assert response.status_code == 400, response.content
    assert response.json() == {
        "occurred_at": [
            f"occurred_at ({BEFORE}) is before 2000-01-01, the earliest time an order may have."
        ]
    }
    assert not OrderEvent.objects.filter(type="paid").exists()


def test_a_time_in_the_future_is_still_refused(api):
    response = post(api, ORDERS, order(**UNPAID, placed_at="2999-01-01T00:00:00Z"))

    assert response.status_code == 400
    assert "is in the future" in response.json()["placed_at"][0]


def test_the_event_serializer_and_its_fast_lane_agree_on_the_earliest():
    event = {"type": "paid", "occurred_at": BEFORE}
    ((_, errors),) = EventInputSerializer.parse_many([event])
    incoming = EventInputSerializer(data=event)
    assert not incoming.is_valid()
    assert errors == incoming.errors
