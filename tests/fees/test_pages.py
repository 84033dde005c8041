"""Seller Center > Finance > Settled records: the list, View Details, the CSV, and the fee
section of an order page. The data is made through the real services: orders created and
refunded by the order service, fees charged and refunded by its steps, records settled by
`settle_fees`."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from cashback.services import Actor, campaign_add_rate, registration_create
from fees.models import SettledRecord
from fees.services import settle_fees
from fees.views import CSV_COLUMNS
from orders.services import EventInput, order_apply_event, orders_create
from tests.factories import SellerUserFactory
from tests.fees.conftest import REGISTERED_AT
from tests.orders.conftest import T0, order_input

pytestmark = pytest.mark.django_db

D = Decimal

# T0 is Thursday 2026-10-01; the orders are delivered on Sunday 2026-10-04, the last day of
# the week (Monday to Sunday) that starts on 2026-09-28.
DELIVERED = T0 + timedelta(days=3)
WEEK_1 = (date(2026, 9, 28), date(2026, 10, 4))
WEEK_2 = (date(2026, 10, 5), date(2026, 10, 11))
SETTLE_AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)

CHARGE_A1 = "3 % of (120.00 − 20.00) = 3.00"
REFUND_A1 = "Refund of 30.00 of 100.00: 3.00 × 30.00 ÷ 100.00 = 0.90"
RETURN_E5 = "Refund of the whole fee, 3.00: the order is returned"

# The lines of week 1, written out: order, net product price, seller-funded discount, fee
# base, fee charged, fee refunded, net; then how each is computed.
WEEK_1_LINES = [
    ("A-1", "120.00", "20.00", "100.00", "3.00", "0.90", "2.10"),
    ("B-2", "99.99", "0.00", "99.99", "3.00", "0.00", "3.00"),
    ("C-3", "10.05", "0.00", "10.05", "0.30", "0.00", "0.30"),
    ("D-4", "20.00", "3.50", "16.50", "0.50", "0.00", "0.50"),
    ("E-5", "120.00", "20.00", "100.00", "3.00", "3.00", "0.00"),
    ("G-7", "15.50", "0.00", "15.50", "0.47", "0.00", "0.47"),
]
WEEK_1_EXPLAINED = [
    f"{CHARGE_A1}; {REFUND_A1}",
    "3 % of (99.99 − 0.00) = 3.00",
    "3 % of (10.05 − 0.00) = 0.30",
    "3 % of (20.00 − 3.50) = 0.50",
    f"{CHARGE_A1}; {RETURN_E5}",
    "3 % of (15.50 − 0.00) = 0.47",
]


# Data ------------------------------------------------------------------------------------


def create(seller, *inputs):
    results = orders_create(seller=seller, inputs=list(inputs))
    assert [r.result for r in results] == ["created"] * len(inputs), [r.errors for r in results]
    return [r.order for r in results]


def refund(seller, external_id, at, amount=None):
    order_apply_event(
        seller=seller,
        external_id=external_id,
        event=EventInput(type="refunded", occurred_at=at, amount=amount),
    )


def register(seller, campaign):
    """Register a seller (other than the `registered` fixture's) through the service."""
    user = SellerUserFactory(seller=seller)
    return registration_create(
        seller=seller,
        campaign=campaign,
        agree_to_terms=True,
        actor=Actor.seller_user(user),
        now=REGISTERED_AT,
    )


def week_1_orders(seller):
    """Six voucher orders delivered on 2026-10-04, with different amounts:

    A-1 120.00 - 20.00 -> 3.00, then 30.00 of it refunded -> 0.90 back
    B-2  99.99 -  0.00 -> 2.9997 -> 3.00
    C-3  10.05 -  0.00 -> 0.3015 -> 0.30
    D-4  20.00 -  3.50 -> 0.495  -> 0.50 (half up)
    E-5 120.00 - 20.00 -> 3.00, returned the same day -> 3.00 back
    G-7  15.50 -  0.00 -> 0.465  -> 0.47 (half up; half even would make it 0.46)
    """
    create(
        seller,
        order_input(external_id="A-1", placed_at=T0),
        order_input(
            external_id="B-2",
            placed_at=T0 + timedelta(minutes=1),
            net_product_price=D("99.99"),
            seller_funded_discount=D("0.00"),
        ),
        order_input(
            external_id="C-3",
            placed_at=T0 + timedelta(minutes=2),
            net_product_price=D("10.05"),
            seller_funded_discount=D("0.00"),
        ),
        order_input(
            external_id="D-4",
            placed_at=T0 + timedelta(minutes=3),
            net_product_price=D("20.00"),
            seller_funded_discount=D("3.50"),
        ),
        order_input(
            external_id="E-5",
            placed_at=T0 + timedelta(minutes=4),
            status="returned",
            returned_at=DELIVERED + timedelta(hours=2),
        ),
        order_input(
            external_id="G-7",
            placed_at=T0 + timedelta(minutes=5),
            net_product_price=D("15.50"),
            seller_funded_discount=D("0.00"),
        ),
    )
    refund(seller, "A-1", DELIVERED + timedelta(hours=1), D("30.00"))


def week_2_orders(seller):
    """F-6 50.00 delivered on 2026-10-07 -> 1.50; C-3 returned on 2026-10-08 -> 0.30 back."""
    placed = datetime(2026, 10, 6, 9, 0, tzinfo=UTC)
    create(
        seller,
        order_input(
            external_id="F-6",
            placed_at=placed,
            net_product_price=D("50.00"),
            seller_funded_discount=D("0.00"),
            paid_at=placed + timedelta(hours=1),
            shipped_at=placed + timedelta(hours=2),
            delivered_at=placed + timedelta(days=1),
        ),
    )
    refund(seller, "C-3", datetime(2026, 10, 8, 9, 0, tzinfo=UTC))


def two_weeks(seller):
    """Two settled records of `seller`: week 1 (6 orders, 10.27 charged, 3.90 refunded,
    6.37 net) and week 2 (2 orders, 1.50 charged, 0.30 refunded, 1.20 net)."""
    week_1_orders(seller)
    week_2_orders(seller)
    settle_fees(as_of=SETTLE_AS_OF)
    return (
        SettledRecord.objects.get(seller=seller, period_start=WEEK_1[0]),
        SettledRecord.objects.get(seller=seller, period_start=WEEK_2[0]),
    )


def rival_record(other_seller, campaign):
    """A settled record of another seller, with an order whose external id is A-1 too."""
    register(other_seller, campaign)
    create(other_seller, order_input(external_id="A-1", net_product_price=D("500.00")))
    settle_fees(as_of=SETTLE_AS_OF)
    return SettledRecord.objects.get(seller=other_seller)


@pytest.fixture
def records(seller, registered):
    return two_weeks(seller)


@pytest.fixture
def rival(other_seller, campaign):
    return rival_record(other_seller, campaign)


# Reading the HTML ------------------------------------------------------------------------


def _text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def element(html: str, tag: str, testid: str) -> str:
    match = re.search(rf'<{tag}\b[^>]*data-testid="{testid}"[^>]*>(.*?)</{tag}>', html, re.S)
    assert match, f'no <{tag} data-testid="{testid}"> on the page'
    return match.group(1)


def rows(fragment: str) -> list[list[str]]:
    """Each <tr> of a fragment as the text of its cells."""
    return [
        [_text(cell) for cell in re.findall(r"<t[hd]\b[^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr\b[^>]*>(.*?)</tr>", fragment, re.S)
    ]


def links(fragment: str) -> dict[str, str]:
    """{link text: href} of a fragment."""
    return {
        _text(text): unescape(href)
        for href, text in re.findall(r'<a\b[^>]*href="([^"]*)"[^>]*>(.*?)</a>', fragment, re.S)
    }


# 1. The list -----------------------------------------------------------------------------


class TestList:
    def test_each_record_with_its_period_orders_amounts_and_view_details(
        self, seller_client, records, rival
    ):
        week_1, week_2 = records
        response = seller_client.get(reverse("seller:settled-records"))
        assert response.status_code == 200
        table = element(response.content.decode(), "table", "settled-records")
        assert rows(table) == [
            ["Period", "Orders", "Fees charged", "Fees refunded", "Net", ""],
            ["2026-10-05 – 2026-10-11", "2", "1.50 USD", "0.30 USD", "1.20 USD", "View Details"],
            ["2026-09-28 – 2026-10-04", "6", "10.27 USD", "3.90 USD", "6.37 USD", "View Details"],
        ]
        hrefs = re.findall(r'href="([^"]*)"', table)
        assert hrefs == [
            reverse("seller:settled-record", args=[week_2.pk]),
            reverse("seller:settled-record", args=[week_1.pk]),
        ]

    def test_another_sellers_records_are_not_listed(self, seller_client, records, rival):
        html = seller_client.get(reverse("seller:settled-records")).content.decode()
        assert reverse("seller:settled-record", args=[rival.pk]) not in html
        assert "14.40" not in html  # the rival's fee: 3 % of (500.00 − 20.00)

    def test_no_records_says_so(self, seller, seller_client, registered, rival):
        # Only another seller has a record; and an order of ours whose week has not ended.
        create(seller, order_input(external_id="NEW-1"))
        settle_fees(as_of=DELIVERED)
        response = seller_client.get(reverse("seller:settled-records"))
        table = element(response.content.decode(), "table", "settled-records")
        assert rows(table)[1:] == [
            ["No settled records yet: fees are settled once their week has ended."]
        ]
        assert "View Details" not in table


# 2. View Details -------------------------------------------------------------------------


class TestDetail:
    def test_one_line_per_order_with_its_numbers_in_words_and_the_totals(
        self, seller_client, records
    ):
        week_1, _ = records
        response = seller_client.get(reverse("seller:settled-record", args=[week_1.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Settled record 2026-09-28 – 2026-10-04" in _text(html)
        table = element(html, "table", "record-lines")
        header, *body, total = rows(table)
        assert header == [
            "Order",
            "Placed",
            "Delivered",
            "Net product price",
            "Seller-funded discount",
            "Fee base",
            "Rate",
            "Fee charged",
            "Fee refunded",
            "Net",
        ]
        expected = []
        for (order, *amounts), explained in zip(WEEK_1_LINES, WEEK_1_EXPLAINED, strict=True):
            price, discount, base, charged, refunded, net = amounts
            days = "2026-10-01", "2026-10-04"
            expected.append([order, *days, price, discount, base, "3 %", charged, refunded, net])
            expected.append(["", explained])
        assert body == expected
        assert total == ["Total", "10.27", "3.90", "6.37 USD"]
        # Each order links to its page in the Seller Center.
        assert links(table)["A-1"] == reverse("seller:order", args=["A-1"])
        assert links(html)["Download CSV"] == reverse("seller:settled-record-csv", args=[week_1.pk])

    def test_a_later_week_holds_the_refund_of_an_order_charged_before(self, seller_client, records):
        _, week_2 = records
        html = seller_client.get(reverse("seller:settled-record", args=[week_2.pk])).content
        _, *body, total = rows(element(html.decode(), "table", "record-lines"))
        c3 = "C-3", "2026-10-01", "2026-10-04", "10.05", "0.00", "10.05", "3 %"
        f6 = "F-6", "2026-10-06", "2026-10-07", "50.00", "0.00", "50.00", "3 %"
        # In the record's order: F-6 charged on the 7th, C-3 refunded on the 8th.
        assert body == [
            [*f6, "1.50", "0.00", "1.50"],
            ["", "3 % of (50.00 − 0.00) = 1.50"],
            [*c3, "0.00", "0.30", "−0.30"],
            ["", "Refund of the whole fee, 0.30: the order is returned"],
        ]
        assert total == ["Total", "1.50", "0.30", "1.20 USD"]

    def test_a_rate_with_decimals_is_written_as_the_seller_knows_it(
        self, seller, seller_client, registered, campaign
    ):
        campaign_add_rate(
            campaign=campaign,
            rate="1.5",
            effective_from=T0 - timedelta(days=1),
            now=T0 - timedelta(days=1),
        )
        create(seller, order_input(external_id="A-1"))  # 1.5 % of 100.00 = 1.50
        settle_fees(as_of=SETTLE_AS_OF)
        record = SettledRecord.objects.get(seller=seller)
        html = seller_client.get(reverse("seller:settled-record", args=[record.pk])).content
        line, explained = rows(element(html.decode(), "table", "record-lines"))[1:3]
        assert explained == ["", "1.5 % of (120.00 − 20.00) = 1.50"]
        assert line[6] == "1.5 %"

    def test_a_capped_partial_refund_does_not_claim_the_order_is_returned(
        self, seller, seller_client, registered
    ):
        # 16.50 at 3 % = 0.50. Each refund of 5.45 gives back 0.50 x 5.45 / 16.50 = 0.165
        # -> 0.17; the third is capped at the 0.16 left. The order is still delivered,
        # with 0.15 left to refund.
        create(
            seller,
            order_input(
                external_id="D-4", net_product_price=D("20.00"), seller_funded_discount=D("3.50")
            ),
        )
        for hours in (1, 2, 3):
            refund(seller, "D-4", DELIVERED + timedelta(hours=hours), D("5.45"))
        settle_fees(as_of=SETTLE_AS_OF)
        record = SettledRecord.objects.get(seller=seller)
        html = seller_client.get(reverse("seller:settled-record", args=[record.pk])).content
        explanation = rows(element(html.decode(), "table", "record-lines"))[2][1]
        third = explanation.split("; ")[3]
        assert "5.45" in third, third
        assert "returned" not in third, third


# 3. Another seller's record, a record that does not exist ---------------------------------


class TestNotFound:
    @pytest.mark.parametrize("name", ["seller:settled-record", "seller:settled-record-csv"])
    def test_another_sellers_record_is_404(self, seller_client, records, rival, name):
        assert seller_client.get(reverse(name, args=[rival.pk])).status_code == 404
        # The same page of one's own record is there: it is the owner that decides.
        assert seller_client.get(reverse(name, args=[records[0].pk])).status_code == 200

    @pytest.mark.parametrize("name", ["seller:settled-record", "seller:settled-record-csv"])
    def test_a_record_that_does_not_exist_is_404(self, seller_client, records, name):
        missing = SettledRecord.objects.order_by("-pk").first().pk + 1000
        assert seller_client.get(reverse(name, args=[missing])).status_code == 404


# 4. Queries ------------------------------------------------------------------------------

# The detail page's queries, whatever the size of the record: session, user, seller,
# record, the page's orders, their entries with the orders' columns, and the charges of
# the refunded orders (when the page has refunds, as here).
DETAIL_QUERIES = 7


@pytest.mark.parametrize("orders", [3, 40])
def test_the_detail_page_runs_in_a_fixed_number_of_queries(
    seller, seller_client, registered, django_assert_max_num_queries, orders
):
    inputs = []
    for n in range(orders):
        refunded = {}
        if n % 2:  # every other order partly refunded: its line explains the refund too
            refunded = {"refunded_amount": D("30.00"), "refunded_at": DELIVERED + HOUR}
        inputs.append(
            order_input(external_id=f"Q-{n:03d}", placed_at=T0 + timedelta(minutes=n), **refunded)
        )
    create(seller, *inputs)
    settle_fees(as_of=SETTLE_AS_OF)
    record = SettledRecord.objects.get(seller=seller)
    url = reverse("seller:settled-record", args=[record.pk])
    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = seller_client.get(url)
    body = rows(element(response.content.decode(), "table", "record-lines"))[1:-1]
    assert len(body) == 2 * orders
    assert body[3][1] == f"{CHARGE_A1}; {REFUND_A1}"


# 5. CSV ----------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    # The download is streamed: its body is the concatenation of its chunks.
    body = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


class TestCsv:
    def test_the_records_lines_with_the_numbers_of_the_page_and_a_total(
        self, seller_client, records
    ):
        week_1, _ = records
        response = seller_client.get(reverse("seller:settled-record-csv", args=[week_1.pk]))
        assert response.status_code == 200
        assert response["Content-Type"].split(";")[0] == "text/csv"
        assert response["Content-Disposition"] == (
            'attachment; filename="settled-record-USD-2026-09-28-2026-10-04.csv"'
        )
        header, *lines, total = read_csv(response)
        assert header == list(CSV_COLUMNS)
        delivered = "2026-10-04T10:00:00+00:00"
        expected = []
        for minute, ((order, *amounts), explained) in enumerate(
            zip(WEEK_1_LINES, WEEK_1_EXPLAINED, strict=True)
        ):
            price, discount, base, charged, refunded, net = amounts
            placed = f"2026-10-01T10:0{minute}:00+00:00"
            fee = charged, refunded, net, "USD", explained
            expected.append([order, placed, delivered, price, discount, base, "3", *fee])
        assert lines == expected
        assert total == ["Total", "", "", "", "", "", "", "10.27", "3.90", "6.37", "USD", ""]

    def test_an_external_id_a_spreadsheet_would_run_as_a_formula_is_quoted(
        self, seller, seller_client, registered
    ):
        ids = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-3+4", "@SUM(A1)", "X-1"]
        create(
            seller,
            *(
                order_input(external_id=external_id, placed_at=T0 + timedelta(minutes=n))
                for n, external_id in enumerate(ids)
            ),
        )
        settle_fees(as_of=SETTLE_AS_OF)
        record = SettledRecord.objects.get(seller=seller)
        _, *lines, _ = read_csv(
            seller_client.get(reverse("seller:settled-record-csv", args=[record.pk]))
        )
        assert [line[0] for line in lines] == [
            '\'=HYPERLINK("http://evil.example","x")',
            "'+1+2",
            "'-3+4",
            "'@SUM(A1)",
            "X-1",
        ]


# 6. The order page -----------------------------------------------------------------------


class TestOrderPage:
    def test_a_charged_order_shows_its_fee_and_the_arithmetic(
        self, seller, seller_client, registered
    ):
        create(seller, order_input(external_id="A-1"))
        refund(seller, "A-1", DELIVERED + timedelta(hours=1), D("30.00"))
        response = seller_client.get(reverse("seller:order", args=["A-1"]))
        assert response.status_code == 200
        section = element(response.content.decode(), "section", "service-fee")
        assert rows(section) == [
            ["Charged", "3.00 USD"],
            ["Refunded", "0.90 USD"],
            ["Net", "2.10 USD"],
        ]
        hints = [_text(p) for p in re.findall(r'<p class="hint">(.*?)</p>', section, re.S)]
        assert hints == [CHARGE_A1, REFUND_A1]

    def test_an_order_without_the_voucher_pays_nothing(self, seller, seller_client, registered):
        create(seller, order_input(external_id="N-1", bonus_cashback_voucher=False))
        response = seller_client.get(reverse("seller:order", args=["N-1"]))
        section = element(response.content.decode(), "section", "service-fee")
        assert rows(section) == [
            ["Charged", "0.00 USD"],
            ["Refunded", "0.00 USD"],
            ["Net", "0.00 USD"],
        ]
        assert '<p class="hint">' not in section
