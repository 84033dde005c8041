"""Bad input to the orders API: every malformed request answers 4xx and stores nothing.

SPEC section 9: bad input answers 400 with a message for each field, a transition not
allowed answers 409, and no input at all, however malformed, gets a 500.
"""

import copy
import json
from base64 import b64encode

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.models import Order, OrderEvent
from orders.services import orders_create
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db

ORDERS = reverse("api:order-list")
BULK = reverse("api:order-bulk")
MISSING = object()  # a field left out of the body
JSON = "application/json"

VALID = {
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
STEP_TIMES = (
    "paid_at",
    "shipped_at",
    "delivered_at",
    "returned_at",
    "cancelled_at",
    "payment_failed_at",
)
UNPAID = {"status": "unpaid", **dict.fromkeys(("paid_at", "shipped_at", "delivered_at"), MISSING)}
PAID = {"status": "paid", "shipped_at": MISSING, "delivered_at": MISSING}
SHIPPED = {"status": "shipped", "delivered_at": MISSING}
ITEM = {"sku": "SKU-1", "name": "Gadget", "quantity": 2, "unit_price": "60.00"}


def order(**changes) -> dict:
    """The valid delivered order, with fields replaced (or left out with MISSING)."""
    body = copy.deepcopy(VALID)
    for name, value in changes.items():
        if value is MISSING:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def item(**changes) -> dict:
    return {k: v for k, v in {**ITEM, **changes}.items() if v is not MISSING}


def events_url(external_id: str) -> str:
    return reverse("api:order-events", args=[external_id])


def cursor(query: str) -> str:
    """A cursor as DRF encodes one: base64 of a query string (o, r, p)."""
    return b64encode(query.encode()).decode()


@pytest.fixture
def api(api_client):
    """The seller's client, answering 500 as a response instead of raising, so that a 500
    is asserted on like any other status."""
    api_client.raise_request_exception = False
    return api_client


def post_json(api, url: str, body):
    """POST a body as JSON, escaped to ASCII, so that any string (lone surrogates too)
    reaches the server as the client sent it."""
    return api.post(url, json.dumps(body), content_type=JSON)


def create(api, **changes) -> str:
    body = order(**changes)
    response = post_json(api, ORDERS, body)
    assert response.status_code == 201, response.content
    return body["external_id"]


def snapshot(external_id: str) -> tuple:
    """What an event could change: the order's state, its events, all events."""
    found = Order.objects.get(external_id=external_id)
    return (
        found.status,
        found.refunded_amount,
        found.tracking_number,
        *(getattr(found, name) for name in STEP_TIMES),
        found.updated_at,
        list(found.events.values_list("pk", flat=True)),
        OrderEvent.objects.count(),
    )


def test_the_valid_order_is_created(api):
    """The body every bad case varies is itself good: the cases fail for their change."""
    response = post_json(api, ORDERS, order())
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "delivered"


# 1. One bad order --------------------------------------------------------------------------

BAD_ORDERS = [
    # Required fields.
    pytest.param({"external_id": MISSING}, "external_id", id="no-external_id"),
    pytest.param({"placed_at": MISSING}, "placed_at", id="no-placed_at"),
    pytest.param({"currency": MISSING}, "currency", id="no-currency"),
    pytest.param({"net_product_price": MISSING}, "net_product_price", id="no-price"),
    pytest.param({"fulfillment_channel": MISSING}, "fulfillment_channel", id="no-channel"),
    pytest.param({"placed_at": None}, "placed_at", id="placed_at-null"),
    pytest.param({"net_product_price": None}, "net_product_price", id="price-null"),
    # Negative amounts.
    pytest.param({"net_product_price": "-1.00"}, "net_product_price", id="price-negative"),
    pytest.param(
        {"seller_funded_discount": "-0.01"}, "seller_funded_discount", id="discount-negative"
    ),
    pytest.param(
        {"refunded_amount": "-5.00", "refunded_at": "2026-10-05T10:00:00Z"},
        "refunded_amount",
        id="refunded-negative",
    ),
    pytest.param({"net_product_price": -120}, "net_product_price", id="price-negative-number"),
    # Amounts that are not numbers.
    pytest.param({"net_product_price": "abc"}, "net_product_price", id="price-abc"),
    pytest.param({"net_product_price": "NaN"}, "net_product_price", id="price-nan"),
    pytest.param({"net_product_price": "Infinity"}, "net_product_price", id="price-infinity"),
    pytest.param({"net_product_price": "-Infinity"}, "net_product_price", id="price-minus-inf"),
    pytest.param({"net_product_price": True}, "net_product_price", id="price-true"),
    pytest.param({"net_product_price": []}, "net_product_price", id="price-list"),
    pytest.param({"net_product_price": {}}, "net_product_price", id="price-dict"),
    pytest.param({"net_product_price": ""}, "net_product_price", id="price-empty"),
    pytest.param({"seller_funded_discount": "abc"}, "seller_funded_discount", id="discount-abc"),
    # Precision and size.
    pytest.param({"net_product_price": "1.001"}, "net_product_price", id="price-3-decimals"),
    pytest.param({"net_product_price": 1.001}, "net_product_price", id="price-3-decimals-num"),
    pytest.param(
        {"net_product_price": "1234567890123.00"}, "net_product_price", id="price-13-digits"
    ),
    pytest.param({"net_product_price": 1e13}, "net_product_price", id="price-1e13-number"),
    pytest.param({"net_product_price": "1e400"}, "net_product_price", id="price-1e400"),
    pytest.param({"net_product_price": "1" * 5000}, "net_product_price", id="price-5000-digits"),
    # Only the strings the schema's pattern describes: DRF's DecimalField takes these too.
    pytest.param({"net_product_price": 120}, "net_product_price", id="price-a-number"),
    pytest.param({"net_product_price": " 120.00"}, "net_product_price", id="price-spaced"),
    pytest.param({"net_product_price": "1.2e2"}, "net_product_price", id="price-exponent"),
    pytest.param({"net_product_price": "1_20"}, "net_product_price", id="price-underscore"),
    pytest.param({"net_product_price": "+120"}, "net_product_price", id="price-plus"),
    pytest.param({"net_product_price": "120."}, "net_product_price", id="price-trailing-dot"),
    pytest.param({"seller_funded_discount": "-0"}, "seller_funded_discount", id="discount-minus-0"),
    pytest.param(
        {"net_product_price": "\u0661\u0662\u0660"}, "net_product_price", id="price-arabic"
    ),
    # Discount above the price.
    pytest.param(
        {"seller_funded_discount": "120.01"}, "seller_funded_discount", id="discount-above-price"
    ),
    # Currency.
    pytest.param({"currency": "XYZ"}, "currency", id="currency-xyz"),
    pytest.param({"currency": "usd"}, "currency", id="currency-lowercase"),
    pytest.param({"currency": "US"}, "currency", id="currency-2-letters"),
    pytest.param({"currency": ""}, "currency", id="currency-empty"),
    pytest.param({"currency": "USDX"}, "currency", id="currency-4-letters"),
    pytest.param({"currency": 840}, "currency", id="currency-number"),
    # Choices.
    pytest.param({"fulfillment_channel": "warehouse"}, "fulfillment_channel", id="channel-bad"),
    pytest.param({"fulfillment_channel": ""}, "fulfillment_channel", id="channel-empty"),
    pytest.param({"status": "lost"}, "status", id="status-bad"),
    pytest.param({"status": "DELIVERED"}, "status", id="status-uppercase"),
    pytest.param({"status": None}, "status", id="status-null"),
    # Items.
    pytest.param({"items": [item(quantity=1)]}, "items", id="items-do-not-add-up"),
    pytest.param({"items": [item(quantity=0, unit_price="0.00")]}, "items", id="item-quantity-0"),
    pytest.param({"items": [item(quantity=-2)]}, "items", id="item-quantity-negative"),
    pytest.param({"items": [item(quantity=1.5, unit_price="80.00")]}, "items", id="item-qty-1.5"),
    pytest.param({"items": [item(quantity="two")]}, "items", id="item-quantity-text"),
    pytest.param({"items": [item(colour="red")]}, "items", id="item-unknown-field"),
    pytest.param({"items": [item(sku=MISSING)]}, "items", id="item-no-sku"),
    pytest.param({"items": [item(sku="")]}, "items", id="item-empty-sku"),
    pytest.param({"items": [item(unit_price="-60.00")]}, "items", id="item-price-negative"),
    pytest.param({"items": [item(unit_price="60.001")]}, "items", id="item-price-3-decimals"),
    pytest.param({"items": item()}, "items", id="items-not-a-list"),
    pytest.param({"items": ["SKU-1"]}, "items", id="items-of-strings"),
    pytest.param({"items": None}, "items", id="items-null"),
    # The step times a status needs.
    pytest.param({"delivered_at": MISSING}, "delivered_at", id="delivered-without-time"),
    pytest.param(SHIPPED | {"shipped_at": MISSING}, "shipped_at", id="shipped-without-time"),
    pytest.param(PAID | {"paid_at": MISSING}, "paid_at", id="paid-without-time"),
    pytest.param({**UNPAID, "status": "cancelled"}, "cancelled_at", id="cancelled-without-time"),
    pytest.param(
        {**UNPAID, "status": "payment_failed"},
        "payment_failed_at",
        id="payment-failed-without-time",
    ),
    pytest.param({"status": "returned"}, "returned_at", id="returned-without-time"),
    pytest.param({"delivered_at": None}, "delivered_at", id="delivered-time-null"),
    # A step time the status does not have.
    pytest.param(UNPAID | {"paid_at": "2026-10-01T11:00:00Z"}, "paid_at", id="unpaid-with-paid_at"),
    pytest.param(
        PAID | {"delivered_at": "2026-10-04T10:00:00Z"}, "delivered_at", id="paid-with-delivered"
    ),
    pytest.param(
        {"cancelled_at": "2026-10-05T10:00:00Z"}, "cancelled_at", id="delivered-with-cancelled"
    ),
    pytest.param(
        {
            **UNPAID,
            "status": "cancelled",
            "cancelled_at": "2026-10-03T10:00:00Z",
            "shipped_at": "2026-10-02T10:00:00Z",
        },
        "paid_at",
        id="cancelled-shipped-without-paid_at",
    ),
    # Step times out of order.
    pytest.param({"shipped_at": "2026-10-01T10:30:00Z"}, "shipped_at", id="shipped-before-paid"),
    pytest.param(
        {"delivered_at": "2026-10-02T09:00:00Z"}, "delivered_at", id="delivered-before-shipped"
    ),
    pytest.param(PAID | {"paid_at": "2026-10-01T09:59:59Z"}, "paid_at", id="paid-before-placed"),
    pytest.param(
        {"status": "returned", "returned_at": "2026-10-03T10:00:00Z"},
        "returned_at",
        id="returned-before-delivered",
    ),
    pytest.param(
        {**UNPAID, "status": "payment_failed", "payment_failed_at": "2026-10-01T09:00:00Z"},
        "payment_failed_at",
        id="payment-failed-before-placed",
    ),
    pytest.param(
        SHIPPED | {"status": "cancelled", "cancelled_at": "2026-10-02T09:00:00Z"},
        "cancelled_at",
        id="cancelled-before-shipped",
    ),
    # Times in the future, without an offset, or not times at all.
    pytest.param({**UNPAID, "placed_at": "2027-10-01T10:00:00Z"}, "placed_at", id="placed-2027"),
    pytest.param({"delivered_at": "2027-01-01T00:00:00Z"}, "delivered_at", id="delivered-2027"),
    pytest.param({"placed_at": "2026-10-01T10:00:00"}, "placed_at", id="placed-no-offset"),
    pytest.param({"paid_at": "2026-10-01T11:00:00"}, "paid_at", id="paid-no-offset"),
    pytest.param({"placed_at": "yesterday"}, "placed_at", id="placed-not-a-date"),
    pytest.param({"placed_at": ""}, "placed_at", id="placed-empty"),
    pytest.param({"placed_at": "2026-10-01"}, "placed_at", id="placed-date-only"),
    pytest.param({"placed_at": 1790848800}, "placed_at", id="placed-epoch-number"),
    pytest.param(
        {"placed_at": "2026-02-30T10:00:00Z"},
        "placed_at",
        id="placed-30-february",
    ),
    pytest.param(
        {"placed_at": "2026-13-01T10:00:00Z"},
        "placed_at",
        id="placed-month-13",
    ),
    pytest.param(
        {"placed_at": "2026-10-01T10:00:00+25:00"},
        "placed_at",
        id="placed-offset-25h",
    ),
    # Tracking numbers.
    pytest.param({"tracking_number": MISSING}, "tracking_number", id="delivered-no-tracking"),
    pytest.param({"tracking_number": ""}, "tracking_number", id="delivered-blank-tracking"),
    pytest.param({"tracking_number": "   "}, "tracking_number", id="delivered-space-tracking"),
    pytest.param(
        SHIPPED | {"tracking_number": MISSING}, "tracking_number", id="shipped-no-tracking"
    ),
    pytest.param({"tracking_number": "T" * 101}, "tracking_number", id="tracking-101-chars"),
    # External ids.
    pytest.param({"external_id": ""}, "external_id", id="external_id-empty"),
    pytest.param({"external_id": "   "}, "external_id", id="external_id-spaces"),
    pytest.param({"external_id": "x" * 65}, "external_id", id="external_id-65-chars"),
    pytest.param({"external_id": None}, "external_id", id="external_id-null"),
    pytest.param({"external_id": ["A-1"]}, "external_id", id="external_id-list"),
    pytest.param({"external_id": "A\x00-1"}, "external_id", id="external_id-nul"),
    # Unknown fields.
    pytest.param({"seller": "x"}, "seller", id="unknown-seller"),
    pytest.param({"foo": 1}, "foo", id="unknown-foo"),
    pytest.param({"id": 1}, "id", id="unknown-id"),
    # Other typed fields.
    pytest.param({"bonus_cashback_voucher": "maybe"}, "bonus_cashback_voucher", id="voucher-bad"),
    pytest.param({"campaign": "not a slug!"}, "campaign", id="campaign-not-a-slug"),
    # Refunds.
    pytest.param({**UNPAID, "refunded_amount": "10.00"}, "refunded_amount", id="refund-on-unpaid"),
    pytest.param(
        {"refunded_amount": "100.00", "refunded_at": "2026-10-05T10:00:00Z"},
        "refunded_amount",
        id="delivered-refunded-in-full",
    ),
    pytest.param(
        {"refunded_amount": "100.01", "refunded_at": "2026-10-05T10:00:00Z"},
        "refunded_amount",
        id="delivered-refunded-beyond",
    ),
    pytest.param(
        {
            "status": "returned",
            "returned_at": "2026-10-05T10:00:00Z",
            "refunded_amount": "50.00",
        },
        "refunded_amount",
        id="returned-refunded-in-part",
    ),
    pytest.param({"refunded_amount": "10.00"}, "refunded_at", id="partial-refund-without-time"),
    pytest.param(
        {"refunded_at": "2026-10-05T10:00:00Z"}, "refunded_at", id="refund-time-without-amount"
    ),
    pytest.param(
        {"refunded_amount": "10.00", "refunded_at": "2026-10-03T10:00:00Z"},
        "refunded_at",
        id="refund-before-delivery",
    ),
]


@pytest.mark.parametrize(("changes", "field"), BAD_ORDERS)
def test_a_bad_order_answers_400_and_stores_nothing(api, changes, field):
    response = post_json(api, ORDERS, order(**changes))

    assert response.status_code == 400, response.content
    errors = response.json()
    assert isinstance(errors, dict)
    assert field in errors, errors
    assert Order.objects.count() == 0
    assert OrderEvent.objects.count() == 0


@pytest.mark.parametrize(("changes", "field"), BAD_ORDERS)
def test_a_bad_order_in_bulk_is_an_error_result(api, changes, field):
    """The same rules in bulk: the bad order is an error result with its field, the good one
    beside it is created."""
    good = order(external_id="GOOD-1")
    response = post_json(api, BULK, {"orders": [order(**changes), good]})

    assert response.status_code == 200, response.content
    bad_result, good_result = response.json()["results"]
    assert bad_result["result"] == "error"
    assert field in bad_result["errors"], bad_result
    assert good_result["result"] == "created"
    assert list(Order.objects.values_list("external_id", flat=True)) == ["GOOD-1"]


# 2. Bodies that are not a JSON object ------------------------------------------------------

NESTED = "[" * 5000 + "]" * 5000
BIG = "x" * (2 * 1024 * 1024)
BIG_BODIES = {
    "orders": json.dumps(order(external_id=BIG)),
    "bulk": json.dumps({"orders": BIG}),
    "events": json.dumps({"type": "refunded", "occurred_at": "2026-10-05T10:00:00Z", "foo": BIG}),
}
NOT_OBJECTS = [
    pytest.param(json.dumps([VALID]), JSON, id="list"),
    pytest.param("[]", JSON, id="empty-list"),
    pytest.param('"an order"', JSON, id="string"),
    pytest.param("42", JSON, id="number"),
    pytest.param("true", JSON, id="true"),
    pytest.param("null", JSON, id="null"),
    pytest.param("{", JSON, id="invalid-json"),
    pytest.param('{"a": 1,}', JSON, id="trailing-comma"),
    pytest.param('{"net_product_price": NaN}', JSON, id="nan-literal"),
    pytest.param(b"\xff\xfe{}", JSON, id="not-utf8"),
    pytest.param("", JSON, id="empty-body"),
    pytest.param("external_id=A-1&currency=USD", "application/x-www-form-urlencoded", id="form"),
    pytest.param("<order/>", "application/xml", id="xml"),
    pytest.param(NESTED, JSON, id="nested-lists"),
    pytest.param('{"a": ' * 5000 + "1" + "}" * 5000, JSON, id="nested-dicts"),
    pytest.param("big", JSON, id="2MB-string"),
]


@pytest.fixture
def delivered(api) -> str:
    return create(api)


@pytest.mark.parametrize("endpoint", ["orders", "bulk", "events"])
@pytest.mark.parametrize(("content", "content_type"), NOT_OBJECTS)
def test_a_body_that_is_not_an_object_answers_4xx(api, delivered, endpoint, content, content_type):
    url = {"orders": ORDERS, "bulk": BULK, "events": events_url(delivered)}[endpoint]
    if content == "big":
        content = BIG_BODIES[endpoint]
    before = snapshot(delivered)

    response = api.generic("POST", url, content, content_type=content_type)

    assert response.status_code in (400, 415), response.content[:500]
    errors = response.json()
    assert isinstance(errors, dict)
    if response.status_code == 415:
        assert set(errors) == {"detail"}
    assert list(Order.objects.values_list("external_id", flat=True)) == [delivered]
    assert snapshot(delivered) == before


# 3. Events ---------------------------------------------------------------------------------

REFUND = {"type": "refunded", "occurred_at": "2026-10-05T10:00:00Z", "amount": "10.00"}

BAD_EVENTS = [
    pytest.param({**REFUND, "type": "lost"}, "type", id="type-unknown"),
    pytest.param({**REFUND, "type": "returned"}, "type", id="type-returned"),
    pytest.param({**REFUND, "type": "created"}, "type", id="type-created"),
    pytest.param({"occurred_at": "2026-10-05T10:00:00Z"}, "type", id="type-missing"),
    pytest.param({"type": "refunded", "amount": "10.00"}, "occurred_at", id="no-occurred_at"),
    pytest.param({**REFUND, "occurred_at": None}, "occurred_at", id="occurred_at-null"),
    pytest.param({**REFUND, "occurred_at": "2026-10-05T10:00:00"}, "occurred_at", id="no-offset"),
    pytest.param({**REFUND, "occurred_at": "soon"}, "occurred_at", id="not-a-date"),
    pytest.param(
        {**REFUND, "occurred_at": "2027-10-05T10:00:00Z"}, "occurred_at", id="in-the-future"
    ),
    pytest.param(
        {**REFUND, "occurred_at": "2026-10-03T10:00:00Z"}, "occurred_at", id="before-delivery"
    ),
    pytest.param(
        {**REFUND, "occurred_at": "2026-02-30T10:00:00Z"},
        "occurred_at",
        id="30-february",
    ),
    pytest.param({**REFUND, "amount": "1.001"}, "amount", id="amount-3-decimals"),
    pytest.param({**REFUND, "amount": "-1.00"}, "amount", id="amount-negative"),
    pytest.param({**REFUND, "amount": "0.00"}, "amount", id="amount-zero"),
    pytest.param({**REFUND, "amount": "NaN"}, "amount", id="amount-nan"),
    pytest.param({**REFUND, "amount": None}, "amount", id="amount-null"),
    pytest.param({**REFUND, "amount": 10}, "amount", id="amount-a-number"),
    pytest.param({**REFUND, "amount": "1e1"}, "amount", id="amount-exponent"),
    pytest.param(
        {"type": "shipped", "occurred_at": "2026-10-05T10:00:00Z", "amount": "1.00"},
        "amount",
        id="amount-on-shipped",
    ),
    pytest.param(
        {"type": "cancelled", "occurred_at": "2026-10-05T10:00:00Z", "amount": "1.00"},
        "amount",
        id="amount-on-cancelled",
    ),
    pytest.param(
        {**REFUND, "tracking_number": "TRK-2"}, "tracking_number", id="tracking-on-refund"
    ),
    pytest.param(
        {"type": "delivered", "occurred_at": "2026-10-04T10:00:00Z", "tracking_number": "T"},
        "tracking_number",
        id="tracking-on-delivered",
    ),
    pytest.param({**REFUND, "foo": 1}, "foo", id="unknown-field"),
    pytest.param({**REFUND, "order": "A-1"}, "order", id="unknown-field-order"),
    pytest.param({**REFUND, "event_id": "e" * 101}, "event_id", id="event_id-101-chars"),
    pytest.param({**REFUND, "event_id": ""}, "event_id", id="event_id-empty"),
]


@pytest.mark.parametrize(("event", "field"), BAD_EVENTS)
def test_a_bad_event_answers_400_and_changes_nothing(api, delivered, event, field):
    before = snapshot(delivered)

    response = post_json(api, events_url(delivered), event)

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert snapshot(delivered) == before


def test_a_good_event_changes_the_order(api, delivered):
    """The event every bad case varies is itself good."""
    response = post_json(api, events_url(delivered), REFUND)
    assert response.status_code == 200, response.content
    assert response.json()["refunded_amount"] == "10.00"


REFUSED_EVENTS = [
    pytest.param(
        {
            "external_id": "C-1",
            **UNPAID,
            "status": "cancelled",
            "cancelled_at": "2026-10-01T12:00:00Z",
        },
        {"type": "paid", "occurred_at": "2026-10-01T13:00:00Z"},
        id="paid-on-cancelled",
    ),
    pytest.param(
        {"external_id": "P-1", **PAID},
        {"type": "delivered", "occurred_at": "2026-10-04T10:00:00Z"},
        id="delivered-on-paid",
    ),
    pytest.param(
        {"external_id": "U-1", **UNPAID},
        {"type": "shipped", "occurred_at": "2026-10-02T10:00:00Z", "tracking_number": "T"},
        id="shipped-on-unpaid",
    ),
    pytest.param(
        {"external_id": "D-1"},
        {**REFUND, "amount": "100.01"},
        id="refund-beyond-what-remains",
    ),
    pytest.param(
        {"external_id": "D-2"},
        {"type": "cancelled", "occurred_at": "2026-10-05T10:00:00Z"},
        id="cancelled-on-delivered",
    ),
    pytest.param(
        {"external_id": "D-3"},
        {"type": "shipped", "occurred_at": "2026-10-03T10:00:00Z", "tracking_number": "T"},
        id="shipped-again-at-another-time",
    ),
    pytest.param(
        {
            "external_id": "R-1",
            "status": "returned",
            "returned_at": "2026-10-05T10:00:00Z",
        },
        {**REFUND, "occurred_at": "2026-10-06T10:00:00Z", "amount": "0.01"},
        id="refund-on-returned",
    ),
]


@pytest.mark.parametrize(("existing", "event"), REFUSED_EVENTS)
def test_an_event_the_lifecycle_refuses_answers_409_and_changes_nothing(api, existing, event):
    external_id = create(api, **existing)
    before = snapshot(external_id)

    response = post_json(api, events_url(external_id), event)

    assert response.status_code == 409, response.content
    assert set(response.json()) == {"detail"}
    assert snapshot(external_id) == before


def test_a_refund_beyond_what_remains_after_a_partial_one_is_409(api, delivered):
    first = post_json(api, events_url(delivered), {**REFUND, "amount": "60.00"})
    assert first.status_code == 200, first.content
    before = snapshot(delivered)

    response = post_json(
        api,
        events_url(delivered),
        {**REFUND, "occurred_at": "2026-10-06T10:00:00Z", "amount": "40.01"},
    )

    assert response.status_code == 409, response.content
    assert snapshot(delivered) == before


def test_an_event_on_an_unknown_order_is_404(api, delivered):
    before = snapshot(delivered)

    response = post_json(api, events_url("NO-SUCH-ORDER"), REFUND)

    assert response.status_code == 404, response.content
    assert set(response.json()) == {"detail"}
    assert snapshot(delivered) == before


def test_an_event_on_another_sellers_order_is_404(api, other_seller, delivered):
    from tests.factories import make_api_key

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(other_seller)}")
    before = snapshot(delivered)

    response = post_json(api, events_url(delivered), REFUND)

    assert response.status_code == 404, response.content
    assert snapshot(delivered) == before


# Lone surrogates ("\ud800" in JSON) are valid JSON but not UTF-8. Fields that refuse them
# answer 400; errors that quote them back fail in the renderer (UNICODE_JSON) with a 500.
SURROGATE_CASES = [
    pytest.param(ORDERS, order(external_id="A-\ud800"), "external_id", id="order-external_id"),
    pytest.param(ORDERS, order(tracking_number="T\ud800"), "tracking_number", id="order-tracking"),
    pytest.param(ORDERS, order(status="\ud800"), "status", id="order-status"),
    pytest.param(
        ORDERS,
        order(fulfillment_channel="x\ud800"),
        "fulfillment_channel",
        id="order-channel",
    ),
    pytest.param(ORDERS, {**order(), "\ud800": 1}, "\ud800", id="order-unknown-field"),
    pytest.param("events", {**REFUND, "event_id": "ev-\ud800"}, "event_id", id="event-id"),
    pytest.param("events", {**REFUND, "type": "\ud800"}, "type", id="event-type"),
]


@pytest.mark.parametrize(("url", "body", "field"), SURROGATE_CASES)
def test_a_lone_surrogate_answers_400(api, delivered, url, body, field):
    url = events_url(delivered) if url == "events" else url
    before = snapshot(delivered)

    response = post_json(api, url, body)

    assert response.status_code == 400, response.content[:500]
    assert field in response.json()
    assert Order.objects.count() == 1
    assert snapshot(delivered) == before


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(order(external_id="A-\ud800"), id="external_id"),
        pytest.param({**order(), "\ud800": 1}, id="unknown-field"),
        pytest.param(order(tracking_number="T\ud800"), id="tracking_number"),
    ],
)
def test_a_lone_surrogate_in_bulk_is_an_error_result(api, bad):
    response = post_json(api, BULK, {"orders": [bad, order(external_id="GOOD-1")]})

    assert response.status_code == 200, response.content[:500]
    assert [r["result"] for r in response.json()["results"]] == ["error", "created"]
    assert list(Order.objects.values_list("external_id", flat=True)) == ["GOOD-1"]


# 4. Bulk limits ----------------------------------------------------------------------------


def test_more_than_1000_orders_answer_413_and_store_nothing(api):
    orders = [order(external_id=f"B-{n}") for n in range(1001)]

    response = post_json(api, BULK, {"orders": orders})

    assert response.status_code == 413, response.content[:500]
    assert set(response.json()) == {"detail"}
    assert Order.objects.count() == 0
    assert OrderEvent.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"orders": "x"}, id="orders-a-string"),
        pytest.param({"orders": {"external_id": "A-1"}}, id="orders-an-object"),
        pytest.param({"orders": None}, id="orders-null"),
        pytest.param({"orders": [order()], "extra": 1}, id="an-extra-field"),
        pytest.param({}, id="no-orders"),
        pytest.param({"Orders": [order()]}, id="orders-misspelt"),
    ],
)
def test_a_bulk_body_of_the_wrong_shape_answers_400(api, body):
    response = post_json(api, BULK, body)

    assert response.status_code == 400, response.content
    assert isinstance(response.json(), dict)
    assert Order.objects.count() == 0


def test_an_empty_bulk_answers_no_results(api):
    response = post_json(api, BULK, {"orders": []})

    assert response.status_code == 200, response.content
    assert response.json() == {"results": []}


def test_bulk_items_that_are_not_objects_are_error_results(api):
    response = post_json(api, BULK, {"orders": [1, "x", None, [], {}, order()]})

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["error"] * 5 + ["created"]
    assert [r["external_id"] for r in results] == [None] * 5 + ["A-1"]
    assert Order.objects.count() == 1


# 5. Query parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"status": "bogus"}, "status", id="status-bogus"),
        pytest.param({"status": ""}, "status", id="status-empty"),
        pytest.param({"updated_since": ""}, "updated_since", id="since-empty"),
        pytest.param({"updated_since": "not-a-date"}, "updated_since", id="since-not-a-date"),
        pytest.param(
            {"updated_since": "2026-10-01T10:00:00"}, "updated_since", id="since-no-offset"
        ),
        pytest.param(
            {"updated_since": "2026-02-30T10:00:00Z"},
            "updated_since",
            id="since-30-february",
        ),
    ],
)
def test_a_bad_filter_answers_400(api, delivered, query, field):
    response = api.get(ORDERS, query)

    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("garbage", id="garbage"),
        pytest.param(cursor("o=-1"), id="negative-offset"),
        pytest.param(cursor("r=x"), id="reverse-not-a-number"),
        pytest.param(
            cursor("p=abc"),
            id="position-not-a-number",
        ),
    ],
)
def test_a_bad_cursor_answers_404(api, delivered, value):
    response = api.get(ORDERS, {"cursor": value})

    assert response.status_code == 404, response.content
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(
    "value", ["0", "501", "-1", "1.5", "1e2", " 5", "+5", "five", "", "\u0665", "9" * 5000]
)
def test_a_page_size_that_is_not_a_whole_number_from_1_to_500_answers_400(api, value):
    response = api.get(ORDERS, {"page_size": value})

    assert response.status_code == 400, response.content
    assert response.json() == {"page_size": ["A whole number from 1 to 500."]}


@pytest.mark.parametrize("value", ["1", "500", "007"])
def test_a_page_size_from_1_to_500_is_taken(api, delivered, value):
    response = api.get(ORDERS, {"page_size": value})

    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(
            json.dumps({"type": "delivered", "occurred_at": "2026-10-04T10:00:00Z"}),
            JSON,
            id="good",
        ),
        pytest.param("{}", JSON, id="empty"),
        pytest.param('{"type": "bogus", "foo": 1}', JSON, id="bad"),
        pytest.param("{", JSON, id="invalid-json"),
        pytest.param("<event/>", "application/xml", id="xml"),
    ],
)
def test_an_event_for_an_order_not_yours_is_404_whatever_the_body(
    api, other_seller, content, content_type
):
    orders_create(seller=other_seller, inputs=[order_input(external_id="THEIRS")])

    for external_id in ("THEIRS", "NONE"):
        response = api.generic("POST", events_url(external_id), content, content_type=content_type)

        assert response.status_code == 404, response.content
        assert response.json() == {"detail": "No order of yours has this external_id."}


# 6. Any JSON at all ------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=20,
)
FIELDS = sorted(
    {
        *VALID,
        "items",
        "campaign",
        "refunded_amount",
        "refunded_at",
        "returned_at",
        "cancelled_at",
        "payment_failed_at",
    }
)
one_field_replaced = st.builds(
    lambda name, value: {**VALID, name: value}, st.sampled_from(FIELDS), json_values
)
bodies = json_values | one_field_replaced


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=bodies)
def test_no_json_body_gets_a_500(api, body):
    before = set(Order.objects.values_list("pk", flat=True))

    response = post_json(api, ORDERS, body)

    assert response.status_code < 500, (body, response.content[:500])
    if response.status_code == 400:
        assert set(Order.objects.values_list("pk", flat=True)) == before
