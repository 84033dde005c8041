"""Seller Center > Orders in the browser: the list, its filters and pages, an order."""

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from orders.services import orders_create
from tests.factories import PASSWORD
from tests.orders.conftest import T0, order_input

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_browse_filter_page_and_open_an_order(page: Page, live_server, seller_user):
    seller = seller_user.seller
    orders_create(
        seller=seller,
        inputs=[
            order_input(external_id=f"WEB-{i:03d}", placed_at=T0 - timedelta(hours=i))
            for i in range(60)
        ]
        + [
            order_input(
                external_id="RET-1",
                status="returned",
                returned_at=T0 + timedelta(days=6),
                placed_at=T0 - timedelta(days=10),
            )
        ],
    )
    page.goto(f"{live_server.url}/seller/login/")
    page.get_by_label("Username").fill("acme-owner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Seller Center").get_by_role("link", name="Orders").click()

    table = page.get_by_test_id("orders")
    expect(table.get_by_role("row")).to_have_count(51)  # a header and 50 orders
    expect(table.get_by_role("row").nth(1)).to_contain_text("WEB-000")
    page.get_by_role("link", name="Older orders").click()
    expect(table.get_by_role("row").nth(1)).to_contain_text("WEB-050")
    expect(page.get_by_role("link", name="Older orders")).to_have_count(0)

    page.get_by_label("Status").select_option("returned")
    page.get_by_role("button", name="Filter").click()
    expect(table.get_by_role("row")).to_have_count(2)
    table.get_by_role("link", name="RET-1").click()

    expect(page.get_by_role("heading", name="Order RET-1")).to_be_visible()
    timeline = page.get_by_test_id("timeline")
    for step in ("Created", "Paid", "Shipped", "Delivered", "Refunded"):
        expect(timeline).to_contain_text(step)
    expect(page.get_by_test_id("service-fee")).to_contain_text("0.00 USD")
    expect(page.get_by_test_id("cashback")).to_contain_text("No cashback")
