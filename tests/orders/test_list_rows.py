"""Seller Center > Orders makes its cells in Python, for speed: the list must say exactly
what the template said before, escaping included."""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import timezone

from orders.models import Order
from orders.services import orders_create
from orders.views import order_rows
from tests.orders.conftest import T0, order_input

pytestmark = pytest.mark.django_db

LIST = Path(__file__).resolve().parents[2] / "templates" / "orders" / "order_list.html"
OLD_ROWS = """{% for order in orders %}
    <tr>
      <td><a href="{% url 'seller:order' order.external_id %}">{{ order.external_id }}</a></td>
      <td class="date">{{ order.placed_at|date:"Y-m-d H:i" }}</td>
      <td>{{ order.get_status_display }}</td>
      <td class="num">{{ order.net_product_price }} {{ order.currency }}</td>
      <td class="num">{{ order.seller_funded_discount }}</td>
      <td class="num">{{ order.refunded_amount }}</td>
      <td>{% if order.bonus_cashback_voucher %}Bonus Cashback Voucher{% endif %}</td>
      <td>{{ order.get_fulfillment_channel_display }}</td>
    </tr>{% endfor %}"""


def render(template: str, **context) -> str:
    return re.sub(r">\s+<", "><", Template(template).render(Context(context)).strip())


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_the_rows_are_the_templates(seller, zone):
    inputs = [
        order_input(external_id="A-1"),
        order_input(
            external_id="<b>&'x\"/y z%#?",
            currency="EUR",
            net_product_price=Decimal("12345.60"),
            seller_funded_discount=Decimal("0.00"),
            bonus_cashback_voucher=False,
            fulfillment_channel="seller",
            placed_at=T0 - timedelta(minutes=1, seconds=1),
        ),
        order_input(
            external_id="PAID",
            status="paid",
            shipped_at=None,
            delivered_at=None,
            tracking_number="",
        ),
        order_input(
            external_id="RET",
            status="returned",
            returned_at=T0 + timedelta(days=4),
        ),
    ]
    results = orders_create(seller=seller, inputs=inputs)
    assert {r.result for r in results} == {"created"}, [r.errors for r in results]
    orders = list(Order.objects.filter(seller=seller).order_by("pk"))
    text = LIST.read_text()
    start = text.index("{% for row in rows %}")
    current = text[start : text.index("{% empty %}", start)] + "{% endfor %}"
    with timezone.override(zone):  # a day and a minute are the platform time zone's
        assert render(current, rows=order_rows(orders)) == render(OLD_ROWS, orders=orders)
