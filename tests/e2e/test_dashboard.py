import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from cashback.order_cashback import close_months, credit_cashback
from tests.cashback.test_crediting import (
    CREDIT_AT,
    OCTOBER_CLOSE,
    dated,
    deliver_orders,
    ensure_default_tiers,
)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def october(seller):
    """October 2026 closed: nine shares credited on 4 November, B-1's pending."""
    ensure_default_tiers()
    deliver_orders(seller, 9)
    deliver_orders(seller, 1, prefix="B", **dated(datetime(2026, 10, 17, 10, tzinfo=UTC)))
    close_months(as_of=OCTOBER_CLOSE)
    credit_cashback(as_of=CREDIT_AT)


def test_the_dashboard_from_the_navigation_to_a_months_orders(
    page: Page, live_server, seller_user, october
):
    page.goto(f"{live_server.url}/seller/login/")
    page.get_by_label("Username").fill("acme-owner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("navigation", name="Seller Center").get_by_role(
        "link", name="Order Cashback Dashboard"
    ).click()
    expect(page).to_have_url(f"{live_server.url}/seller/order-cashback/")
    expect(page.get_by_role("heading", name="Order Cashback Dashboard", level=1)).to_be_visible()

    expect(page.get_by_test_id("wallet")).to_contain_text("$4.50")
    expect(page.get_by_test_id("next-tier")).to_contain_text(
        re.compile(r"\$[\d,]+\.\d\d more to reach [\d.]+ %")
    )
    expect(page.get_by_role("progressbar")).to_be_visible()
    chart = page.get_by_test_id("gmv-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect")).to_have_count(12)
    expect(page.get_by_test_id("pending")).to_contain_text("B-1")

    statements = page.get_by_test_id("statements")
    october_row = statements.get_by_role("row").filter(has_text="October 2026")
    expect(october_row).to_contain_text("Closed")
    expect(october_row).to_contain_text("$5.00")
    october_row.get_by_role("link", name="October 2026").click()

    expect(page).to_have_url(f"{live_server.url}/seller/order-cashback/months/2026-10/")
    expect(page.get_by_role("heading", name="October 2026")).to_be_visible()
    orders = page.get_by_test_id("month-orders")
    expect(orders.get_by_role("row")).to_have_count(11)  # the header and ten orders
    expect(orders.get_by_role("row").filter(has_text="B-1")).to_contain_text("Pending")
    expect(orders.get_by_role("row").filter(has_text="A-9")).to_contain_text("Credited")

    # Back to the dashboard by the crumbs.
    page.get_by_role("link", name="Order Cashback Dashboard").first.click()
    expect(page).to_have_url(f"{live_server.url}/seller/order-cashback/")
