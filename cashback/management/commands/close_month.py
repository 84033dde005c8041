from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cashback.order_cashback import close_months, month_bounds
from core.commands import fail_for_sellers
from sellers.models import Seller


class Command(BaseCommand):
    help = "Close a month of Order Cashback (all sellers, or one). Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("month", metavar="YYYY-MM")
        parser.add_argument("--seller", metavar="SLUG", help="Only this seller.")

    def handle(self, *args, **options) -> None:
        try:
            year, month = (int(part) for part in options["month"].split("-"))
            first = date(year, month, 1)
        except ValueError as exc:
            raise CommandError(f"{options['month']!r} is not a month: use YYYY-MM.") from exc
        seller_ids = None
        if options["seller"]:
            seller = Seller.objects.filter(slug=options["seller"]).first()
            if seller is None:
                raise CommandError(f"No seller has the slug {options['seller']!r}.")
            seller_ids = [seller.pk]
        now = timezone.now()
        if month_bounds(first)[1] > now:
            raise CommandError(f"{options['month']} has not ended yet: it closes after it ends.")
        counts = close_months(as_of=now, seller_ids=seller_ids, month=first)
        self.stdout.write(
            f"Closed {counts['months_closed']} seller-months with {counts['accruals']} "
            f"accruals ({counts['late_accruals']} late); {counts['months_waiting_fx']} wait for "
            "an FX rate."
        )
        fail_for_sellers(counts)
