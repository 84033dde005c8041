"""What a page writes once a row, made cheap: in a template, a Decimal, a date filter or
{% url %} costs tens of microseconds a cell, and a page of 50 rows has hundreds of cells.
The views of the long tables make each row's cells in Python with `RowFormat`, which reads
the time zone and the URL conf once a page; `|order_url` and `|day` do the same in a
template."""

from datetime import datetime, tzinfo
from functools import lru_cache
from urllib.parse import quote

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

register = template.Library()

PATH_SAFE = "!$&'()*+,;=/~:@"  # what django.urls.reverse leaves unquoted in a path


class RowFormat:
    """The cells of a page's rows, written as the template filters would write them."""

    def __init__(self) -> None:
        self.zone: tzinfo = timezone.get_current_timezone()
        self._orders = _orders_prefix(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())

    def order_url(self, external_id: str) -> str:
        """`reverse("seller:order", args=[external_id])`, quoted the same way (an external
        id may hold a slash, a space or a %)."""
        return f"{self._orders}{quote(external_id, safe=PATH_SAFE)}/"

    def day(self, at: datetime | None) -> str:
        """The local day of an instant, as `|date:"Y-m-d"` writes it ("" for none)."""
        return f"{at.astimezone(self.zone):%Y-%m-%d}" if at else ""

    def minute(self, at: datetime | None) -> str:
        """The local day and time of an instant, as `|date:"Y-m-d H:i"` writes it."""
        return f"{at.astimezone(self.zone):%Y-%m-%d %H:%M}" if at else ""


@lru_cache(maxsize=16)
def _orders_prefix(urlconf: str, script_prefix: str) -> str:
    return reverse("seller:order", args=["-"], urlconf=urlconf)[: -len("-/")]


@register.filter
def order_url(external_id: str) -> str:
    return RowFormat().order_url(external_id)


@register.filter
def day(at: datetime | None) -> str:
    return RowFormat().day(at)


@register.filter
def minute(at: datetime | None) -> str:
    return RowFormat().minute(at)
