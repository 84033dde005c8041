"""What the job commands share: reading --as-of."""

from datetime import datetime

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def as_of(value: str | None) -> datetime:
    if value is None:
        return timezone.now()
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise CommandError(
            f"--as-of {value!r}: give an instant in ISO 8601 with its offset, "
            "such as 2026-11-23T00:00:00Z."
        )
    return parsed
