from datetime import timedelta

import pytest
from django.urls import reverse

from orders.models import Order
from orders.services import orders_create
from tests.orders.conftest import T0, order_input

pytestmark = pytest.mark.django_db

LIST = reverse("seller:orders")


def make_orders(seller, n, **overrides):
    inputs = [
        order_input(external_id=f"O-{i:04d}", placed_at=T0 - timedelta(hours=i), **overrides)
        for i in range(n)
    ]
    results = orders_create(seller=seller, inputs=inputs)
    assert {r.result for r in results} == {"created"}


def listed(response) -> list[str]:
    return [o.external_id for o in response.context["page"].orders]


class TestList:
    def test_newest_first_with_keyset_pages(self, seller_client, seller):
        make_orders(seller, 120)
        first = seller_client.get(LIST)
        assert listed(first)[:2] == ["O-0000", "O-0001"] and len(listed(first)) == 50
        cursor = first.context["page"].next_cursor
        second = seller_client.get(LIST, {"cursor": cursor})
        assert listed(second)[0] == "O-0050"
        third = seller_client.get(LIST, {"cursor": second.context["page"].next_cursor})
        assert listed(third)[-1] == "O-0119" and third.context["page"].next_cursor is None
        assert "Older orders" not in third.content.decode()

    def test_filters(self, seller_client, seller):
        make_orders(seller, 5)
        orders_create(
            seller=seller,
            inputs=[
                order_input(
                    external_id="PAID-1",
                    status="paid",
                    shipped_at=None,
                    delivered_at=None,
                    placed_at=T0 - timedelta(days=30),
                )
            ],
        )
        assert listed(seller_client.get(LIST, {"status": "paid"})) == ["PAID-1"]
        assert listed(seller_client.get(LIST, {"q": "paid"})) == ["PAID-1"]
        day = (T0 - timedelta(days=30)).date().isoformat()
        assert listed(seller_client.get(LIST, {"placed_from": day, "placed_to": day})) == ["PAID-1"]
        assert len(listed(seller_client.get(LIST, {"placed_from": T0.date().isoformat()}))) == 5

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "bogus"},
            {"placed_from": "yesterday"},
            {"cursor": "%%%"},
            {"cursor": "bm90LWEtY3Vyc29y"},
            {"q": "x" * 500},
        ],
    )
    def test_odd_parameters_are_harmless(self, seller_client, seller, params):
        make_orders(seller, 3)
        assert seller_client.get(LIST, params).status_code == 200

    def test_only_the_sellers_own_orders(self, seller_client, seller, other_seller):
        make_orders(seller, 2)
        orders_create(seller=other_seller, inputs=[order_input(external_id="THEIRS")])
        assert "THEIRS" not in listed(seller_client.get(LIST))

    @pytest.mark.parametrize("count", [5, 150])
    def test_a_fixed_number_of_queries_at_any_depth(
        self, seller_client, seller, count, django_assert_max_num_queries
    ):
        make_orders(seller, count)
        with django_assert_max_num_queries(6):
            response = seller_client.get(LIST)
        cursor = response.context["page"].next_cursor
        if cursor:
            with django_assert_max_num_queries(6):
                seller_client.get(LIST, {"cursor": cursor})


class TestOrderPage:
    def test_timeline_items_and_sections(self, seller_client, seller):
        from decimal import Decimal

        from orders.services import ItemInput

        orders_create(
            seller=seller,
            inputs=[
                order_input(
                    items=(
                        ItemInput(sku="MUG", name="Mug", quantity=4, unit_price=Decimal("30.00")),
                    ),
                    refunded_amount=Decimal("10.00"),
                    refunded_at=T0 + timedelta(days=5),
                )
            ],
        )
        response = seller_client.get(reverse("seller:order", args=["A-1"]))
        assert response.status_code == 200
        timeline = response.context["timeline"]
        steps = [(step.step, step.with_creation) for step in timeline]
        assert steps == [
            ("Created", False),
            ("Paid", True),
            ("Shipped", True),
            ("Delivered", True),
            ("Refunded", False),
        ]
        order = Order.objects.get(external_id="A-1")
        assert [step.occurred_at for step in timeline] == [
            order.placed_at,
            order.paid_at,
            order.shipped_at,
            order.delivered_at,
            T0 + timedelta(days=5),
        ]
        assert timeline[-1].amount == Decimal("10.00")
        html = response.content.decode()
        assert html.count("sent with the order") == 3
        assert "MUG" in html and "Mug" in html
        assert 'data-testid="service-fee"' in html and "0.00 USD" in html
        assert "Waiting" in html  # it counts: its month is not closed yet

    def test_another_sellers_order_is_404(self, client, seller, other_seller):
        from tests.factories import SellerUserFactory

        orders_create(seller=seller, inputs=[order_input()])
        client.force_login(SellerUserFactory(seller=other_seller))
        assert client.get(reverse("seller:order", args=["A-1"])).status_code == 404

    def test_an_external_id_with_a_slash(self, seller_client, seller):
        orders_create(seller=seller, inputs=[order_input(external_id="2026/10/7")])
        assert seller_client.get(reverse("seller:order", args=["2026/10/7"])).status_code == 200
