from django.core.management.base import BaseCommand, CommandError

from sellers.models import Seller
from sellers.services import SellerError, api_key_create


class Command(BaseCommand):
    help = "Create an API key for a shop. Prints the key alone on the last line: keep it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("seller_slug", metavar="SELLER_SLUG")
        parser.add_argument("--name", default="API key", help="What will use the key.")

    def handle(self, *args, **options) -> None:
        try:
            seller = Seller.objects.get(slug=options["seller_slug"])
        except Seller.DoesNotExist as exc:
            raise CommandError(f"No seller has the slug {options['seller_slug']!r}.") from exc
        try:
            api_key, raw_key = api_key_create(seller=seller, name=options["name"])
        except SellerError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Created key {api_key.prefix}… for {seller.slug}; it is not shown again."
        )
        self.stdout.write(raw_key)
