"""Thin Celery tasks over the fee services. They take instants and ids, never amounts."""

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.tasks import chunks
from fees.services import sellers_to_settle
from fees.services import settle_fees as settle


@shared_task(name="fees.tasks.settle_fees")
def settle_fees(as_of: str | None = None) -> int:
    """Beat's daily entry: settle every ended period, fanned out over the sellers."""
    instant = parse_datetime(as_of) if as_of else timezone.now()
    parts = chunks(sellers_to_settle(as_of=instant))
    for part in parts:
        transaction.on_commit(lambda part=part: settle_fees_chunk.delay(instant.isoformat(), part))
    return len(parts)


@shared_task(name="fees.tasks.settle_fees_chunk")
def settle_fees_chunk(as_of: str, seller_ids: list[int]) -> None:
    settle(as_of=parse_datetime(as_of), seller_ids=seller_ids)
