"""Thin Celery tasks over the Order Cashback jobs. They take instants and ids, never amounts.

Beat sends the coordinators; each fans the work out in chunks of sellers, so that more
workers finish sooner. No task waits with an ETA: the 30 days are a query over due rows.
"""

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cashback.order_cashback import (
    close_months,
    credit_cashback,
    roll_up_months,
    sellers_to_close,
    sellers_to_credit,
)
from core.tasks import chunks


def _instant(as_of: str | None):
    return parse_datetime(as_of) if as_of else timezone.now()


@shared_task(name="cashback.tasks.close_months")
def close_months_task(as_of: str | None = None) -> int:
    instant = _instant(as_of)
    parts = chunks(sellers_to_close(as_of=instant))
    for part in parts:
        transaction.on_commit(lambda part=part: close_months_chunk.delay(instant.isoformat(), part))
    return len(parts)


@shared_task(name="cashback.tasks.close_months_chunk")
def close_months_chunk(as_of: str, seller_ids: list[int]) -> None:
    close_months(as_of=parse_datetime(as_of), seller_ids=seller_ids)


@shared_task(name="cashback.tasks.credit_cashback")
def credit_cashback_task(as_of: str | None = None) -> int:
    instant = _instant(as_of)
    parts = chunks(sellers_to_credit(as_of=instant))
    for part in parts:
        transaction.on_commit(
            lambda part=part: credit_cashback_chunk.delay(instant.isoformat(), part)
        )
    return len(parts)


@shared_task(name="cashback.tasks.credit_cashback_chunk")
def credit_cashback_chunk(as_of: str, seller_ids: list[int]) -> None:
    credit_cashback(as_of=parse_datetime(as_of), seller_ids=seller_ids)


@shared_task(name="cashback.tasks.roll_up_months")
def roll_up_months_task(as_of: str | None = None) -> None:
    """One set-based statement for every seller: nothing to fan out."""
    roll_up_months(as_of=_instant(as_of))
