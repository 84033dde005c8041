from django.core.management.base import BaseCommand

from config import demo


class Command(BaseCommand):
    help = "Create the demo shop, its data and the demo logins. Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="Printed before each page."
        )

    def handle(self, *args, **options) -> None:
        result = demo.seed()
        base = options["base_url"].rstrip("/")
        self.stdout.write(f"Demo shop: {result.seller.name} ({result.seller.slug})")
        for note in result.notes:
            self.stdout.write(f"  {note}")
        for where, path, username, password in result.logins:
            self.stdout.write(f"{where:<14} {base}{path:<10} login: {username} / {password}")
