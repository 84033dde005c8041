"""How the Seller Center writes money and rates: `{{ amount|usd }}`, `{{ rate|rate }} %`."""

from decimal import Decimal

from django import template

from core.money import format_rate

register = template.Library()


@register.filter
def rate(value) -> str:
    """A percentage as people write it: 1.5000 → "1.5", 3.0000 → "3"."""
    return "" if value in (None, "") else format_rate(Decimal(value))


@register.filter
def amount(value) -> str:
    """An amount with 2 decimals and a true minus sign: -0.3 → "−0.30"."""
    if value in (None, ""):
        return ""
    value = Decimal(value)
    return f"{'−' if value < 0 else ''}{abs(value):.2f}"


@register.filter
def usd(value) -> str:
    """US dollars with thousands separators and cents: 12054.9 → "$12,054.90"."""
    if value in (None, ""):
        return ""
    amount = Decimal(value)
    sign = "−" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
