"""Seller Center > Finance > Settled records."""

import csv

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.money import format_rate
from fees.selectors import (
    settled_record_for_seller,
    settled_record_lines,
    settled_records_for_seller,
)
from sellers.decorators import seller_required

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
    record = _record_or_404(request, pk)
    lines = settled_record_lines(record=record)
    return render(request, "fees/settled_record_detail.html", {"record": record, "lines": lines})


@seller_required
def settled_record_csv(request: HttpRequest, pk: int) -> HttpResponse:
    record = _record_or_404(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"settled-record-{record.currency}-{record.period_start}-{record.period_end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so that spreadsheets read the − and × of the arithmetic
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for line in settled_record_lines(record=record):
        order = line.order
        writer.writerow(
            (
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
                record.currency,
                "; ".join(line.explanations),
            )
        )
    writer.writerow(
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
    return response


def _safe(text: str) -> str:
    """A spreadsheet runs a cell that starts with =, +, - or @ as a formula: not ours."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
