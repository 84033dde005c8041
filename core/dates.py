"""Calendar boundaries in the platform time zone (settings.TIME_ZONE); instants stay UTC."""

from datetime import UTC, datetime

from django.utils import timezone

# The earliest instant an order's times may take: older dates are typing errors, and a close
# would otherwise walk every month since.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def month_start(at: datetime) -> datetime:
    """The first instant of the calendar month holding `at`, in the platform time zone."""
    local = timezone.localtime(at)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
