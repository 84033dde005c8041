"""Calendar boundaries in the platform time zone (settings.TIME_ZONE); instants stay UTC."""

from datetime import datetime

from django.utils import timezone


def month_start(at: datetime) -> datetime:
    """The first instant of the calendar month holding `at`, in the platform time zone."""
    local = timezone.localtime(at)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
