"""Seller Center > Order Cashback Dashboard and a month's page, as the seller reads them."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from cashback.order_cashback import close_months, credit_cashback
from tests.cashback.test_crediting import (
    CREDIT_AT,
    OCTOBER_CLOSE,
    dated,
    deliver_orders,
    refund,
)
from tests.factories import SellerFactory, SellerUserFactory, StaffUserFactory
from wallet.services import wallet_adjust

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("november")]

D = Decimal
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
NOVEMBER = dated(datetime(2026, 11, 2, 10, tzinfo=UTC))  # delivered 5 November
LATE_OCTOBER = dated(datetime(2026, 10, 17, 10, tzinfo=UTC))  # delivered 20 October
DASHBOARD = "seller:order-cashback"


@pytest.fixture
def november():
    """The clock on 22 November 2026, so that "this month" is November."""
    with time_machine.travel(NOW, tick=False):
        yield


def part(html: str, testid: str) -> str:
    """The element carrying data-testid=`testid`, up to its tag's first closing tag."""
    match = re.search(rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>', html)
    assert match, f"no {testid!r} on the page"
    end = html.index(f"</{match.group(1)}>", match.end())
    return html[match.start() : end]


def text_of(html: str) -> str:
    """The words of some HTML, tags dropped and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def rows(html: str, testid: str) -> list[str]:
    body = part(html, testid)
    return [text_of(row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]]


@pytest.fixture
def history(seller, other_seller):
    """Acme: October closed (A-1..A-9 credited 4 November, A-1 returned since, B-1 pending
    until 19 November), 1,200.00 fulfilled so far in November, and an adjustment. The rival:
    its own October, credited, and a big November."""
    deliver_orders(seller, 9)
    deliver_orders(seller, 1, prefix="B", **LATE_OCTOBER)
    deliver_orders(other_seller, 15, prefix="RIVAL")
    deliver_orders(other_seller, 4, prefix="RIVALNOV", net_product_price=D("5020.00"), **NOVEMBER)
    close_months(as_of=OCTOBER_CLOSE)
    credit_cashback(as_of=CREDIT_AT)
    refund(seller, "A-1", when=datetime(2026, 11, 10, tzinfo=UTC))  # after crediting: final
    deliver_orders(seller, 12, prefix="N", **NOVEMBER)
    wallet_adjust(
        seller_id=seller.pk, amount=D("2.00"), reason="Welcome bonus", staff=StaffUserFactory()
    )


def test_the_dashboard_shows_everything_a_seller_needs(seller_client, history):
    response = seller_client.get(reverse(DASHBOARD))
    assert response.status_code == 200
    html = response.content.decode()

    # Wallet: 9 x 0.50 credited + 2.00 adjustment.
    assert "$6.50" in text_of(part(html, "wallet"))

    this_month = text_of(part(html, "this-month"))
    assert "This month (November 2026)" in this_month
    assert "$1,200.00" in this_month
    assert "fulfilled GMV over 12 orders" in this_month
    assert "Rate: 0.5 %" in this_month
    assert "yearly" not in this_month  # a monthly seller has no bonus to show

    next_tier = text_of(part(html, "next-tier"))
    assert "$1,800.00 more to reach 1 %" in next_tier
    assert "(at $3,000.00 of fulfilled GMV this month)" in next_tier
    assert '<progress class="bar" value="10" max="100">' in part(
        html, "next-tier"
    )  # 200 of the 2,000 to go

    assert "$6.00" in text_of(part(html, "projected"))

    assert rows(html, "pending") == ["B-1 $0.50 2026-11-19"]

    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'data-testid="gmv-chart"' in svg
    assert svg.count("<rect") == 12
    bars = re.findall(r"<title>(\w+): ([^<]+)</title>", svg)
    assert [label for label, _ in bars] == [
        "Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
    ]  # fmt: skip
    assert bars[-2:] == [("Oct", "$1,000.00"), ("Nov", "$1,200.00")]
    assert svg.count('class="current"') == 1
    for threshold in ("$1,000 · 0.5 %", "$3,000 · 1 %", "$10,000 · 2 %"):
        assert threshold in svg

    statements = rows(html, "statements")
    assert statements == [
        "November 2026 Open $1,200.00 0.5 % $6.00* $0.00 $0.00 $0.00 $0.00",
        "October 2026 Closed $1,000.00 0.5 % $5.00 $4.50 $0.50 $0.00 $0.00",
    ]
    assert f'href="{reverse("seller:order-cashback-month", args=["2026-10"])}"' in html

    entries = rows(html, "wallet-entries")
    assert len(entries) == 10
    assert entries[0].startswith("2026-11-22 Adjustment by the platform Welcome bonus +$2.00")
    assert entries[0].endswith("$6.50")
    assert "Order Cashback for order A-" in entries[1]
    assert entries[-1] == "2026-11-22 Order Cashback for order A-1 +$0.50 $0.50"  # when posted

    rules = text_of(part(html, "rules"))
    assert "How Order Cashback works" in rules
    assert "0 % from $0.00, 0.5 % from $1,000.00, 1 % from $3,000.00, 2 % from $10,000.00" in rules
    assert "0.5 points more" in rules
    assert "30 days after each order's delivery" in rules

    # The rival's orders, balance and GMV appear nowhere.
    assert "RIVAL" not in html
    assert "$7.50" not in html and "$20,000.00" not in html


def test_a_yearly_seller_sees_the_bonus_apart(client):
    yearly = SellerFactory(name="Yearly Shop", plan="yearly")
    client.force_login(SellerUserFactory(seller=yearly))
    deliver_orders(yearly, 12, prefix="N", **NOVEMBER)

    html = client.get(reverse(DASHBOARD)).content.decode()

    this_month = text_of(part(html, "this-month"))
    assert "Rate: 1 % = 0.5 % tier + 0.5 % yearly-plan bonus" in this_month
    assert "$1,800.00 more to reach 1.5 %" in text_of(part(html, "next-tier"))
    assert "$12.00" in text_of(part(html, "projected"))


def test_a_new_seller_sees_an_empty_dashboard(seller_client):
    html = seller_client.get(reverse(DASHBOARD)).content.decode()
    assert "$0.00" in text_of(part(html, "wallet"))
    assert "$1,000.00 more to reach 0.5 %" in text_of(part(html, "next-tier"))
    assert rows(html, "pending") == ["Nothing pending."]
    assert rows(html, "wallet-entries") == ["No entries yet."]
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count("<rect") == 12


def test_the_dashboard_needs_a_login(client):
    response = client.get(reverse(DASHBOARD))
    assert response.status_code == 302
    assert "/seller/login/" in response.url


def test_a_months_page_lists_its_orders(seller_client, history):
    response = seller_client.get(reverse("seller:order-cashback-month", args=["2026-10"]))
    assert response.status_code == 200
    html = response.content.decode()
    lead = text_of(html[html.index('<p class="lead">') :].split("</p>")[0])
    assert "Closed. $1,000.00 of fulfilled GMV × 0.5 % = $5.00" in lead
    assert "Credited $4.50 · pending $0.50 · voided $0.00" in text_of(html)
    orders = rows(html, "month-orders")
    assert len(orders) == 10
    assert "B-1 $100.00 $0.50 Pending 2026-11-19" in orders
    assert "A-1 $100.00 $0.50 Credited 2026-11-03" in orders  # returned after: still credited
    assert f'href="{reverse("seller:order", args=["B-1"])}"' in html
    assert "RIVAL" not in html


def test_this_months_page_lists_its_orders_as_waiting(seller_client, history):
    html = seller_client.get(
        reverse("seller:order-cashback-month", args=["2026-11"])
    ).content.decode()
    orders = rows(html, "month-orders")
    assert len(orders) == 12
    assert all(row.endswith("$100.00 — Waiting") for row in orders)
    assert "Open: the month has not ended." in html


@pytest.mark.parametrize("month", ["2026-09", "2026-13", "x"])
def test_a_month_without_a_statement_is_404(seller_client, history, month):
    response = seller_client.get(reverse("seller:order-cashback-month", args=[month]))
    assert response.status_code == 404


def test_another_sellers_month_is_never_shown(client, other_seller, history):
    third = SellerFactory(name="Third Shop")
    client.force_login(SellerUserFactory(seller=third))
    assert client.get(reverse("seller:order-cashback-month", args=["2026-10"])).status_code == 404
    html = client.get(reverse(DASHBOARD)).content.decode()
    assert "RIVAL" not in html and "B-1" not in html
    assert rows(html, "pending") == ["Nothing pending."]
    assert rows(html, "wallet-entries") == ["No entries yet."]


@pytest.mark.parametrize("count", [5, 50])
def test_the_dashboard_runs_in_a_fixed_number_of_queries(
    seller_client, seller, count, django_assert_max_num_queries
):
    """September credited (wallet entries), October pending, November open: as many of each
    as `count`, the same queries."""
    price = D("20.00") + D("2000.00") / count  # each month's GMV is 2,000.00
    september = dated(datetime(2026, 9, 1, 10, tzinfo=UTC))
    deliver_orders(seller, count, prefix="S", net_product_price=price, **september)
    deliver_orders(seller, count, prefix="O", net_product_price=price)
    deliver_orders(seller, count, prefix="N", net_product_price=price, **NOVEMBER)
    close_months(as_of=OCTOBER_CLOSE)
    credit_cashback(as_of=datetime(2026, 10, 10, tzinfo=UTC))  # September's only

    with django_assert_max_num_queries(15):
        response = seller_client.get(reverse(DASHBOARD))

    assert response.status_code == 200
    html = response.content.decode()
    assert len(rows(html, "pending")) == count
    assert len(rows(html, "wallet-entries")) == min(count, 20)
    assert "$2,000.00" in text_of(part(html, "this-month"))
