from django.http import HttpRequest


def seller_center(request: HttpRequest) -> dict:
    """The shop of a Seller Center page, for the layout (name, account manager)."""
    return {"seller": getattr(request, "seller", None)}
