"""Exact integer arithmetic in SQL, the same on PostgreSQL and SQLite.

The money jobs compute in integer cents, so that both databases give the same result to the
cent. A product of two amounts in cents (a month's total times an order's GMV, an amount
times an FX rate in units of 1e-8) outgrows a 64-bit integer long before the amounts are
implausible, so products are never taken in `bigint`: PostgreSQL computes them in
`numeric`, exact at any size, and turns cents back into amounts by multiplying (a numeric
quotient keeps only some 16 digits); SQLite, whose integers silently turn into floating
point on overflow, calls the Python functions below, which are exact at any size and refuse
a result that does not fit its integers. SQLite keeps a decimal column in 15 significant
digits, so there amounts are exact below 10^13 (docs/reliability.md, "Bounds").

Every operand is a whole number of at least 0, and every divisor above 0.
"""

from django.db import IntegrityError
from django.db.backends.signals import connection_created


def sql_int(expression: str) -> str:
    """A decimal expression rounded half up to a whole number, for the products below."""
    return f"CAST(ROUND({expression}) AS INTEGER)" if _sqlite() else f"ROUND({expression})"


def sql_cents(column: str) -> str:
    """An amount in whole cents."""
    return sql_int(f"({column}) * 100")


def sql_from_cents(cents: str) -> str:
    """A whole number of cents as an amount."""
    return f"(({cents}) / 100.0)" if _sqlite() else f"(({cents}) * 0.01)"


def sql_cents_at_rate(amount: str, rate: str, *, places: int) -> str:
    """An amount times a rate of at most `places` decimals, in whole cents, rounded half up.
    On PostgreSQL a product of numerics, exact, and the cheapest exact form."""
    if _sqlite():
        scale = str(10**places)
        return sql_muldiv(sql_cents(amount), sql_int(f"({rate}) * {scale}"), scale, half_up=True)
    return f"ROUND(({amount}) * ({rate}) * 100)"


def sql_percent_of_cents(cents: str, rate: str) -> str:
    """`rate` percent (at most 4 decimals) of a whole number of cents, rounded half up."""
    if _sqlite():
        return sql_muldiv(cents, sql_int(f"({rate}) * 10000"), "1000000", half_up=True)
    # Times 0.01 rather than over 100: a product of numerics is exact, a quotient is not.
    return f"ROUND(CAST({cents} AS NUMERIC) * ({rate}) * 0.01)"


def sql_muldiv(a: str, b: str, c: str, *, half_up: bool = False) -> str:
    """a × b ÷ c, rounded down, or half up when `half_up`."""
    if _sqlite():
        return f"exact_muldiv({a}, {b}, {c}, {int(half_up)})"
    if half_up:
        return f"DIV(2 * CAST({a} AS NUMERIC) * ({b}) + ({c}), 2 * CAST({c} AS NUMERIC))"
    return f"DIV(CAST({a} AS NUMERIC) * ({b}), {c})"


def sql_mulmod(a: str, b: str, c: str) -> str:
    """What is left of a × b after dividing it by c."""
    if _sqlite():
        return f"exact_mulmod({a}, {b}, {c})"
    return f"MOD(CAST({a} AS NUMERIC) * ({b}), {c})"


def muldiv(a: int, b: int, c: int, half_up: int = 0) -> int | None:
    """`sql_muldiv` on SQLite, and the rule as people read it."""
    if a is None or b is None or c is None:
        return None
    return (2 * a * b + c) // (2 * c) if half_up else a * b // c


def mulmod(a: int, b: int, c: int) -> int | None:
    if a is None or b is None or c is None:
        return None
    return a * b % c


def is_unique_violation(error: IntegrityError) -> bool:
    """Whether the database refused a row because one with the same key exists: what a run
    finds when another did the same work a moment before. (A check refused is not that.)"""
    if _sqlite():
        return "UNIQUE constraint failed" in str(error)
    return getattr(error.__cause__, "sqlstate", None) == "23505"


def _sqlite() -> bool:
    from django.db import connection

    return connection.vendor == "sqlite"


def _register(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        # Deterministic, so that SQLite may use them in indexes and constant folding.
        connection.connection.create_function("exact_muldiv", 4, muldiv, deterministic=True)
        connection.connection.create_function("exact_mulmod", 3, mulmod, deterministic=True)


connection_created.connect(_register, dispatch_uid="core.dialect.exact_arithmetic")
