from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from orders.models import Order, OrderEvent
from orders.selectors import order_timeline
from orders.services import orders_create
from tests.factories import StaffUserFactory
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(StaffUserFactory(is_superuser=True))
    return client


def test_orders_are_read_only_and_searchable(admin_client, seller, other_seller):
    orders_create(seller=seller, inputs=[order_input(external_id="FIND-ME")])
    orders_create(seller=other_seller, inputs=[order_input(external_id="OTHER")])
    url = reverse("admin:orders_order_changelist")
    assert admin_client.get(url, {"q": "FIND-ME"}).context["cl"].result_count == 1
    assert admin_client.get(url, {"q": other_seller.name}).context["cl"].result_count == 1
    order = Order.objects.get(external_id="FIND-ME")
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200 and "Events (never edited)" in page.content.decode()
    admin_client.post(reverse("admin:orders_order_change", args=[order.pk]), {"status": "paid"})
    order.refresh_from_db()
    assert order.status == "delivered"
    assert admin_client.get(reverse("admin:orders_order_add")).status_code == 403


def test_seed_demo_makes_months_of_mixed_orders_through_the_service():
    call_command("seed_demo", stdout=StringIO())
    orders = Order.objects.filter(seller__slug="demo-shop")
    statuses = set(orders.values_list("status", flat=True))
    assert {"delivered", "returned", "cancelled"} <= statuses
    assert orders.filter(status="delivered", refunded_amount__gt=0).exists()
    assert orders.filter(bonus_cashback_voucher=True).exists()
    assert orders.filter(bonus_cashback_voucher=False).exists()
    assert set(orders.values_list("fulfillment_channel", flat=True)) == {"order_center", "seller"}
    months = {o.placed_at.strftime("%Y-%m") for o in orders}
    assert len(months) >= 4
    # Through the service: every delivered order has its steps recorded, with its creation.
    delivered = orders.filter(status="delivered").first()
    assert OrderEvent.objects.filter(order=delivered, type="created").exists()
    assert [step.step for step in order_timeline(order=delivered)][:4] == [
        "Created",
        "Paid",
        "Shipped",
        "Delivered",
    ]
    count = orders.count()
    call_command("seed_demo", stdout=StringIO())
    assert Order.objects.filter(seller__slug="demo-shop").count() == count


def test_steps_sent_with_the_order_at_one_instant_keep_their_lifecycle_order(seller):
    """An order created cancelled the moment it shipped: shipped, then cancelled."""
    at = order_input().shipped_at
    (result,) = orders_create(
        seller=seller,
        inputs=[order_input(status="cancelled", delivered_at=None, cancelled_at=at)],
    )
    timeline = order_timeline(order=result.order)
    assert [(step.step, step.with_creation) for step in timeline] == [
        ("Created", False),
        ("Paid", True),
        ("Shipped", True),
        ("Cancelled", True),
    ]
    assert timeline[2].occurred_at == timeline[3].occurred_at == at
