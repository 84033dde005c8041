from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def seller_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A Seller Center page: its user is logged in and works for a shop.

    Sets `request.seller`; every query of the page filters by it, never by an id taken
    from the request.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if user.seller_id is None:
            return render(request, "sellers/not_a_seller.html", status=403)
        request.seller = user.seller  # read with the user (sellers.backends)
        return view(request, *args, **kwargs)

    return wrapper
