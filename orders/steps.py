"""The effects other apps attach to an order's steps, without `orders` importing them.

An app that acts on a step subscribes when it loads, in its `AppConfig.ready()`:

    from orders import steps
    steps.subscribe("delivered", on_delivered)

The step service calls each handler of the step in the order they subscribed (so in
INSTALLED_APPS order: cashback, then fees), inside the step's transaction, with the steps
it just applied: one for a single event, many for a bulk batch. A handler that raises
rolls the step back. Plain function calls, not signals: the order is fixed and explicit.
"""

from collections.abc import Callable
from dataclasses import dataclass

from orders.models import EventType, Order, OrderEvent


@dataclass(frozen=True)
class AppliedStep:
    """A step applied to an order (in memory, as it left it), and the event that applied
    it: the step's own, or the order's `created` event for a step it was created past. The
    step's time is the order's (`delivered_at` for delivered, ...); a refund's event has its
    time and amount."""

    order: Order
    event: OrderEvent


Handler = Callable[[list[AppliedStep]], None]

_subscribers: dict[str, list[tuple[str, Handler]]] = {}


def subscribe(step: str, handler: Handler) -> None:
    """Call `handler` for every `step` applied from now on. Subscribing twice is harmless."""
    if step not in EventType.values:
        raise ValueError(f"Unknown order step {step!r}.")
    name = f"{handler.__module__}.{handler.__qualname__}"
    handlers = _subscribers.setdefault(step, [])
    if name not in (known for known, _ in handlers):
        handlers.append((name, handler))


def subscribers(step: str) -> list[str]:
    """The names of the handlers of a step, in the order they run."""
    return [name for name, _ in _subscribers.get(step, [])]


def run(step: str, applied: list[AppliedStep]) -> None:
    if not applied:
        return
    for _name, handler in _subscribers.get(step, []):
        handler(applied)
