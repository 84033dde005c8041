from django.core.management.base import BaseCommand

from cashback.order_cashback import roll_up_months
from core.commands import as_of, fail_for_sellers


class Command(BaseCommand):
    help = (
        "Sum every seller's Order Cashback month so far, for the dashboard and the API's "
        "summary (also hourly by beat). Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", help="The instant to sum as of (ISO 8601); now.")

    def handle(self, *args, **options) -> None:
        counts = roll_up_months(as_of=as_of(options["as_of"]))
        self.stdout.write(f"Summed the month so far of {counts['sellers']} sellers.")
        fail_for_sellers(counts)
