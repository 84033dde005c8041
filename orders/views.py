"""Seller Center > Orders."""

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from orders import sections
from orders.models import OrderStatus
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
        "first_page": bool(filters.get("cursor")),
        "filter_query": query.urlencode(),
    }
    return render(request, "orders/order_list.html", context)


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
