import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from orders.models import Order, OrderEvent
from tests.factories import make_api_key
from tests.orders.conftest import body

pytestmark = pytest.mark.django_db

ORDERS = reverse("api:order-list")
BULK = reverse("api:order-bulk")


def detail(external_id):
    return reverse("api:order-detail", args=[external_id])


def events_url(external_id):
    return reverse("api:order-events", args=[external_id])


@pytest.fixture
def other_client(other_seller):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(other_seller)}")
    return client


def post(client, url, data):
    return client.post(url, data, format="json")


class TestCreate:
    def test_201_with_the_order_in_the_specs_shape(self, api_client):
        response = post(api_client, ORDERS, body())
        assert response.status_code == 201
        order = response.json()
        assert order["external_id"] == "A-1" and order["status"] == "delivered"
        assert order["net_product_price"] == "120.00"
        assert order["seller_funded_discount"] == "20.00"
        assert order["refunded_amount"] == "0.00"
        assert order["delivered_at"] == "2026-10-04T10:00:00Z"
        assert order["returned_at"] is None
        assert order["service_fee"] == {
            "currency": "USD",
            "charged": "0.00",
            "refunded": "0.00",
            "net": "0.00",
        }
        # It counts towards Order Cashback: waiting for its month to close.
        assert order["cashback"] == {
            "amount": None,
            "status": "waiting",
            "due_at": "2026-11-03T10:00:00Z",
        }
        seller_fulfilled = post(
            api_client, ORDERS, body(external_id="S-1", fulfillment_channel="seller")
        ).json()
        assert seller_fulfilled["cashback"] == {"amount": None, "status": "none", "due_at": None}

    def test_the_same_data_again_is_200_and_changes_nothing(self, api_client):
        post(api_client, ORDERS, body())
        response = post(api_client, ORDERS, body())
        assert response.status_code == 200 and response.json()["external_id"] == "A-1"
        assert Order.objects.count() == 1 and OrderEvent.objects.count() == 1

    def test_the_same_data_written_differently_is_the_same(self, api_client):
        post(api_client, ORDERS, body())
        same = body(net_product_price="120", placed_at="2026-10-01T12:00:00+02:00")
        assert post(api_client, ORDERS, same).status_code == 200

    def test_other_data_for_the_external_id_is_409(self, api_client):
        post(api_client, ORDERS, body())
        response = post(api_client, ORDERS, body(tracking_number="OTHER"))
        assert response.status_code == 409
        assert "tracking_number" in response.json()["detail"]
        assert Order.objects.get().tracking_number == "TRK-1"

    def test_the_seller_comes_from_the_key(self, api_client, seller):
        post(api_client, ORDERS, body())
        assert Order.objects.get().seller == seller

    def test_needs_a_key(self, anonymous_api_client):
        assert post(anonymous_api_client, ORDERS, body()).status_code == 401
        assert not Order.objects.exists()


class TestReadAndList:
    def test_detail(self, api_client):
        post(
            api_client,
            ORDERS,
            body(items=[{"sku": "S", "name": "Shoe", "quantity": 2, "unit_price": "60.00"}]),
        )
        order = api_client.get(detail("A-1")).json()
        assert order["items"] == [
            {"sku": "S", "name": "Shoe", "quantity": 2, "unit_price": "60.00"}
        ]

    def test_external_ids_with_a_slash(self, api_client):
        post(api_client, ORDERS, body(external_id="2026/10/0001"))
        assert api_client.get(detail("2026/10/0001")).json()["external_id"] == "2026/10/0001"
        response = post(
            api_client,
            events_url("2026/10/0001"),
            {"type": "refunded", "occurred_at": "2026-10-05T10:00:00Z"},
        )
        assert response.status_code == 200 and response.json()["status"] == "returned"

    def test_another_sellers_order_is_404_and_its_id_is_free(self, api_client, other_client):
        post(api_client, ORDERS, body())
        assert other_client.get(detail("A-1")).status_code == 404
        refused = post(
            other_client,
            events_url("A-1"),
            {"type": "refunded", "occurred_at": "2026-10-05T10:00:00Z"},
        )
        assert refused.status_code == 404
        assert other_client.get(ORDERS).json()["results"] == []
        theirs = post(
            other_client, ORDERS, body(net_product_price="50.00", seller_funded_discount="0.00")
        )
        assert theirs.status_code == 201
        assert api_client.get(detail("A-1")).json()["net_product_price"] == "120.00"

    def test_list_filters_and_pages(self, api_client):
        for n in range(3):
            post(api_client, ORDERS, body(external_id=f"D-{n}"))
        post(
            api_client,
            ORDERS,
            body(external_id="P-1", status="paid", shipped_at=None, delivered_at=None),
        )
        listed = api_client.get(ORDERS, {"page_size": 2}).json()
        assert set(listed) == {"results", "next", "previous"} and len(listed["results"]) == 2
        rest = api_client.get(listed["next"]).json()
        ids = [o["external_id"] for o in listed["results"] + rest["results"]]
        assert sorted(ids) == ["D-0", "D-1", "D-2", "P-1"]
        paid = api_client.get(ORDERS, {"status": "paid"}).json()["results"]
        assert [o["external_id"] for o in paid] == ["P-1"]

    def test_updated_since(self, api_client):
        from datetime import timedelta

        from django.utils import timezone

        post(api_client, ORDERS, body())
        later = (timezone.now() + timedelta(minutes=1)).isoformat()
        earlier = (timezone.now() - timedelta(minutes=1)).isoformat()
        assert len(api_client.get(ORDERS, {"updated_since": earlier}).json()["results"]) == 1
        assert api_client.get(ORDERS, {"updated_since": later}).json()["results"] == []

    def test_a_list_takes_a_fixed_number_of_queries(
        self, api_client, django_assert_max_num_queries
    ):
        for n in range(30):
            post(
                api_client,
                ORDERS,
                body(
                    external_id=f"Q-{n}",
                    items=[{"sku": "S", "quantity": 1, "unit_price": "120.00"}],
                ),
            )
        with django_assert_max_num_queries(8):
            assert len(api_client.get(ORDERS).json()["results"]) == 30


class TestEvents:
    @pytest.fixture
    def paid(self, api_client):
        return post(
            api_client,
            ORDERS,
            body(status="paid", shipped_at=None, delivered_at=None, tracking_number=None),
        )

    def test_each_step_answers_the_order(self, api_client, paid):
        shipped = post(
            api_client,
            events_url("A-1"),
            {
                "type": "shipped",
                "occurred_at": "2026-10-02T10:00:00Z",
                "tracking_number": "T-9",
                "event_id": "ship-1",
            },
        )
        assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
        assert shipped.json()["tracking_number"] == "T-9"
        delivered = post(
            api_client,
            events_url("A-1"),
            {"type": "delivered", "occurred_at": "2026-10-03T10:00:00Z"},
        )
        assert delivered.json()["status"] == "delivered"
        partial = post(
            api_client,
            events_url("A-1"),
            {
                "type": "refunded",
                "occurred_at": "2026-10-04T10:00:00Z",
                "amount": "25.50",
            },
        )
        assert partial.json()["refunded_amount"] == "25.50"
        rest = post(
            api_client,
            events_url("A-1"),
            {"type": "refunded", "occurred_at": "2026-10-05T10:00:00Z"},
        )
        assert rest.json()["status"] == "returned" and rest.json()["refunded_amount"] == "100.00"

    def test_a_replayed_event_is_200_and_changes_nothing(self, api_client, paid):
        event = {
            "type": "shipped",
            "occurred_at": "2026-10-02T10:00:00Z",
            "tracking_number": "T",
            "event_id": "e-1",
        }
        post(api_client, events_url("A-1"), event)
        again = post(api_client, events_url("A-1"), event)
        assert again.status_code == 200 and again.json()["status"] == "shipped"
        assert OrderEvent.objects.filter(type="shipped").count() == 1
        without_id = {k: v for k, v in event.items() if k != "event_id"}
        assert post(api_client, events_url("A-1"), without_id).status_code == 200
        assert OrderEvent.objects.filter(type="shipped").count() == 1

    @pytest.mark.parametrize(
        "event",
        [
            {"type": "delivered", "occurred_at": "2026-10-03T10:00:00Z"},
            {"type": "refunded", "occurred_at": "2026-10-03T10:00:00Z"},
        ],
    )
    def test_a_step_not_allowed_is_409(self, api_client, paid, event):
        response = post(api_client, events_url("A-1"), event)
        assert response.status_code == 409 and "detail" in response.json()
        assert Order.objects.get().status == "paid"


class TestBulk:
    def test_good_and_bad_orders_mixed(self, api_client):
        post(api_client, ORDERS, body(external_id="OLD"))
        orders = [
            body(external_id="N-1"),
            body(external_id="BAD", currency="XYZ"),
            body(external_id="OLD"),
            body(external_id="OLD", net_product_price="99.00"),
            "not an order",
            body(
                external_id="N-2",
                status="unpaid",
                paid_at=None,
                shipped_at=None,
                delivered_at=None,
                tracking_number=None,
            ),
        ]
        response = post(api_client, BULK, {"orders": orders})
        assert response.status_code == 200
        results = response.json()["results"]
        assert [(r["external_id"], r["result"]) for r in results] == [
            ("N-1", "created"),
            ("BAD", "error"),
            ("OLD", "unchanged"),
            ("OLD", "error"),
            (None, "error"),
            ("N-2", "created"),
        ]
        assert "currency" in results[1]["errors"]
        assert "external_id" in results[3]["errors"]
        assert results[0]["errors"] is None
        assert sorted(Order.objects.values_list("external_id", flat=True)) == ["N-1", "N-2", "OLD"]

    def test_the_same_order_twice_in_one_request(self, api_client):
        response = post(
            api_client,
            BULK,
            {
                "orders": [
                    body(external_id="T"),
                    body(external_id="T"),
                    body(external_id="T", currency="EUR"),
                ]
            },
        )
        assert [r["result"] for r in response.json()["results"]] == [
            "created",
            "unchanged",
            "error",
        ]
        assert Order.objects.count() == 1

    def test_a_batch_takes_a_few_queries_not_a_few_per_order(
        self, api_client, django_assert_max_num_queries
    ):
        orders = [
            body(external_id=f"B-{n}", items=[{"sku": "S", "quantity": 1, "unit_price": "120.00"}])
            for n in range(200)
        ]
        # One statement a table on PostgreSQL; SQLite splits inserts by its parameter limit.
        # Either way far below the ~1,600 that one order at a time would take.
        from django.db import connection

        with django_assert_max_num_queries(12 if connection.vendor == "postgresql" else 30):
            response = post(api_client, BULK, {"orders": orders})
        assert {r["result"] for r in response.json()["results"]} == {"created"}
        assert Order.objects.count() == 200 and OrderEvent.objects.count() == 200

    def test_more_than_1000_is_413(self, api_client):
        response = post(
            api_client, BULK, {"orders": [body(external_id=f"X{n}") for n in range(1001)]}
        )
        assert response.status_code == 413 and "detail" in response.json()
        assert not Order.objects.exists()
