from django.core.management.base import BaseCommand, CommandError

from cashback.order_cashback import cashback_mismatches
from fees.services import fee_mismatches
from wallet.selectors import wallet_mismatches


class Command(BaseCommand):
    help = "Check the money: every order's fee entries against its fee, every settled record "
    help += "against its entries. Exits non-zero naming each mismatch."

    def handle(self, *args, **options) -> None:
        checks = {
            "service fees": fee_mismatches(),
            "wallets": wallet_mismatches(),
            "order cashback": cashback_mismatches(),
        }
        problems = [f"{area}: {p}" for area, found in checks.items() for p in found]
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} mismatches.")
        self.stdout.write(f"All consistent: {', '.join(checks)}.")
