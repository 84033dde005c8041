from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sellers.decorators import seller_required


@seller_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "cashback/campaign_list.html")


@seller_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "cashback/dashboard.html")
