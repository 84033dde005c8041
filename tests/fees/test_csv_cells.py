"""The settled record's CSV never hands a spreadsheet a formula: a cell that starts with
=, +, -, @, a tab or a carriage return is written with a leading quote (OWASP, CSV
injection). External ids are the seller's text, and orders stored before the id rules refused white
space at either end may start with a tab or a carriage return."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from fees.models import SettledRecord
from fees.services import settle_fees
from orders.models import Order
from orders.services import orders_create
from tests.orders.conftest import T0, order_input

pytestmark = pytest.mark.django_db

SETTLE_AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
IDS = {
    "T-1": "\t=1+2",
    "R-1": "\r=cmd|' /C calc'!A0",
    "N-1": "\n@SUM(A1)",
    "E-1": '=HYPERLINK("http://evil.example","x")',
    "P-1": "+1+2",
    "M-1": "-3+4",
    "A-1": "@SUM(A1)",
    "X-1": "X-1",
}


def test_every_cell_a_spreadsheet_would_run_is_quoted(seller, seller_client, registered):
    orders_create(
        seller=seller,
        inputs=[
            order_input(external_id=given, placed_at=T0 + timedelta(minutes=n))
            for n, given in enumerate(IDS)
        ],
    )
    for given, stored in IDS.items():  # as an order of before the id rules could be
        Order.objects.filter(seller=seller, external_id=given).update(external_id=stored)
    settle_fees(as_of=SETTLE_AS_OF)
    record = SettledRecord.objects.get(seller=seller)

    response = seller_client.get(reverse("seller:settled-record-csv", args=[record.pk]))

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    _, *lines, _ = csv.reader(io.StringIO(body, newline=""))
    assert [line[0] for line in lines] == [
        "'\t=1+2",
        "'\r=cmd|' /C calc'!A0",
        "'\n@SUM(A1)",
        '\'=HYPERLINK("http://evil.example","x")',
        "'+1+2",
        "'-3+4",
        "'@SUM(A1)",
        "X-1",
    ]
