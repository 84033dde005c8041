"""Money and rates: Decimal everywhere, rounded in one place."""

from contextlib import AbstractContextManager
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

CENT = Decimal("0.01")
RATE_PLACES = 4
MAX_RATE = Decimal("100")
# The largest amount of one order (its price, discount, an item's unit price, a refund) and
# of one wallet adjustment, in its currency. Every stored total is sized for a month of a
# great many such orders (docs/reliability.md, "Bounds"), so no job overflows on them.
MAX_AMOUNT = Decimal("9999999999.99")
# A stored total (a settled record, a month, a wallet): 22 digits before the point hold a
# hundred million orders at MAX_AMOUNT, even at an FX rate of 10,000 USD to one unit.
TOTAL = {"max_digits": 24, "decimal_places": 2}


def round_money(amount: Decimal) -> Decimal:
    """Round to cents, half up (Python's default, half-even, turns 2.345 into 2.34)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def exact() -> AbstractContextManager:
    """Decimal arithmetic with room for every amount the database holds: the default context
    keeps 28 digits, which a large month's GMV times a rate outgrows, and a product rounded
    there and again to the cent can be a cent off."""
    return localcontext(prec=60)


def percent_of(amount: Decimal, rate: Decimal) -> Decimal:
    """`rate` percent of an amount, rounded half up to the cent."""
    with exact():
        return round_money(amount * rate / 100)


def cents(total: Decimal | None) -> Decimal:
    """A sum the database computed, to the cent: exact on PostgreSQL already; SQLite sums
    decimals in floating point (771.069999...), which this brings back."""
    return round_money(Decimal(total)) if total is not None else Decimal("0.00")


def format_rate(rate: Decimal) -> str:
    """A percentage as people and the API write it: 3 → "3", 1.5000 → "1.5"."""
    text = format(rate.normalize(), "f")
    return text if text != "-0" else "0"


def parse_rate(value: object) -> Decimal:
    """A percentage from 0 to 100 with at most 4 decimal places, or ValueError saying why."""
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{value!r} is not a number: give a percentage such as 3 or 1.5.") from exc
    if not rate.is_finite():
        raise ValueError(f"{value!r} is not a number: give a percentage such as 3 or 1.5.")
    if rate < 0 or rate > MAX_RATE:
        raise ValueError(f"A rate is between 0 and 100 (percent); {value!r} is not.")
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise ValueError(f"A rate has at most {RATE_PLACES} decimal places; {value!r} has more.")
    return rate.quantize(Decimal(1).scaleb(-RATE_PLACES))
