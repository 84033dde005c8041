"""The largest valid bulk request fits the request size limit, and is created whole: 1,000
orders of MAX_ITEMS items each, every field at its longest, written out with indentation.
Anything larger is a JSON 413."""

import json

import pytest
from django.conf import settings
from django.urls import reverse

from core.money import MAX_AMOUNT
from orders.api import BULK_LIMIT, ItemInputSerializer, OrderInputSerializer
from orders.models import Order, OrderItem
from orders.services import MAX_ITEMS, MAX_QUANTITY

pytestmark = pytest.mark.django_db

BULK = reverse("api:order-bulk")
# The longest time the schema's date-time takes to the microsecond, with an offset.
AT = "2026-10-01T10:00:00.000000+05:30"


def longest(serializer_class, name: str, fill: str = "x") -> str:
    return fill * serializer_class().fields[name].max_length


def largest_order(n: int) -> dict:
    """A valid order with every field there and at its longest: each amount with all the
    digits its pattern allows (leading zeros), each text at its maximum length."""
    amount_digits = len(MAX_AMOUNT.as_tuple().digits) - 2
    unit = f"{1:0{amount_digits}d}.00"  # 0000000001.00
    item = {
        "sku": longest(ItemInputSerializer, "sku", "S"),
        "name": longest(ItemInputSerializer, "name", "N"),
        "quantity": MAX_QUANTITY,
        "unit_price": unit,
    }
    price = MAX_ITEMS * MAX_QUANTITY
    return {
        "external_id": f"{n:0{OrderInputSerializer().fields['external_id'].max_length}d}",
        "placed_at": AT,
        "currency": "USD",
        "net_product_price": f"{price:0{amount_digits}d}.00",
        "seller_funded_discount": f"{0:0{amount_digits}d}.00",
        "bonus_cashback_voucher": False,
        "campaign": longest(OrderInputSerializer, "campaign", "c"),
        "fulfillment_channel": "order_center",
        "tracking_number": longest(OrderInputSerializer, "tracking_number", "T"),
        "items": [{**item, "sku": f"{i:0>64}"} for i in range(MAX_ITEMS)],
        "status": "delivered",
        "paid_at": AT,
        "shipped_at": AT,
        "delivered_at": AT,
        "returned_at": None,
        "cancelled_at": None,
        "payment_failed_at": None,
        "refunded_amount": unit,
        "refunded_at": AT,
    }


def test_every_field_of_the_largest_order_is_known_and_at_its_longest():
    order = largest_order(0)
    assert set(order) == set(OrderInputSerializer().fields)
    assert set(order["items"][0]) == set(ItemInputSerializer().fields)
    serializer = OrderInputSerializer(data=order)
    assert serializer.is_valid(), serializer.errors


def test_the_largest_valid_bulk_fits_and_is_created(api_client):
    body = json.dumps({"orders": [largest_order(n) for n in range(BULK_LIMIT)]}, indent=2)
    assert len(body) <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    # Compact, it is the larger part of the limit still: the limit is no looser than needed.
    assert len(json.dumps(json.loads(body))) > 0.8 * settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = api_client.post(BULK, body, content_type="application/json")

    assert response.status_code == 200, response.content[:500]
    results = response.json()["results"]
    assert {r["result"] for r in results} == {"created"}, results[0]
    assert Order.objects.count() == BULK_LIMIT
    assert OrderItem.objects.count() == BULK_LIMIT * MAX_ITEMS
