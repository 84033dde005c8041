"""Reads of the service fee: an order's fee, settled records and their breakdown."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet

from core.money import format_rate, round_money
from fees.models import FeeEntry, FeeEntryKind, SettledRecord
from orders.models import Order
from sellers.models import Seller

ZERO = Decimal("0.00")


def explain(entry: FeeEntry) -> str:
    """An entry's arithmetic, in words a seller can check."""
    rate = format_rate(entry.rate)
    if entry.kind == FeeEntryKind.CHARGE:
        price = entry.fee_base + entry.order.seller_funded_discount
        return (
            f"{rate} % of ({price:.2f} − {entry.order.seller_funded_discount:.2f}) "
            f"= {entry.amount:.2f}"
        )
    charge, part, whole = entry.order_charge_amount, entry.refunded_base or ZERO, entry.fee_base
    proportional = round_money(charge * part / whole) if whole else ZERO
    returned = ": the order is returned" if entry.completes_return else ""
    if entry.completes_return and part == whole:
        return f"Refund of the whole fee, {entry.amount:.2f}{returned}"
    if entry.completes_return and entry.amount != proportional:
        return f"Refund of the rest of the fee, {entry.amount:.2f}{returned} in full"
    share = f"Refund of {part:.2f} of {whole:.2f}: {charge:.2f} × {part:.2f} ÷ {whole:.2f}"
    if entry.amount != proportional:
        return f"{share} = {proportional:.2f}, limited to the {entry.amount:.2f} left of the fee"
    return f"{share} = {entry.amount:.2f}{returned}"


def _with_charges(entries: list[FeeEntry]) -> list[FeeEntry]:
    """Give each refund the amount of its order's charge, for `explain`, in one query."""
    refunds = [e for e in entries if e.kind == FeeEntryKind.REFUND]
    if refunds:
        charges = dict(
            FeeEntry.objects.filter(
                order_id__in={e.order_id for e in refunds}, kind=FeeEntryKind.CHARGE
            ).values_list("order_id", "amount")
        )
        for entry in refunds:
            entry.order_charge_amount = charges.get(entry.order_id, ZERO)
    return entries


def fee_sections(orders: list[Order]) -> dict[int, dict]:
    """The `service_fee` section of orders (orders.sections): charged, refunded, net, and
    the entries' arithmetic as `lines`. Orders that pay no fee are left to the default."""
    entries = _with_charges(
        list(
            FeeEntry.objects.filter(order__in=orders)
            .select_related("order")
            .order_by("occurred_at", "pk")
        )
    )
    found: dict[int, dict] = {}
    for entry in entries:
        section = found.setdefault(
            entry.order_id,
            {"currency": entry.currency, "charged": ZERO, "refunded": ZERO, "lines": []},
        )
        section["charged" if entry.kind == FeeEntryKind.CHARGE else "refunded"] += entry.amount
        section["lines"].append(explain(entry))
    return {
        order_id: {
            "currency": s["currency"],
            "charged": f"{s['charged']:.2f}",
            "refunded": f"{s['refunded']:.2f}",
            "net": f"{s['charged'] - s['refunded']:.2f}",
            "lines": s["lines"],
        }
        for order_id, s in found.items()
    }


def settled_records_for_seller(*, seller: Seller) -> QuerySet[SettledRecord]:
    return SettledRecord.objects.filter(seller=seller).order_by("-period_start", "currency", "-pk")


def settled_record_for_seller(*, seller: Seller, pk: int) -> SettledRecord | None:
    return SettledRecord.objects.filter(seller=seller, pk=pk).first()


@dataclass
class RecordLine:
    """One order of a settled record: what of its fee this record settles."""

    order: Order
    rate: Decimal
    fee_base: Decimal
    charged: Decimal = ZERO
    refunded: Decimal = ZERO
    explanations: list[str] = field(default_factory=list)

    @property
    def net(self) -> Decimal:
        return self.charged - self.refunded

    @property
    def placed_at(self) -> datetime:
        return self.order.placed_at

    @property
    def delivered_at(self) -> datetime | None:
        return self.order.delivered_at


def settled_record_lines(*, record: SettledRecord) -> list[RecordLine]:
    """A record's breakdown by order, in two queries whatever its size."""
    entries = _with_charges(
        list(
            FeeEntry.objects.filter(settled_line__record=record)
            .select_related("order")
            .order_by("order__placed_at", "order_id", "occurred_at", "pk")
        )
    )
    lines: dict[int, RecordLine] = {}
    for entry in entries:
        line = lines.setdefault(
            entry.order_id, RecordLine(order=entry.order, rate=entry.rate, fee_base=entry.fee_base)
        )
        if entry.kind == FeeEntryKind.CHARGE:
            line.charged += entry.amount
        else:
            line.refunded += entry.amount
        line.explanations.append(explain(entry))
    return list(lines.values())
