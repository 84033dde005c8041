"""Ingestion stays set-based: a bulk batch costs the same number of queries whatever its
size, a single order and its event a small fixed number; and the batch written with COPY
(PostgreSQL, from `orders.inserts.COPY_FROM` rows) holds what bulk_create would write."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fees.models import FeeEntry
from orders import inserts
from orders.models import Order, OrderEvent, OrderItem
from tests.fees.conftest import REGISTERED_AT, campaign, registered  # noqa: F401 (fixtures)
from tests.orders.conftest import T0, body
from tests.tampering import tampering

# The seller in the Bonus Cashback Program, so that delivered voucher orders pay a fee.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registered")]

BULK = reverse("api:order-bulk")
ORDERS = reverse("api:order-list")


def batch(prefix: str, count: int) -> list[dict]:
    """Delivered orders, every other one with the voucher, some with items."""
    orders = []
    for i in range(count):
        changes = {"external_id": f"{prefix}-{i}", "bonus_cashback_voucher": i % 2 == 0}
        if i % 3 == 0:
            changes["items"] = [
                {"sku": "S-1", "quantity": 2, "unit_price": "30.00"},
                {"sku": "S-2", "name": "Two", "quantity": 1, "unit_price": "60.00"},
            ]
        orders.append(body(**changes))
    return orders


def post_bulk(api_client, orders: list[dict]):
    with CaptureQueriesContext(connection) as queries:
        response = api_client.post(BULK, {"orders": orders}, format="json")
    assert response.status_code == 200, response.content
    assert {r["result"] for r in response.json()["results"]} == {"created"}
    return queries


def test_a_bulk_batch_costs_the_same_queries_at_any_size(api_client):
    post_bulk(api_client, batch("WARM", 1))  # the key's last use is recorded once
    small = post_bulk(api_client, batch("SMALL", 3))
    large = post_bulk(api_client, batch("LARGE", 2 * inserts.COPY_FROM + 7))
    larger = post_bulk(api_client, batch("LARGER", 5 * inserts.COPY_FROM + 3))
    # The key, then in one transaction: orders, items, events, the registrations with their
    # histories, the rates, the fees. New orders are not looked up first.
    assert len(small) == 9, [q["sql"][:80] for q in small]
    if connection.vendor == "postgresql":
        # Written with COPY, the orders and the events take their ids first.
        assert len(large) == len(larger) == len(small) + 2, [q["sql"][:80] for q in larger]
    else:  # SQLite takes at most 999 values a statement: bulk_create cuts the rows up
        assert len(larger) < (5 * inserts.COPY_FROM + 3) / 10, [q["sql"][:80] for q in larger]
    assert Order.objects.count() == 1 + 3 + 2 * inserts.COPY_FROM + 7 + 5 * inserts.COPY_FROM + 3


def test_a_single_order_and_its_event_cost_a_fixed_number_of_queries(api_client):
    api_client.post(ORDERS, body(external_id="WARM"), format="json")
    created = body(external_id="ONE-1", status="shipped", delivered_at=None)
    with CaptureQueriesContext(connection) as create:
        response = api_client.post(ORDERS, created, format="json")
    assert response.status_code == 201, response.content
    event = {"type": "delivered", "occurred_at": "2026-10-04T10:00:00Z", "event_id": "d-1"}
    with CaptureQueriesContext(connection) as deliver:
        response = api_client.post(
            reverse("api:order-events", args=["ONE-1"]), event, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["service_fee"]["charged"] == "3.00"
    # Create: key, BEGIN, order, its event, COMMIT (a new order is not looked up first); a
    # shipped order can have neither fee entries nor cashback yet, so its sections need no
    # query.
    assert len(create) == 5, [q["sql"][:80] for q in create]
    # Event: key, BEGIN, order (locked, with the event id's earlier payload and whether it
    # has items), update, event, registrations with their histories, rates, fee, COMMIT,
    # fee and cashback sections (delivered in a month that has ended: it may be accrued).
    assert len(deliver) == 11, [q["sql"][:80] for q in deliver]


def table(model, order_by: str) -> list[dict]:
    """A table's rows without the columns that differ between two writes of the same data:
    ids, links to them, and the times of writing."""
    left_out = {"id", "order", "order_id", "order_event", "created_at", "updated_at"}
    left_out |= {"received_at", "registration", "campaign", "seller"}
    names = [f.attname for f in model._meta.concrete_fields if f.name not in left_out]
    names = [n for n in names if n not in left_out]
    return list(model.objects.order_by(order_by, "pk").values(*names))


def test_copy_writes_what_bulk_create_writes(api_client, monkeypatch):
    """The same batch, written once with COPY and once row by row, gives the same rows
    (on SQLite both are bulk_create, and the test still holds)."""
    orders = batch("SAME", inserts.COPY_FROM + 5)
    orders[1]["status"] = "returned"
    orders[1]["returned_at"] = "2026-10-05T10:00:00Z"
    orders[1]["refunded_amount"] = "100.00"
    orders[4] |= {"refunded_amount": "10.00", "refunded_at": "2026-10-05T10:00:00Z"}
    orders[5] = body(external_id="SAME-5", status="cancelled", delivered_at=None)
    orders[5] |= {"cancelled_at": "2026-10-02T11:00:00Z", "tracking_number": "T ☃ \\ \t x"}
    post_bulk(api_client, orders)
    copied = [table(m, o) for m, o in TABLES]
    with tampering("fees_feeentry", "orders_orderevent"):  # the first write taken back
        for model in (FeeEntry, OrderItem, OrderEvent, Order):
            model.objects.all().delete()
    monkeypatch.setattr(inserts, "COPY_FROM", 10**9)
    post_bulk(api_client, orders)
    assert [table(m, o) for m, o in TABLES] == copied
    assert len(copied[0]) == len(orders)
    assert FeeEntry.objects.filter(amount=Decimal("3.00")).exists()  # 3 % of 100.00
    created = OrderEvent.objects.get(order__external_id="SAME-5", type="created")
    assert created.payload["tracking_number"] == "T ☃ \\ \t x"
    assert created.occurred_at == T0 and created.received_at > REGISTERED_AT + timedelta(1)


TABLES = [
    (Order, "external_id"),
    (OrderItem, "unit_price"),
    (OrderEvent, "occurred_at"),
    (FeeEntry, "occurred_at"),
]


def test_answers_built_without_reading_the_order_again_hold_everything(api_client):
    """Create and event answers come from the order in memory (items read only when it has
    some): they are what reading it back gives."""
    given_items = [
        {"sku": "B", "name": "Second", "quantity": 1, "unit_price": "60.00"},
        {"sku": "A", "name": "", "quantity": 2, "unit_price": "30.00"},
    ]
    for external_id, items in (("WITH", given_items), ("WITHOUT", None)):
        created = body(external_id=external_id, status="shipped", delivered_at=None)
        if items:
            created["items"] = items
        first = api_client.post(ORDERS, created, format="json")
        assert first.status_code == 201, first.content
        url = reverse("api:order-detail", args=[external_id])
        assert first.json() == api_client.get(url).json()
        event = {"type": "delivered", "occurred_at": "2026-10-04T10:00:00+02:00"}
        after = api_client.post(
            reverse("api:order-events", args=[external_id]), event, format="json"
        )
        assert after.status_code == 200, after.content
        assert after.json() == api_client.get(url).json()
        assert after.json()["delivered_at"] == "2026-10-04T08:00:00Z"
        assert [i["sku"] for i in after.json()["items"]] == (["B", "A"] if items else [])
        assert after.json()["service_fee"]["charged"] == "3.00"


def test_a_batch_that_fails_in_the_database_is_written_order_by_order(api_client, monkeypatch):
    """An order created by another request between the check of the known ids and the
    write: the batch's COPY fails on the unique external id, and each order is written
    alone, the other one answering as a repeat does."""
    from orders import services

    orders = batch("RACE", inserts.COPY_FROM + 1)
    post_bulk(api_client, orders[:1])  # "the other request"
    real = services.orders_by_external_id
    calls = []

    def not_yet_there(**kwargs):
        calls.append(kwargs)
        return {} if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(services, "orders_by_external_id", not_yet_there)
    response = api_client.post(BULK, {"orders": orders}, format="json")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert results[0] == {"external_id": "RACE-0", "result": "unchanged", "errors": None}
    assert {r["result"] for r in results[1:]} == {"created"}
    assert Order.objects.count() == len(orders)
    assert OrderEvent.objects.filter(type="created").count() == len(orders)


def test_a_batch_sent_again_writes_only_its_new_orders(api_client):
    """The batch is written without looking its ids up; when some exist (a retry that
    adds an order), the write is refused, nothing of it stays, and the orders are sorted
    into those that exist and the new one."""
    orders = batch("AGAIN", inserts.COPY_FROM + 1)
    post_bulk(api_client, orders)

    def counts():
        return [model.objects.count() for model in (Order, OrderItem, OrderEvent, FeeEntry)]

    before = counts()
    new = body(external_id="AGAIN-NEW", bonus_cashback_voucher=True)
    response = api_client.post(BULK, {"orders": [*orders, new]}, format="json")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert {r["result"] for r in results[:-1]} == {"unchanged"}
    assert results[-1] == {"external_id": "AGAIN-NEW", "result": "created", "errors": None}
    # One order more, its created event and its fee; no item, no event, no fee twice.
    assert counts() == [before[0] + 1, before[1], before[2] + 1, before[3] + 1]


def test_orders_are_made_through_init_when_something_listens_to_it(api_client):
    """Instances are built without Model.__init__ for speed, unless a receiver of its
    signals would miss them."""
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Order)
    try:
        post_bulk(api_client, batch("SEEN", inserts.COPY_FROM + 2))
    finally:
        post_init.disconnect(receiver, sender=Order)

    made = {o.external_id for o in seen if o.external_id.startswith("SEEN-")}
    assert made == {f"SEEN-{i}" for i in range(inserts.COPY_FROM + 2)}
    assert Order.objects.filter(external_id__startswith="SEEN-").count() == len(made)


def test_json_for_copy_is_what_json_writes_and_refuses_what_json_refuses():
    """The payloads go to COPY through orjson; what orjson refuses falls back to json, and
    what json refuses is refused too, so COPY and bulk_create never store different JSON."""
    import json
    from datetime import UTC, datetime

    payload = {"external_id": "A-1", "items": None, "status": "delivered", "n": 3, "ok": True}
    assert json.loads(inserts._json_dumps(payload)) == payload
    keys_not_text = {1: "a"}  # orjson refuses these keys: json writes them as text
    assert json.loads(inserts._json_dumps(keys_not_text)) == {"1": "a"}
    huge = {"n": 2**70}  # beyond orjson's 64 bits
    assert json.loads(inserts._json_dumps(huge)) == huge
    with pytest.raises(TypeError):  # a time, which json refuses and orjson would write
        inserts._json_dumps({"at": datetime(2026, 10, 1, tzinfo=UTC)})
