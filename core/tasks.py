"""Fanning a job out over sellers: one task a chunk, so that more workers finish sooner."""

from django.conf import settings


def chunks(seller_ids: list[int], size: int | None = None) -> list[list[int]]:
    size = size or settings.JOB_CHUNK_SELLERS
    return [seller_ids[i : i + size] for i in range(0, len(seller_ids), size)]
