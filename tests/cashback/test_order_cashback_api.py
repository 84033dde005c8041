"""The integrators' view of Order Cashback: the wallet and its entries, this month's
progress, the monthly statements with their orders, and each order's `cashback` section."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from cashback.order_cashback import close_months, credit_cashback
from orders.services import orders_create
from tests.cashback.test_crediting import (
    CREDIT_AT,
    OCTOBER_CLOSE,
    dated,
    deliver_orders,
    refund,
)
from tests.factories import SellerFactory, StaffUserFactory, make_api_key
from tests.orders.conftest import order_input
from wallet.services import wallet_adjust

pytestmark = pytest.mark.django_db

D = Decimal
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
NOVEMBER = dated(datetime(2026, 11, 2, 10, tzinfo=UTC))  # delivered 5 November
SEPTEMBER = dated(datetime(2026, 9, 1, 10, tzinfo=UTC))  # delivered 4 September
LATE_OCTOBER = dated(datetime(2026, 10, 17, 10, tzinfo=UTC))  # delivered 20 October


@pytest.fixture
def november():
    """The clock on 22 November 2026, so that "this month" is November."""
    with time_machine.travel(NOW, tick=False):
        yield


def client_of(seller):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(seller)}")
    return client


def get(client, name: str, *args, **params):
    response = client.get(reverse(name, args=args), params)
    return response


# 10. Wallet -----------------------------------------------------------------------------------


class TestWallet:
    def test_a_seller_without_a_wallet_has_zero(self, api_client):
        response = get(api_client, "api:wallet")
        assert response.status_code == 200
        assert response.json() == {"balance": "0.00", "currency": "USD"}

    def test_balance_after_crediting(self, api_client, seller):
        deliver_orders(seller)
        close_months(as_of=OCTOBER_CLOSE)
        credit_cashback(as_of=CREDIT_AT)
        assert get(api_client, "api:wallet").json() == {"balance": "5.00", "currency": "USD"}

    def test_entries_are_cursor_pages_of_the_callers_own(self, api_client, seller, other_seller):
        deliver_orders(seller)
        deliver_orders(other_seller, 12, prefix="R")
        close_months(as_of=OCTOBER_CLOSE)
        credit_cashback(as_of=CREDIT_AT)
        staff = StaffUserFactory()
        wallet_adjust(seller_id=seller.pk, amount=D("-1.25"), reason="Correction", staff=staff)

        first = get(api_client, "api:wallet-entries", page_size=4)
        assert first.status_code == 200
        page = first.json()
        assert set(page) == {"results", "next", "previous"}
        assert page["previous"] is None and page["next"]
        entries = page["results"]
        url = page["next"]
        while url:
            page = api_client.get(url).json()
            entries += page["results"]
            url = page["next"]

        assert len(entries) == 11  # ten shares and the adjustment; none of the rival's 12
        assert len({e["id"] for e in entries}) == 11
        assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
        for entry in entries:
            assert {"id", "kind", "amount", "balance_after", "created_at"} <= set(entry)
        newest = entries[0]
        assert newest["kind"] == "adjustment"
        assert (newest["amount"], newest["balance_after"]) == ("-1.25", "3.75")
        assert newest["reason"] == "Correction"
        cashback = entries[-1]
        assert cashback["kind"] == "cashback"
        assert (cashback["amount"], cashback["balance_after"]) == ("0.50", "0.50")
        # Newest first, in the order they were posted.
        assert cashback["created_at"] <= newest["created_at"]
        assert {e["description"] for e in entries if e["kind"] == "cashback"} == {
            f"Order Cashback for order A-{n}" for n in range(1, 11)
        }

        rival = get(client_of(other_seller), "api:wallet-entries").json()["results"]
        assert len(rival) == 12
        assert not {e["id"] for e in rival} & {e["id"] for e in entries}

    def test_an_anonymous_client_gets_401(self, anonymous_api_client):
        for name in ("api:wallet", "api:wallet-entries", "api:cashback-summary"):
            response = get(anonymous_api_client, name)
            assert response.status_code == 401
            assert set(response.json()) == {"detail"}


# 11. This month's progress ---------------------------------------------------------------------


@pytest.mark.usefixtures("november")
class TestSummary:
    def test_this_months_progress_as_strings(self, api_client, seller):
        deliver_orders(seller, 12, prefix="N", **NOVEMBER)  # 1,200.00 in November
        deliver_orders(seller, 30, **LATE_OCTOBER)  # October's do not count this month
        deliver_orders(
            seller, 1, prefix="S", fulfillment_channel="seller", **NOVEMBER
        )  # nor the seller's own shipments

        response = get(api_client, "api:cashback-summary")

        assert response.status_code == 200
        data = response.json()
        assert {
            key: data[key]
            for key in (
                "month",
                "gmv_usd",
                "tier_rate",
                "bonus_rate",
                "rate",
                "next_tier_rate",
                "gmv_to_next_tier",
                "projected_cashback",
            )
        } == {
            "month": "2026-11",
            "gmv_usd": "1200.00",
            "tier_rate": "0.5",
            "bonus_rate": "0",
            "rate": "0.5",
            "next_tier_rate": "1",
            "gmv_to_next_tier": "1800.00",
            "projected_cashback": "6.00",
        }
        assert data["orders"] == 12
        assert data["plan"] == "monthly"

    def test_a_yearly_seller_shows_the_bonus(self):
        yearly = SellerFactory(name="Yearly Shop", plan="yearly")
        deliver_orders(yearly, 12, prefix="N", **NOVEMBER)

        data = get(client_of(yearly), "api:cashback-summary").json()

        assert (data["tier_rate"], data["bonus_rate"], data["rate"]) == ("0.5", "0.5", "1")
        assert (data["next_tier_rate"], data["gmv_to_next_tier"]) == ("1.5", "1800.00")
        assert data["projected_cashback"] == "12.00"
        assert data["plan"] == "yearly"

    def test_below_the_first_tier_there_is_no_bonus_and_nothing_projected(self):
        yearly = SellerFactory(name="Yearly Shop", plan="yearly")
        deliver_orders(yearly, 4, prefix="N", **NOVEMBER)

        data = get(client_of(yearly), "api:cashback-summary").json()

        assert (data["gmv_usd"], data["tier_rate"], data["bonus_rate"], data["rate"]) == (
            "400.00",
            "0",
            "0",
            "0",
        )
        assert (data["next_tier_rate"], data["gmv_to_next_tier"]) == ("1", "600.00")
        assert data["projected_cashback"] == "0.00"

    def test_at_the_top_tier_there_is_no_next_tier(self, api_client, seller):
        deliver_orders(seller, 2, prefix="N", net_product_price=D("5020.00"), **NOVEMBER)

        data = get(api_client, "api:cashback-summary").json()

        assert (data["gmv_usd"], data["rate"]) == ("10000.00", "2")
        assert data["next_tier_rate"] is None and data["gmv_to_next_tier"] is None
        assert data["projected_cashback"] == "200.00"

    def test_a_seller_without_orders(self, api_client):
        data = get(api_client, "api:cashback-summary").json()
        assert (data["gmv_usd"], data["rate"], data["projected_cashback"]) == (
            "0.00",
            "0",
            "0.00",
        )
        assert (data["next_tier_rate"], data["gmv_to_next_tier"]) == ("0.5", "1000.00")


# 12. Monthly statements ------------------------------------------------------------------------


@pytest.fixture
def months(seller, other_seller):
    """September waits for an FX rate (a EUR order, no rate); October is closed, credited
    on 4 November except B-1 (due 19 November), A-1 returned after the close and voided.
    The rival seller has an October of its own."""
    deliver_orders(seller, 1, prefix="EU", currency="EUR", **SEPTEMBER)
    deliver_orders(seller, 9)
    deliver_orders(seller, 1, prefix="B", **LATE_OCTOBER)
    deliver_orders(other_seller, 20, prefix="R")
    close_months(as_of=OCTOBER_CLOSE)
    refund(seller, "A-1")
    credit_cashback(as_of=CREDIT_AT)


@pytest.mark.usefixtures("november")
class TestMonths:
    def test_closed_and_waiting_months_newest_first(self, api_client, months):
        response = get(api_client, "api:cashback-months")
        assert response.status_code == 200
        page = response.json()
        assert (page["next"], page["previous"]) == (None, None)
        october, september = page["results"]
        assert {
            key: october[key]
            for key in (
                "month",
                "status",
                "gmv_usd",
                "tier_rate",
                "bonus_rate",
                "rate",
                "total",
                "credited",
                "pending",
                "voided",
            )
        } == {
            "month": "2026-10",
            "status": "closed",
            "gmv_usd": "1000.00",
            "tier_rate": "0.5",
            "bonus_rate": "0",
            "rate": "0.5",
            "total": "5.00",
            "credited": "4.00",
            "pending": "0.50",
            "voided": "0.50",
        }
        assert october["orders_count"] == 10
        assert (september["month"], september["status"]) == ("2026-09", "waiting_fx")
        assert september["waiting_for"] == "FX rate EUR on 2026-09-04"
        assert september["total"] == "0.00"

    def test_months_are_cursor_pages(self, api_client, months):
        first = get(api_client, "api:cashback-months", page_size=1).json()
        assert [m["month"] for m in first["results"]] == ["2026-10"]
        second = api_client.get(first["next"]).json()
        assert [m["month"] for m in second["results"]] == ["2026-09"]
        assert second["next"] is None

    def test_a_month_with_its_orders(self, api_client, months):
        response = get(api_client, "api:cashback-month", "2026-10")
        assert response.status_code == 200
        data = response.json()
        assert (data["month"], data["status"], data["total"]) == ("2026-10", "closed", "5.00")
        orders = {o["external_id"]: o for o in data["orders"]}
        assert set(orders) == {f"A-{n}" for n in range(1, 10)} | {"B-1"}
        for order in data["orders"]:
            assert {"external_id", "gmv_usd", "amount", "status"} <= set(order)
            assert order["gmv_usd"] == "100.00"
        assert {k: orders["A-1"][k] for k in ("amount", "status")} == {
            "amount": "0.50",
            "status": "voided",
        }
        assert {k: orders["A-2"][k] for k in ("amount", "status")} == {
            "amount": "0.50",
            "status": "credited",
        }
        assert orders["B-1"]["status"] == "pending"
        assert orders["B-1"]["due_at"] == "2026-11-19T10:00:00Z"

    def test_a_waiting_month_lists_its_orders_as_waiting(self, api_client, months):
        data = get(api_client, "api:cashback-month", "2026-09").json()
        assert data["status"] == "waiting_fx"
        assert data["orders"] == [
            {
                "external_id": "EU-1",
                "gmv_usd": None,
                "amount": None,
                "status": "waiting",
                "due_at": None,
                "late": False,
            }
        ]

    @pytest.mark.parametrize("month", ["2026-08", "2026-13", "x", "2026-1", "2026-10-01"])
    def test_no_statement_or_a_bad_month_is_404(self, api_client, months, month):
        response = get(api_client, "api:cashback-month", month)
        assert response.status_code == 404
        assert set(response.json()) == {"detail"}

    def test_another_sellers_months_are_never_shown(self, api_client, other_seller, months):
        rival = client_of(other_seller)
        listed = get(rival, "api:cashback-months").json()["results"]
        assert [(m["month"], m["total"]) for m in listed] == [("2026-10", "10.00")]
        assert get(rival, "api:cashback-month", "2026-09").status_code == 404
        rival_october = get(rival, "api:cashback-month", "2026-10").json()
        assert {o["external_id"] for o in rival_october["orders"]} == {
            f"R-{n}" for n in range(1, 21)
        }
        # And the seller sees none of the rival's.
        own = get(api_client, "api:cashback-month", "2026-10").json()
        assert not any(o["external_id"].startswith("R-") for o in own["orders"])
        assert own["total"] == "5.00"

    def test_this_month_is_an_open_statement(self, api_client, seller, months):
        deliver_orders(seller, 12, prefix="N", **NOVEMBER)
        data = get(api_client, "api:cashback-month", "2026-11").json()
        assert (data["status"], data["gmv_usd"], data["rate"], data["total"]) == (
            "open",
            "1200.00",
            "0.5",
            "6.00",
        )
        assert {o["status"] for o in data["orders"]} == {"waiting"}
        assert len(data["orders"]) == 12
        # The list holds the closed and waiting months only: this month is the summary's.
        listed = get(api_client, "api:cashback-months").json()["results"]
        assert [m["month"] for m in listed] == ["2026-10", "2026-09"]


# 13. The order's cashback section -----------------------------------------------------------------


def cashback_of(client, external_id: str) -> dict:
    response = get(client, "api:order-detail", external_id)
    assert response.status_code == 200
    return response.json()["cashback"]


def test_the_orders_cashback_section_through_its_life(api_client, seller):
    deliver_orders(seller)
    orders_create(
        seller=seller,
        inputs=[order_input(external_id="OWN-1", fulfillment_channel="seller")],
    )

    assert cashback_of(api_client, "OWN-1") == {"amount": None, "status": "none", "due_at": None}
    waiting = {"amount": None, "status": "waiting", "due_at": "2026-11-03T10:00:00Z"}
    assert cashback_of(api_client, "A-1") == waiting

    close_months(as_of=OCTOBER_CLOSE)
    pending = {"amount": "0.50", "status": "pending", "due_at": "2026-11-03T10:00:00Z"}
    assert cashback_of(api_client, "A-1") == pending
    assert cashback_of(api_client, "A-2") == pending
    assert cashback_of(api_client, "OWN-1")["status"] == "none"

    refund(seller, "A-2")  # returned after the close
    refund(seller, "A-3", D("30.00"))  # partly refunded after the close
    credit_cashback(as_of=CREDIT_AT)

    assert cashback_of(api_client, "A-1") == {**pending, "status": "credited"}
    assert cashback_of(api_client, "A-2") == {**pending, "status": "voided"}
    assert cashback_of(api_client, "A-3") == {**pending, "amount": "0.35", "status": "credited"}
    assert cashback_of(api_client, "OWN-1")["status"] == "none"

    listed = {
        o["external_id"]: o["cashback"]["status"]
        for o in get(api_client, "api:order-list").json()["results"]
    }
    assert listed["A-1"] == "credited" and listed["A-2"] == "voided"
    assert listed["OWN-1"] == "none"


def test_an_order_returned_before_the_close_has_no_cashback(api_client, seller):
    deliver_orders(seller, 11)
    refund(seller, "A-11", when=datetime(2026, 10, 20, tzinfo=UTC))
    assert cashback_of(api_client, "A-11")["status"] == "none"
    close_months(as_of=OCTOBER_CLOSE)
    assert cashback_of(api_client, "A-11")["status"] == "none"
    assert cashback_of(api_client, "A-1")["amount"] == "0.50"
