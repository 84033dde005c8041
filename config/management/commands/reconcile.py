from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from cashback.order_cashback import cashback_mismatches
from fees.services import fee_mismatches
from wallet.selectors import wallet_mismatches


class Command(BaseCommand):
    help = "Check the money: every order's fee entries against its fee, every settled record "
    help += "against its entries. Exits non-zero naming each mismatch."

    def handle(self, *args, **options) -> None:
        # Every check reads the same instant of the data, whatever is written meanwhile: in
        # READ COMMITTED each query sees the commits before it, and a batch committed between
        # reading the orders and reading the fees would look like orders without their fees.
        # Inside a transaction already (a caller's, a test's), its snapshot is the one.
        own = connection.vendor == "postgresql" and not connection.in_atomic_block
        with transaction.atomic():
            if own:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
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
