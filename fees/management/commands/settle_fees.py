from django.core.management.base import BaseCommand

from core.commands import as_of, fail_for_sellers
from fees.services import settle_fees


class Command(BaseCommand):
    help = "Settle the service fees of every ended period. Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", help="The instant to settle as of (ISO 8601); now.")

    def handle(self, *args, **options) -> None:
        counts = settle_fees(as_of=as_of(options["as_of"]))
        self.stdout.write(
            f"Settled {counts['records']} records holding {counts['entries']} entries "
            f"for {counts['sellers']} sellers."
        )
        fail_for_sellers(counts)
