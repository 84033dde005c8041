"""Reads of the service fee: an order's fee, settled records and their breakdown."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import islice

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from core.money import format_rate, round_money
from fees.models import FeeEntry, FeeEntryKind, SettledRecord, SettledRecordLine
from orders.models import Order
from orders.selectors import encode_cursor
from sellers.models import Seller

ZERO = Decimal("0.00")


def explain(entry: "FeeEntry | LineEntry") -> str:
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


def _with_charges(entries: list) -> list:
    """Give each refund (a FeeEntry or a LineEntry) the amount of its order's charge, for
    `explain`, in one query."""
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
    # The orders are at hand: each entry is given its own, not read again with it. Only an
    # order that used the voucher and was delivered can have been charged.
    by_id = {
        order.pk: order
        for order in orders
        if order.bonus_cashback_voucher and order.delivered_at is not None
    }
    if not by_id:
        return {}
    entries = list(FeeEntry.objects.filter(order_id__in=by_id).order_by("occurred_at", "pk"))
    for entry in entries:
        entry.order = by_id[entry.order_id]
    entries = _with_charges(entries)
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


@dataclass(frozen=True)
class LineOrder:
    """What a settled record's line shows of its order."""

    pk: int
    external_id: str
    placed_at: datetime
    delivered_at: datetime | None
    net_product_price: Decimal
    seller_funded_discount: Decimal


@dataclass
class LineEntry:
    """What a settled record's line explains of one of its fee entries (`explain`)."""

    order_id: int
    order: LineOrder
    kind: str
    amount: Decimal
    rate: Decimal
    fee_base: Decimal
    refunded_base: Decimal | None
    completes_return: bool
    order_charge_amount: Decimal = ZERO  # of a refund: its order's charge


@dataclass
class RecordLine:
    """One order of a settled record: what of its fee this record settles."""

    order: LineOrder
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


@dataclass(frozen=True)
class RecordLinePage:
    lines: list[RecordLine]
    next_cursor: str | None


# What a line shows and explains, of an entry and of its order: nothing else is read, and
# into plain objects (model instances of some columns cost more than the query).
ENTRY_FIELDS = (
    "order_id",
    "kind",
    "amount",
    "rate",
    "fee_base",
    "refunded_base",
    "completes_return",
)
ORDER_FIELDS = (
    "order__external_id",
    "order__placed_at",
    "order__delivered_at",
    "order__net_product_price",
    "order__seller_funded_discount",
)


def _record_entries(record: SettledRecord, order_ids: list[int] | None = None) -> list[LineEntry]:
    """A record's entries (of these orders, if given) with their orders, each refund with
    its order's charge (for `explain`), in the record's order. Entries of given orders are
    found by order, and their lines by entry: a page reads its own rows, whatever the
    record's size."""
    entries = FeeEntry.objects.order_by("pk")
    if order_ids is None:
        entries = entries.filter(settled_line__record=record)
    else:
        line = SettledRecordLine.objects.filter(entry_id=OuterRef("pk"), record=record)
        entries = entries.filter(Exists(line), order_id__in=order_ids)
    orders: dict[int, LineOrder] = {}
    found = []
    for row in entries.values_list(*ENTRY_FIELDS, *ORDER_FIELDS):
        order_id = row[0]
        order = orders.get(order_id)
        if order is None:
            order = orders[order_id] = LineOrder(order_id, *row[len(ENTRY_FIELDS) :])
        found.append(LineEntry(order_id, order, *row[1 : len(ENTRY_FIELDS)]))
    return _with_charges(found)


def _lines_of(entries: Iterable[FeeEntry]) -> list[RecordLine]:
    """Entries, by order, as one line an order, each where its order's first entry is."""
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


def settled_record_lines(*, record: SettledRecord) -> list[RecordLine]:
    """A record's whole breakdown by order, in the record's order, in one query."""
    return _lines_of(_record_entries(record))


def _first_lines(record: SettledRecord) -> QuerySet[SettledRecordLine]:
    """Each order's first line in the record (its earliest entry there), in the record's
    order (SettledRecordLine's own: by entry, that is as the fees were charged and
    refunded). The index on (record, entry) gives them from any position on: a page reads
    its own lines, and one or two more for each order it already showed."""
    earlier = SettledRecordLine.objects.filter(
        record_id=OuterRef("record_id"),
        entry__order_id=OuterRef("entry__order_id"),
        entry_id__lt=OuterRef("entry_id"),
    )
    return (
        SettledRecordLine.objects.filter(record=record)
        .filter(~Exists(earlier))
        .order_by("entry_id")
    )


def _page_lines(record: SettledRecord, order_ids: list[int]) -> list[RecordLine]:
    """The lines of these orders of the record, in the order given."""
    if not order_ids:
        return []
    lines = {line.order.pk: line for line in _lines_of(_record_entries(record, order_ids))}
    return [lines[pk] for pk in order_ids]


def settled_record_lines_page(
    *, record: SettledRecord, after: tuple[datetime, int] | None = None, size: int = 50
) -> RecordLinePage | None:
    """A page of a record's breakdown, in the record's order, found by keyset with the
    orders list's cursors (`orders.selectors`): a cursor names the last order shown, and
    the page goes on after that order's first line. Two queries at any depth, its orders
    then their entries, and nothing counts the lines. None when the cursor names an order
    that is not in the record (a cursor that is not one of ours)."""
    firsts = _first_lines(record)
    if after is not None:
        _placed, order_id = after
        position = _first_lines(record).filter(entry__order_id=order_id).values("entry_id")[:1]
        firsts = firsts.filter(entry_id__gt=Subquery(position))
    order_ids = list(firsts.values_list("entry__order_id", flat=True)[: size + 1])
    if after is not None and not order_ids:
        # A cursor is written only when more follows, and a record never changes.
        return None
    lines = _page_lines(record, order_ids[:size])
    more = len(order_ids) > size
    return RecordLinePage(lines=lines, next_cursor=encode_cursor(lines[-1].order) if more else None)


def settled_record_lines_all(*, record: SettledRecord, chunk: int = 500) -> Iterator[RecordLine]:
    """Every line of a record, in the record's order, read `chunk` orders at a time: for a
    download of any size in bounded memory."""
    orders = _first_lines(record).values_list("entry__order_id", flat=True).iterator(chunk)
    while order_ids := list(islice(orders, chunk)):
        yield from _page_lines(record, order_ids)
