"""What the dashboard says so that its numbers add up for the seller."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from cashback.order_cashback import close_months, credit_cashback
from tests.cashback.test_crediting import CREDIT_AT, OCTOBER_CLOSE, deliver_orders, refund
from tests.cashback.test_dashboard import november, part, rows, text_of  # noqa: F401 (fixture)
from tests.factories import SellerFactory, SellerUserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("november")]

D = Decimal
DASHBOARD = "seller:order-cashback"


def test_a_refund_after_the_close_shows_as_lowered(seller, seller_client):
    deliver_orders(seller, 10)  # 1,000.00: 0.5 %, 5.00, 0.50 each
    close_months(as_of=OCTOBER_CLOSE)
    refund(seller, "A-1", when=datetime(2026, 11, 2, tzinfo=UTC), amount=D("30.00"))
    credit_cashback(as_of=CREDIT_AT)
    october = rows(seller_client.get(reverse(DASHBOARD)).content.decode(), "statements")[1]
    # Credited 4.85 + lowered 0.15 = the total of 5.00.
    assert october == "October 2026 Closed $1,000.00 0.5 % $5.00 $4.85 $0.00 $0.00 $0.15"


def test_a_returned_order_waiting_for_its_due_date_says_it_gets_nothing(seller, seller_client):
    deliver_orders(seller, 10)
    close_months(as_of=OCTOBER_CLOSE)
    refund(seller, "A-1", when=datetime(2026, 11, 2, tzinfo=UTC))
    refund(seller, "A-2", when=datetime(2026, 11, 2, tzinfo=UTC), amount=D("10.00"))
    pending = rows(seller_client.get(reverse(DASHBOARD)).content.decode(), "pending")
    notes = {row.split()[0]: row for row in pending}
    assert notes["A-1"].endswith("Returned: no cashback")
    assert notes["A-2"].endswith("Lowered for a refund")
    assert not notes["A-3"].endswith(("cashback", "refund"))


def test_a_yearly_seller_reads_the_thresholds_at_its_own_rates(client):
    yearly = SellerFactory(name="Yearly", plan="yearly")
    client.force_login(SellerUserFactory(seller=yearly))
    chart = part(client.get(reverse(DASHBOARD)).content.decode(), "gmv-chart")
    for label in ("$1,000 · 1 %", "$3,000 · 1.5 %", "$10,000 · 2.5 %"):
        assert label in chart
    assert "$1,000 · 0.5 %" not in text_of(chart)
