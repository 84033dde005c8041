"""Seller Center > Finance > Settled records."""

import csv
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.money import format_rate
from core.templatetags.money import amount
from core.templatetags.rows import RowFormat
from fees.selectors import (
    RecordLine,
    settled_record_for_seller,
    settled_record_lines_all,
    settled_record_lines_page,
    settled_records_for_seller,
)
from orders.selectors import decode_cursor
from sellers.decorators import seller_required

LINES_PER_PAGE = 50
MAX_CURSOR = 200  # longer than any cursor we write

CSV_COLUMNS = (
    "order",
    "placed",
    "delivered",
    "net product price",
    "seller-funded discount",
    "fee base",
    "rate (%)",
    "fee charged",
    "fee refunded",
    "net",
    "currency",
    "how it is computed",
)


@seller_required
def settled_record_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(settled_records_for_seller(seller=request.seller), 26).get_page(
        request.GET.get("page")
    )
    return render(request, "fees/settled_record_list.html", {"page": page})


def _record_or_404(request: HttpRequest, pk: int):
    record = settled_record_for_seller(seller=request.seller, pk=pk)
    if record is None:
        raise Http404("No such settled record.")
    return record


@seller_required
def settled_record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """View Details: a page of the record's lines, with the totals of the whole record (its
    own stored totals). Pages by the orders list's cursors; a cursor that is not one of ours
    shows the first page and says so."""
    record = _record_or_404(request, pk)
    cursor = request.GET.get("cursor", "")
    position = decode_cursor(cursor) if cursor and len(cursor) <= MAX_CURSOR else None
    page = settled_record_lines_page(record=record, after=position, size=LINES_PER_PAGE)
    if page is None:  # a well-formed cursor naming an order that is not in this record
        position = None
        page = settled_record_lines_page(record=record, size=LINES_PER_PAGE)
    context = {
        "record": record,
        "page": page,
        "lines": page.lines,
        "rows": line_rows(page.lines),
        "first_page": position is not None,
        "bad_cursor": bool(cursor) and position is None,
    }
    return render(request, "fees/settled_record_detail.html", context)


def line_rows(lines: list[RecordLine]) -> list[dict[str, str]]:
    """Each line's cells as the page writes them, made here once: in the template, a
    Decimal, a date filter or {% url %} a cell costs tens of microseconds, and a page of 50
    lines has 550 cells (core/templatetags/rows.py). Dicts: a template looks keys up first."""
    cells = RowFormat()
    return [
        {
            "href": cells.order_url(line.order.external_id),
            "order": line.order.external_id,
            "placed": cells.day(line.placed_at),
            "delivered": cells.day(line.delivered_at),
            "price": amount(line.order.net_product_price),
            "discount": amount(line.order.seller_funded_discount),
            "base": amount(line.fee_base),
            "rate": format_rate(line.rate),
            "charged": amount(line.charged),
            "refunded": amount(line.refunded),
            "net": amount(line.net),
            "explained": "; ".join(line.explanations),
        }
        for line in lines
    ]


class _Echo:
    """A file-like object whose write hands the line back, for csv.writer to stream."""

    def write(self, value: str) -> str:
        return value


@seller_required
def settled_record_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Every line of the record, streamed: the download of a record of any size holds a
    few hundred orders in memory at a time."""
    record = _record_or_404(request, pk)
    response = StreamingHttpResponse(_csv_rows(record), content_type="text/csv; charset=utf-8")
    filename = f"settled-record-{record.currency}-{record.period_start}-{record.period_end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_rows(record) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so that spreadsheets read the − and × of the arithmetic
    yield writer.writerow(CSV_COLUMNS)
    for line in settled_record_lines_all(record=record):
        yield writer.writerow(_csv_line(line, record.currency))
    yield writer.writerow(
        (
            "Total",
            "",
            "",
            "",
            "",
            "",
            "",
            f"{record.fees_charged:.2f}",
            f"{record.fees_refunded:.2f}",
            f"{record.net:.2f}",
            record.currency,
            "",
        )
    )


def _csv_line(line: RecordLine, currency: str) -> tuple[str, ...]:
    order = line.order
    return (
        _safe(order.external_id),
        timezone.localtime(order.placed_at).isoformat(),
        timezone.localtime(order.delivered_at).isoformat() if order.delivered_at else "",
        f"{order.net_product_price:.2f}",
        f"{order.seller_funded_discount:.2f}",
        f"{line.fee_base:.2f}",
        format_rate(line.rate),
        f"{line.charged:.2f}",
        f"{line.refunded:.2f}",
        f"{line.net:.2f}",
        currency,
        "; ".join(line.explanations),
    )


# A spreadsheet runs a cell that starts with one of these as a formula, or, after a tab, a
# carriage return or a line feed, the formula that follows (OWASP, CSV injection).
_FORMULA_STARTS = frozenset("=+-@\t\r\n")


def _safe(text: str) -> str:
    """The seller's text as a cell no spreadsheet runs: quoted where it could be a formula."""
    return f"'{text}" if text[:1] in _FORMULA_STARTS else text
