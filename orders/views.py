"""Seller Center > Orders."""

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from core.templatetags.money import amount
from core.templatetags.rows import RowFormat
from orders import sections
from orders.models import Order, OrderStatus
from orders.selectors import order_get_for_seller, order_timeline, orders_page
from sellers.decorators import seller_required

PAGE_SIZE = 50


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *OrderStatus.choices], required=False)
    placed_from = forms.DateField(required=False, label="Placed from")
    placed_to = forms.DateField(required=False, label="to")
    q = forms.CharField(required=False, max_length=64, label="External id")
    cursor = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)


@seller_required
def order_list(request: HttpRequest) -> HttpResponse:
    form = OrderFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    page = orders_page(
        seller=request.seller,
        status=filters.get("status", ""),
        placed_from=filters.get("placed_from"),
        placed_to=filters.get("placed_to"),
        search=filters.get("q", "").strip(),
        cursor=filters.get("cursor", ""),
        size=PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "form": form,
        "page": page,
        "rows": order_rows(page.orders),
        "first_page": bool(filters.get("cursor")),
        "filter_query": query.urlencode(),
    }
    return render(request, "orders/order_list.html", context)


def order_rows(orders: list[Order]) -> list[dict]:
    """Each order's cells as the list writes them, made here once: in the template a
    Decimal, a date filter or {% url %} a cell costs tens of microseconds, and a page has
    400 cells (core/templatetags/rows.py). Dicts: a template looks keys up first."""
    cells = RowFormat()
    return [
        {
            "href": cells.order_url(order.external_id),
            "order": order.external_id,
            "placed": cells.minute(order.placed_at),
            "status": order.get_status_display(),
            "price": f"{amount(order.net_product_price)} {order.currency}",
            "discount": amount(order.seller_funded_discount),
            "refunded": amount(order.refunded_amount),
            "voucher": order.bonus_cashback_voucher,
            "channel": order.get_fulfillment_channel_display(),
        }
        for order in orders
    ]


@seller_required
def order_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    order = order_get_for_seller(seller=request.seller, external_id=external_id)
    if order is None:
        raise Http404("No such order.")
    context = {
        "order": order,
        "timeline": order_timeline(order=order),
        "sections": sections.sections_for([order])[order.pk],
    }
    return render(request, "orders/order_detail.html", context)
