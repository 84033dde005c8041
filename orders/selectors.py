"""Reads of the orders app."""

import base64
import binascii
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orders.models import Order, OrderEvent
from sellers.models import Seller


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    next_cursor: str | None


def encode_cursor(order: Order) -> str:
    raw = f"{order.placed_at.isoformat()}|{order.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The position a cursor names, or None for a cursor that is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        placed, pk = raw.split("|")
        placed_at = parse_datetime(placed)
        if placed_at is None or placed_at.tzinfo is None:
            return None
        return placed_at, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def orders_page(
    *,
    seller: Seller,
    status: str = "",
    placed_from: date | None = None,
    placed_to: date | None = None,
    search: str = "",
    cursor: str = "",
    size: int = 50,
) -> OrderPage:
    """A page of a seller's orders, newest placed first, found by keyset: the page after
    `cursor` costs the same at any depth, and nothing counts all the rows."""
    orders: QuerySet[Order] = Order.objects.filter(seller=seller)
    if status:
        orders = orders.filter(status=status)
    zone = timezone.get_current_timezone()
    if placed_from:
        orders = orders.filter(placed_at__gte=datetime.combine(placed_from, time.min, zone))
    if placed_to:
        orders = orders.filter(placed_at__lt=datetime.combine(placed_to, time.max, zone))
    if search:
        orders = orders.filter(external_id__icontains=search)
    position = decode_cursor(cursor) if cursor else None
    if position:
        placed_at, pk = position
        orders = orders.filter(Q(placed_at__lt=placed_at) | Q(placed_at=placed_at, pk__lt=pk))
    rows = list(orders.order_by("-placed_at", "-pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return OrderPage(orders=rows, next_cursor=encode_cursor(rows[-1]) if more else None)


def order_get_for_seller(*, seller: Seller, external_id: str) -> Order | None:
    return (
        Order.objects.filter(seller=seller, external_id=external_id)
        .prefetch_related("items")
        .first()
    )


def order_timeline(*, order: Order) -> list[OrderEvent]:
    return list(order.events.order_by("occurred_at", "pk"))
