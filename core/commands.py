"""What the job commands share: reading --as-of, and saying which sellers failed."""

from datetime import datetime

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.jobs import RunCounts


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


def fail_for_sellers(counts: RunCounts) -> None:
    """After a run that did everyone else's work: a non-zero exit naming each seller whose
    part failed, so that an operator's scheduler sees it (the admin lists them as stuck)."""
    if counts.failures:
        lines = [
            f"  {counts.names[seller_id]}, {work}: {error}"
            for seller_id, parts in counts.failures.items()
            for work, error in parts
        ]
        raise CommandError(
            f"{len(counts.failures)} sellers failed and are tried again at the next run:\n"
            + "\n".join(lines)
        )
