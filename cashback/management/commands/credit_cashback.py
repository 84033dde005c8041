from django.core.management.base import BaseCommand

from cashback.order_cashback import credit_cashback
from core.commands import as_of, fail_for_sellers


class Command(BaseCommand):
    help = "Credit every due Order Cashback accrual to the wallets. Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", help="The instant to credit as of (ISO 8601); now.")

    def handle(self, *args, **options) -> None:
        counts = credit_cashback(as_of=as_of(options["as_of"]))
        self.stdout.write(
            f"Credited {counts['credited']} accruals ({counts['lowered']} lowered for refunds), "
            f"voided {counts['voided']}."
        )
        fail_for_sellers(counts)
