"""Seller Center > Finance > Settled records in the browser: the list, View Details, the CSV
download and the way to an order's page."""

import csv
import re

import pytest
from playwright.sync_api import Page, expect

from cashback.services import Actor, registration_create
from fees.services import settle_fees
from fees.views import CSV_COLUMNS
from tests.factories import PASSWORD, make_campaign
from tests.fees.conftest import REGISTERED_AT
from tests.fees.test_pages import (
    CHARGE_A1,
    REFUND_A1,
    RETURN_E5,
    SETTLE_AS_OF,
    week_1_orders,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def settled(seller_user):
    """The week of 2026-09-28 of Acme Gadgets, settled: 6 orders, 10.27 charged, 3.90
    refunded, 6.37 net."""
    seller = seller_user.seller
    registration_create(
        seller=seller,
        campaign=make_campaign(slug="bonus"),
        agree_to_terms=True,
        actor=Actor.seller_user(seller_user),
        now=REGISTERED_AT,
    )
    week_1_orders(seller)
    settle_fees(as_of=SETTLE_AS_OF)


def test_from_the_list_to_the_details_the_csv_and_an_order(page: Page, live_server, settled):
    page.goto(f"{live_server.url}/seller/login/")
    page.get_by_label("Username").fill("acme-owner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Seller Center").get_by_role(
        "link", name="Settled records"
    ).click()

    expect(page.get_by_role("heading", name="Settled records")).to_be_visible()
    records = page.get_by_test_id("settled-records")
    row = records.get_by_role("row").filter(has_text="2026-09-28 – 2026-10-04")
    expect(row).to_contain_text("10.27 USD")
    expect(row.get_by_role("cell").nth(4)).to_have_text("6.37 USD")
    row.get_by_role("link", name="View Details").click()

    expect(page).to_have_url(re.compile(r"/seller/finance/settled-records/\d+/$"))
    lines = page.get_by_test_id("record-lines")
    expect(lines).to_contain_text(f"{CHARGE_A1}; {REFUND_A1}")
    expect(lines).to_contain_text("3 % of (99.99 − 0.00) = 3.00")
    expect(lines).to_contain_text(RETURN_E5)
    expect(lines.locator("tfoot")).to_contain_text("6.37 USD")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == "settled-record-USD-2026-09-28-2026-10-04.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as f:
        header, *orders, total = list(csv.reader(f))
    assert header == list(CSV_COLUMNS)
    assert [(o[0], o[7], o[8], o[9]) for o in orders] == [
        ("A-1", "3.00", "0.90", "2.10"),
        ("B-2", "3.00", "0.00", "3.00"),
        ("C-3", "0.30", "0.00", "0.30"),
        ("D-4", "0.50", "0.00", "0.50"),
        ("E-5", "3.00", "3.00", "0.00"),
        ("G-7", "0.47", "0.00", "0.47"),
    ]
    assert orders[0][11] == f"{CHARGE_A1}; {REFUND_A1}"
    assert total[0] == "Total" and total[7:11] == ["10.27", "3.90", "6.37", "USD"]

    lines.get_by_role("link", name="A-1", exact=True).click()
    expect(page.get_by_role("heading", name="Order A-1")).to_be_visible()
    fee = page.get_by_test_id("service-fee")
    expect(fee.get_by_role("row", name="Charged")).to_contain_text("3.00 USD")
    expect(fee.get_by_role("row", name="Refunded")).to_contain_text("0.90 USD")
    expect(fee.get_by_role("row", name="Net")).to_contain_text("2.10 USD")
    expect(fee.locator("p.hint")).to_have_text([CHARGE_A1, REFUND_A1])
