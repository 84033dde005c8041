from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sellers.decorators import seller_required


@seller_required
def order_list(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/order_list.html")
