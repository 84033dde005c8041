"""The fee and cashback sections of an order, provided by the apps that own them.

`orders` may not import `fees` or `cashback`; they register a provider when they load:

    sections.provide("service_fee", fee_sections)

A provider takes a list of orders and answers {order_id: section} for those it knows, in
a fixed number of queries. An order it does not answer for gets the default, which says
"nothing": zero fees, no cashback.
"""

from collections.abc import Callable, Iterable

from orders.models import Order

Provider = Callable[[list[Order]], dict[int, dict]]


def _no_fee(order: Order) -> dict:
    return {"currency": order.currency, "charged": "0.00", "refunded": "0.00", "net": "0.00"}


def _no_cashback(order: Order) -> dict:
    return {"amount": None, "status": "none", "due_at": None}


DEFAULTS: dict[str, Callable[[Order], dict]] = {
    "service_fee": _no_fee,
    "cashback": _no_cashback,
}
_providers: dict[str, Provider] = {}


def provide(section: str, provider: Provider) -> None:
    if section not in DEFAULTS:
        raise ValueError(f"Unknown order section {section!r}.")
    _providers[section] = provider


def sections_for(orders: Iterable[Order]) -> dict[int, dict[str, dict]]:
    """{order_id: {"service_fee": {...}, "cashback": {...}}} for the given orders."""
    orders = list(orders)
    answered = {
        name: (_providers[name](orders) if name in _providers and orders else {})
        for name in DEFAULTS
    }
    return {
        order.pk: {
            name: answered[name].get(order.pk) or default(order)
            for name, default in DEFAULTS.items()
        }
        for order in orders
    }
