from contextlib import nullcontext

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from cashback.order_cashback import cashback_mismatches
from core.jobs import sellers_stuck
from fees.services import fee_mismatches
from wallet.selectors import wallet_mismatches


class Command(BaseCommand):
    help = "Check the money: every order's fee entries against its fee, every settled record "
    help += "against its entries, the months, accruals and wallets; and name every seller a "
    help += "job is stuck on. Exits non-zero naming each mismatch."

    def handle(self, *args, **options) -> None:
        # On PostgreSQL every check reads the same instant of the data, whatever is written
        # meanwhile: in READ COMMITTED each query sees the commits before it, and a batch
        # committed between reading the orders and reading the fees would look like orders
        # without their fees. Called inside a transaction already (a caller's, a test's), it
        # reads as that transaction does. SQLite's transactions take the write lock: there
        # it takes none.
        snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
        with transaction.atomic() if snapshot else nullcontext():
            if snapshot:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            checks = {
                "service fees": fee_mismatches(),
                "wallets": wallet_mismatches(),
                "order cashback": cashback_mismatches(),
                "jobs": sellers_stuck(),
            }
        problems = [f"{area}: {p}" for area, found in checks.items() for p in found]
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} mismatches.")
        self.stdout.write(f"All consistent: {', '.join(checks)}.")
