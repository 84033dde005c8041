"""The integrators' API: settled records, their breakdown, and the fee of an order."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from fees.models import SettledRecord
from tests.fees.test_pages import (
    DELIVERED,
    WEEK_1_EXPLAINED,
    WEEK_1_LINES,
    create,
    refund,
    rival_record,
    two_weeks,
)
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db

D = Decimal

RECORD_FIELDS = (
    "id",
    "period_start",
    "period_end",
    "currency",
    "orders_count",
    "fees_charged",
    "fees_refunded",
    "net",
)
LINE_FIELDS = {
    "external_id",
    "placed_at",
    "delivered_at",
    "net_product_price",
    "seller_funded_discount",
    "fee_base",
    "rate",
    "fee_charged",
    "fee_refunded",
    "net",
    "explanation",
}


@pytest.fixture
def records(seller, registered):
    return two_weeks(seller)


@pytest.fixture
def rival(other_seller, campaign):
    return rival_record(other_seller, campaign)


def record_fields(body: dict) -> dict:
    assert set(RECORD_FIELDS) <= body.keys(), body
    return {name: body[name] for name in RECORD_FIELDS}


# 7. The list -----------------------------------------------------------------------------


class TestList:
    def test_the_callers_records_newest_first_amounts_as_strings(self, api_client, records, rival):
        week_1, week_2 = records
        response = api_client.get(reverse("api:settlement-list"))
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"results", "next", "previous"}
        assert (body["next"], body["previous"]) == (None, None)
        assert [record_fields(r) for r in body["results"]] == [
            {
                "id": week_2.pk,
                "period_start": "2026-10-05",
                "period_end": "2026-10-11",
                "currency": "USD",
                "orders_count": 2,
                "fees_charged": "1.50",
                "fees_refunded": "0.30",
                "net": "1.20",
            },
            {
                "id": week_1.pk,
                "period_start": "2026-09-28",
                "period_end": "2026-10-04",
                "currency": "USD",
                "orders_count": 6,
                "fees_charged": "10.27",
                "fees_refunded": "3.90",
                "net": "6.37",
            },
        ]
        assert rival.pk not in {r["id"] for r in body["results"]}

    def test_cursor_pages_of_one(self, api_client, records, rival):
        week_1, week_2 = records
        first = api_client.get(reverse("api:settlement-list"), {"page_size": 1}).json()
        assert [r["id"] for r in first["results"]] == [week_2.pk]
        assert first["previous"] is None and first["next"]
        second = api_client.get(first["next"]).json()
        assert [r["id"] for r in second["results"]] == [week_1.pk]
        assert second["next"] is None and second["previous"]  # the rival's is not a page
        back = api_client.get(second["previous"]).json()
        assert [r["id"] for r in back["results"]] == [week_2.pk]

    def test_without_a_key_401(self, anonymous_api_client, records):
        response = anonymous_api_client.get(reverse("api:settlement-list"))
        assert response.status_code == 401
        assert set(response.json()) == {"detail"}


# 8. The detail ---------------------------------------------------------------------------


class TestDetail:
    def test_the_record_with_one_line_per_order(self, api_client, records):
        week_1, _ = records
        response = api_client.get(reverse("api:settlement-detail", args=[week_1.pk]))
        assert response.status_code == 200
        body = response.json()
        assert record_fields(body) == {
            "id": week_1.pk,
            "period_start": "2026-09-28",
            "period_end": "2026-10-04",
            "currency": "USD",
            "orders_count": 6,
            "fees_charged": "10.27",
            "fees_refunded": "3.90",
            "net": "6.37",
        }
        for line in body["lines"]:
            assert line.keys() >= LINE_FIELDS, line

        expected = [
            {
                "external_id": order,
                "placed_at": f"2026-10-01T10:0{minute}:00Z",
                "delivered_at": "2026-10-04T10:00:00Z",
                "net_product_price": price,
                "seller_funded_discount": discount,
                "fee_base": base,
                "rate": "3",
                "fee_charged": charged,
                "fee_refunded": refunded,
                "net": net,
                "explanation": explained,
            }
            for minute, ((order, price, discount, base, charged, refunded, net), explained) in (
                enumerate(zip(WEEK_1_LINES, WEEK_1_EXPLAINED, strict=True))
            )
        ]
        assert [{k: x[k] for k in LINE_FIELDS} for x in body["lines"]] == expected

    def test_a_line_that_only_refunds_has_a_negative_net(self, api_client, records):
        _, week_2 = records
        lines = api_client.get(reverse("api:settlement-detail", args=[week_2.pk])).json()["lines"]
        c3 = next(x for x in lines if x["external_id"] == "C-3")
        assert (c3["fee_charged"], c3["fee_refunded"], c3["net"]) == ("0.00", "0.30", "-0.30")

    def test_another_sellers_record_is_404_with_a_detail(self, api_client, records, rival):
        response = api_client.get(reverse("api:settlement-detail", args=[rival.pk]))
        assert response.status_code == 404
        assert set(response.json()) == {"detail"}
        assert response.json()["detail"]

    def test_a_record_that_does_not_exist_is_404(self, api_client, records):
        missing = SettledRecord.objects.order_by("-pk").first().pk + 1000
        response = api_client.get(reverse("api:settlement-detail", args=[missing]))
        assert response.status_code == 404
        assert set(response.json()) == {"detail"}


# 9. An order's service fee ---------------------------------------------------------------


def service_fee(api_client, external_id):
    response = api_client.get(reverse("api:order-detail", args=[external_id]))
    assert response.status_code == 200
    return response.json()["service_fee"]


class TestOrderServiceFee:
    def test_charged_on_delivery_then_refunded_in_part_then_in_full(
        self, seller, api_client, registered
    ):
        create(seller, order_input(external_id="A-1"))
        assert service_fee(api_client, "A-1") == {
            "currency": "USD",
            "charged": "3.00",
            "refunded": "0.00",
            "net": "3.00",
        }
        refund(seller, "A-1", DELIVERED + timedelta(hours=1), D("30.00"))
        assert service_fee(api_client, "A-1") == {
            "currency": "USD",
            "charged": "3.00",
            "refunded": "0.90",
            "net": "2.10",
        }
        refund(seller, "A-1", DELIVERED + timedelta(hours=2))  # all that remains: 70.00
        order = api_client.get(reverse("api:order-detail", args=["A-1"])).json()
        assert (order["status"], order["refunded_amount"]) == ("returned", "100.00")
        assert order["service_fee"] == {
            "currency": "USD",
            "charged": "3.00",
            "refunded": "3.00",
            "net": "0.00",
        }

    def test_the_fee_is_in_the_orders_currency(self, seller, api_client, registered):
        create(seller, order_input(external_id="EU-1", currency="EUR"))
        assert service_fee(api_client, "EU-1") == {
            "currency": "EUR",
            "charged": "3.00",
            "refunded": "0.00",
            "net": "3.00",
        }

    def test_an_order_without_the_voucher_is_all_zero(self, seller, api_client, registered):
        create(seller, order_input(external_id="N-1", bonus_cashback_voucher=False))
        assert service_fee(api_client, "N-1") == {
            "currency": "USD",
            "charged": "0.00",
            "refunded": "0.00",
            "net": "0.00",
        }

    def test_the_list_gives_each_order_its_own_fee(self, seller, api_client, registered):
        create(
            seller,
            order_input(external_id="A-1"),
            order_input(external_id="D-4", seller_funded_discount=D("103.50")),
            order_input(external_id="N-1", bonus_cashback_voucher=False),
        )
        results = api_client.get(reverse("api:order-list")).json()["results"]
        fees = {o["external_id"]: o["service_fee"]["net"] for o in results}
        assert fees == {"A-1": "3.00", "D-4": "0.50", "N-1": "0.00"}
