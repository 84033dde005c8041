"""View Details pages a settled record's lines by keyset, with the orders list's cursors:
every order once, in the record's order (as its fees were charged and refunded), the whole
record's totals on every page, and a cursor that is not one of ours answered with the
first page and a notice."""

import base64
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from core.templatetags.rows import order_url
from fees.models import SettledRecord
from fees.selectors import settled_record_lines, settled_record_lines_all
from fees.services import settle_fees
from orders.selectors import encode_cursor
from tests.fees.test_pages import (
    SETTLE_AS_OF,
    WEEK_2,
    create,
    element,
    links,
    refund,
    rival_record,
    rows,
    two_weeks,
)
from tests.orders.conftest import T0, order_input

pytestmark = pytest.mark.django_db

D = Decimal
NOTICE = "That page link is not valid"


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr("fees.views.LINES_PER_PAGE", 4)


@pytest.fixture
def week(seller, registered):
    """Eleven orders delivered in the week of 2026-10-05, created out of their placing
    order; one of them partly refunded the same week; and an order charged the week before
    and refunded in this one (its line comes where its refund is)."""
    create(seller, order_input(external_id="EARLY", placed_at=T0))  # delivered 2026-10-04
    settle_fees(as_of=T0 + timedelta(days=5))
    placed = T0 + timedelta(days=4)
    minutes = [50, 10, 40, 0, 30, 20, 20, 60, 5, 45, 15]
    create(
        seller,
        *(
            order_input(
                external_id=f"W-{n:02d}",
                placed_at=placed + timedelta(minutes=m),
                paid_at=placed + timedelta(hours=2),
                shipped_at=placed + timedelta(hours=3),
                delivered_at=placed + timedelta(days=1),
                net_product_price=D("100.00") + n,
                seller_funded_discount=D("0.00"),
            )
            for n, m in enumerate(minutes)
        ),
    )
    refund(seller, "W-02", placed + timedelta(days=2), D("10.00"))
    refund(seller, "EARLY", placed + timedelta(days=2, hours=1))
    settle_fees(as_of=SETTLE_AS_OF)
    return SettledRecord.objects.get(seller=seller, period_start=WEEK_2[0])


def in_record_order(record) -> list[str]:
    return [line.order.external_id for line in settled_record_lines(record=record)]


def page(client, record, cursor=None):
    params = {"cursor": cursor} if cursor is not None else {}
    response = client.get(reverse("seller:settled-record", args=[record.pk]), params)
    assert response.status_code == 200
    html = response.content.decode()
    _, *body, total = rows(element(html, "table", "record-lines"))
    return response, [line[0] for line in body[::2]], total, html


def test_pages_hold_every_order_once_in_the_records_order_with_the_whole_totals(
    seller_client, week, small_pages
):
    expected = [f"W-{n:02d}" for n in range(11)] + ["EARLY"]
    assert in_record_order(week) == expected

    whole = ["Total", f"{week.fees_charged}", f"{week.fees_refunded}", f"{week.net} USD"]
    seen, cursor, pages = [], None, 0
    while True:
        response, orders, total, html = page(seller_client, week, cursor)
        pages += 1
        seen += orders
        # Every page: the record's totals, not its own lines'.
        assert total == whole
        assert f"Orders on this page: {len(orders)} of 12" in html
        assert ("First page" in links(html)) == (cursor is not None)
        cursor = response.context["page"].next_cursor
        if cursor is None:
            assert "Next orders" not in links(html)
            break
        assert links(html)["Next orders"] == f"?cursor={cursor}"
    assert pages == 3
    assert seen == expected
    # W-02's line holds its charge and the refund settled with it.
    line = next(x for x in settled_record_lines(record=week) if x.order.external_id == "W-02")
    assert (line.charged, line.refunded) == (D("3.06"), D("0.30"))


def test_a_full_last_page_has_no_next(seller, seller_client, registered, monkeypatch):
    monkeypatch.setattr("fees.views.LINES_PER_PAGE", 2)
    create(seller, order_input(external_id="A"), order_input(external_id="B"))
    settle_fees(as_of=SETTLE_AS_OF)
    response, orders, *_ = page(seller_client, SettledRecord.objects.get(seller=seller))
    assert orders == ["A", "B"]
    assert response.context["page"].next_cursor is None


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "bm90LWEtY3Vyc29y",  # "not-a-cursor"
        base64.urlsafe_b64encode(b"2026-10-01T10:00:00+00:00|x").decode(),
        base64.urlsafe_b64encode(b"2026-10-01T10:00:00|5").decode(),  # no offset
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "A" * 5000,
    ],
)
def test_a_cursor_that_is_not_ours_shows_the_first_page_and_says_so(
    seller_client, week, small_pages, cursor
):
    _, orders, _, html = page(seller_client, week, cursor)
    assert orders == in_record_order(week)[:4]
    assert NOTICE in html
    assert "First page" not in links(html)


def test_a_good_cursor_says_nothing(seller_client, week, small_pages):
    first, *_ = page(seller_client, week)
    *_, html = page(seller_client, week, first.context["page"].next_cursor)
    assert NOTICE not in html


def test_a_cursor_naming_another_sellers_order_is_not_one_of_ours(
    seller, seller_client, registered, other_seller, campaign, small_pages
):
    week_1, _ = two_weeks(seller)
    rival = rival_record(other_seller, campaign)
    rival_order = rival.lines.get().entry.order
    cursor = encode_cursor(rival_order)  # well formed, but not an order of this record
    _, orders, _, html = page(seller_client, week_1, cursor)
    assert orders == in_record_order(week_1)[:4]
    assert NOTICE in html
    assert "14.40" not in html  # the rival's fee
    url = reverse("seller:settled-record", args=[rival.pk])
    assert seller_client.get(url, {"cursor": cursor}).status_code == 404


def test_the_download_streams_every_line_in_the_pages_order(seller_client, week):
    chunked = [line.order.external_id for line in settled_record_lines_all(record=week, chunk=3)]
    assert chunked == in_record_order(week)
    response = seller_client.get(reverse("seller:settled-record-csv", args=[week.pk]))
    assert response.streaming
    body = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in body[1:-1]] == chunked
    assert body[-1].startswith("Total,")


@pytest.mark.parametrize(
    "external_id", ["A-1", "a b", "x/y", "100%", "q?x=1#f", "ünï", "a&b'c", "<b>", "//x"]
)
def test_an_orders_link_is_the_one_reverse_makes(external_id):
    assert order_url(external_id) == reverse("seller:order", args=[external_id])
