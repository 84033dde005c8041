"""No query per row on any Seller Center page: each page is counted with a few rows, then
with three times as many, and the counts must be equal. The pages are those of the seller
URL conf (`config.urls`); `test_every_page_is_counted` fails when a page is added without a
count here."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse

from cashback.models import CashbackMonth
from cashback.order_cashback import close_months, credit_cashback
from cashback.services import Action, Actor, registration_create, registration_transition
from fees.models import SettledRecord
from fees.services import settle_fees
from orders.models import Order
from orders.selectors import encode_cursor
from orders.services import EventInput, ItemInput, order_apply_event, orders_create
from tests.factories import StaffUserFactory, make_api_key, make_campaign
from tests.orders.conftest import order_input
from wallet.services import wallet_adjust

pytestmark = pytest.mark.django_db

D = Decimal
N = 4  # rows at first; then 3 x N
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)  # "this month" is November 2026
WEEK = datetime(2026, 6, 1, 9, tzinfo=UTC)  # a Monday: one settlement week a step


def queries(client, url: str) -> int:
    """The queries of one request to `url`, a streamed answer read to its end."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200, url
        if response.streaming:
            b"".join(response.streaming_content)
    return len(captured)


def same_count(client, small: str, large: str) -> int:
    """The queries of a page with N rows and with 3N rows, which must be equal."""
    few, many = queries(client, small), queries(client, large)
    assert few == many, f"{few} queries with {N} rows, {many} with {3 * N}: a query per row"
    return few


def create(seller, *inputs):
    results = orders_create(seller=seller, inputs=list(inputs))
    assert [r.result for r in results] == ["created"] * len(inputs), [r.errors for r in results]
    return [r.order for r in results]


def placed(at: datetime) -> dict:
    """Delivered three days after it was placed."""
    return {
        "placed_at": at,
        "paid_at": at + timedelta(hours=1),
        "shipped_at": at + timedelta(days=1),
        "delivered_at": at + timedelta(days=3),
    }


def orders(seller, count: int, prefix: str, at: datetime = WEEK, **overrides) -> list[Order]:
    """`count` delivered voucher orders, a minute apart, some of them partly refunded."""
    inputs = [
        order_input(
            external_id=f"{prefix}-{n}",
            tracking_number=f"T-{prefix}-{n}",
            **placed(at + timedelta(minutes=n)),
            **overrides,
        )
        for n in range(count)
    ]
    made = create(seller, *inputs)
    for order in made[::2]:  # a refund: its fee line explains a second entry
        order_apply_event(
            seller=seller,
            external_id=order.external_id,
            event=EventInput(
                type="refunded", occurred_at=order.delivered_at + timedelta(hours=1), amount=D("10")
            ),
        )
    return made


@pytest.fixture
def in_program(seller, seller_user):
    """The seller in the Bonus Cashback Program since long before the orders."""
    return registration_create(
        seller=seller,
        campaign=make_campaign(slug="bonus"),
        agree_to_terms=True,
        actor=Actor.seller_user(seller_user),
        now=datetime(2026, 1, 5, tzinfo=UTC),
    )


# Which page each test counts, by URL name: a new page needs a test here.
COUNTED = {
    "home",
    "api-keys",
    "orders",
    "order",
    "campaigns",
    "campaign",
    "campaign-register",
    "settled-records",
    "settled-record",
    "settled-record-csv",
    "order-cashback",
    "order-cashback-month",
}
# Not pages: sign-in and sign-out, and actions that answer with a redirect.
NOT_PAGES = {
    "login",
    "logout",
    "api-key-revoke",
    "registration-withdraw",
    "registration-cancel-withdraw",
}


def test_every_page_is_counted():
    (seller_center,) = (
        p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "seller"
    )
    assert {p.name for p in seller_center.url_patterns} == COUNTED | NOT_PAGES


# Orders ------------------------------------------------------------------------------------


def test_home(seller, seller_client):
    orders(seller, N, "A")
    few = queries(seller_client, reverse("seller:home"))
    orders(seller, 2 * N, "B")
    assert queries(seller_client, reverse("seller:home")) == few


def test_api_keys(seller, seller_client):
    for n in range(N):
        make_api_key(seller, name=f"key {n}")
    few = queries(seller_client, reverse("seller:api-keys"))
    for n in range(2 * N):
        make_api_key(seller, name=f"more {n}")
    assert queries(seller_client, reverse("seller:api-keys")) == few


@pytest.mark.parametrize("deep", [False, True], ids=["first page", "a later page"])
def test_orders_list(seller, seller_client, deep):
    def url():
        newest = Order.objects.filter(seller=seller).order_by("-placed_at", "-pk").first()
        return reverse("seller:orders") + (f"?cursor={encode_cursor(newest)}" if deep else "")

    orders(seller, 20, "A")  # 20 on a page, then a full page of 50 and more
    few = queries(seller_client, url())
    orders(seller, 40, "B", at=WEEK + timedelta(days=1))
    assert queries(seller_client, url()) == few


def test_order_detail(seller, seller_client, in_program):
    """An order's items, events and fee entries grow with it."""

    def detailed(external_id: str, count: int) -> str:
        items = tuple(
            ItemInput(sku=f"SKU-{n}", name=f"Item {n}", quantity=1, unit_price=D("10.00"))
            for n in range(count)
        )
        (order,) = create(
            seller,
            order_input(
                external_id=external_id,
                net_product_price=D("10.00") * count,
                seller_funded_discount=D("0.00"),
                items=items,
                **placed(WEEK),
            ),
        )
        for n in range(count - 1):  # partial refunds: an event and a fee entry each
            order_apply_event(
                seller=seller,
                external_id=external_id,
                event=EventInput(
                    type="refunded",
                    occurred_at=order.delivered_at + timedelta(hours=n + 1),
                    amount=D("1.00"),
                ),
            )
        return reverse("seller:order", args=[external_id])

    same_count(seller_client, detailed("SMALL", N), detailed("LARGE", 3 * N))


# Campaigns and registrations ---------------------------------------------------------------


def test_campaign_list(seller, seller_user, seller_client):
    def campaigns(prefix: str, count: int):
        for n in range(count):
            campaign = make_campaign(slug=f"{prefix}-{n}")
            registration_create(
                seller=seller,
                campaign=campaign,
                agree_to_terms=True,
                actor=Actor.seller_user(seller_user),
            )

    campaigns("a", N)
    few = queries(seller_client, reverse("seller:campaigns"))
    campaigns("b", 2 * N)
    assert queries(seller_client, reverse("seller:campaigns")) == few


@pytest.mark.parametrize("name", ["seller:campaign", "seller:campaign-register"])
def test_campaign_with_its_registrations(seller, seller_user, seller_client, name):
    """A campaign's page lists the seller's registrations for it, each with its history:
    registered, rejected, registered again, ..."""
    campaign = make_campaign(slug="reviewed", requires_review=True)
    seller_actor = Actor.seller_user(seller_user)
    admin = Actor.admin(StaffUserFactory())
    clock = iter(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=h) for h in range(10**4))

    def registrations(count: int):
        for _ in range(count):
            registration = registration_create(
                seller=seller,
                campaign=campaign,
                agree_to_terms=True,
                actor=seller_actor,
                now=next(clock),
            )
            registration_transition(
                registration_id=registration.pk,
                action=Action.REJECT_REGISTRATION,
                actor=admin,
                reason="Not this time",
                now=next(clock),
            )

    url = reverse(name, args=[campaign.slug])
    registrations(N)
    few = queries(seller_client, url)
    registrations(2 * N)
    assert queries(seller_client, url) == few


# Finance > Settled records -------------------------------------------------------------------


@pytest.fixture
def records(seller, in_program):
    """A week of N orders and a week of 3N, settled, and N more weeks of one order."""
    orders(seller, N, "SMALL")
    orders(seller, 3 * N, "LARGE", at=WEEK + timedelta(days=7))
    for week in range(N):
        orders(seller, 1, f"W{week}", at=WEEK + timedelta(days=14 + 7 * week))
    settle_fees(as_of=WEEK + timedelta(days=7 * (N + 4)))
    small, large = (
        SettledRecord.objects.get(seller=seller, orders_count=count) for count in (N, 3 * N)
    )
    return small, large


def test_settled_records_list(seller, seller_client, records):
    few = queries(seller_client, reverse("seller:settled-records"))
    for week in range(2 * N):
        orders(seller, 1, f"X{week}", at=WEEK + timedelta(days=7 * (N + 4 + week)))
    settle_fees(as_of=WEEK + timedelta(days=7 * (3 * N + 8)))
    assert SettledRecord.objects.filter(seller=seller).count() >= 3 * N
    assert queries(seller_client, reverse("seller:settled-records")) == few


@pytest.mark.parametrize("name", ["seller:settled-record", "seller:settled-record-csv"])
def test_settled_record_details_and_csv(seller_client, records, name):
    small, large = records
    same_count(seller_client, reverse(name, args=[small.pk]), reverse(name, args=[large.pk]))


def test_settled_record_details_at_any_depth(seller_client, records, monkeypatch):
    """A later page of the lines costs what the first does."""
    monkeypatch.setattr("fees.views.LINES_PER_PAGE", 2)
    _, large = records
    url = reverse("seller:settled-record", args=[large.pk])
    second = seller_client.get(url).context["page"].next_cursor
    third = seller_client.get(url, {"cursor": second}).context["page"].next_cursor
    assert second and third
    first = queries(seller_client, url)
    assert queries(seller_client, f"{url}?cursor={second}") == first
    assert queries(seller_client, f"{url}?cursor={third}") == first


# Order Cashback ------------------------------------------------------------------------------


@pytest.fixture
def november():
    with time_machine.travel(NOW):  # ticking: each close has its own instant
        yield


def cashback_history(seller, count: int, prefix: str, months=(8, 9, 10)):
    """`count` orders in each of `months`, closed (a month closed already takes them as
    late additions), those due by 1 November credited, the rest pending; `count` wallet
    adjustments; and `count` orders delivered this month (November)."""
    for month in months:
        at = datetime(2026, month, 20, 9, tzinfo=UTC)
        orders(seller, count, f"{prefix}{month}", at=at, bonus_cashback_voucher=False)
    close_months(as_of=datetime(2026, 11, 1, 1, tzinfo=UTC))
    credit_cashback(as_of=datetime(2026, 11, 1, 2, tzinfo=UTC))
    staff = StaffUserFactory()
    for n in range(count):
        wallet_adjust(seller_id=seller.pk, amount=D("1.00"), reason=f"Bonus {n}", staff=staff)
    orders(seller, count, f"{prefix}11", at=datetime(2026, 11, 2, 9, tzinfo=UTC))


def test_dashboard(seller, other_seller, seller_client, november):
    url = reverse("seller:order-cashback")
    cashback_history(seller, N, "A")
    cashback_history(other_seller, N, "R")  # another seller's rows change nothing
    few = queries(seller_client, url)
    # Two more months, late additions to October (pending), more of November, more entries.
    cashback_history(seller, 2 * N, "B", months=(6, 7, 10))
    assert CashbackMonth.objects.filter(seller=seller).count() == 5
    assert queries(seller_client, url) == few


def test_a_months_page(seller, seller_client, november):
    """A closed month's orders with their shares, and this month's orders still waiting."""
    orders(seller, N, "SEP", at=datetime(2026, 9, 10, 9, tzinfo=UTC))
    orders(seller, 3 * N, "OCT", at=datetime(2026, 10, 10, 9, tzinfo=UTC))
    close_months(as_of=datetime(2026, 11, 1, 1, tzinfo=UTC))
    orders(seller, N, "NOV", at=datetime(2026, 11, 2, 9, tzinfo=UTC))
    few = queries(seller_client, reverse("seller:order-cashback-month", args=["2026-11"]))
    orders(seller, 2 * N, "NOV2", at=datetime(2026, 11, 3, 9, tzinfo=UTC))
    assert queries(seller_client, reverse("seller:order-cashback-month", args=["2026-11"])) == few
    month = "seller:order-cashback-month"
    same_count(seller_client, reverse(month, args=["2026-09"]), reverse(month, args=["2026-10"]))
