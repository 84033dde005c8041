from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sellers.decorators import seller_required


@seller_required
def settled_record_list(request: HttpRequest) -> HttpResponse:
    return render(request, "fees/settled_record_list.html")
