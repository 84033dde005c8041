import json

from django.core.management.base import BaseCommand, CommandError

from sellers.models import Plan
from sellers.services import SellerError, seller_onboard


class Command(BaseCommand):
    help = "Create a shop with a Seller Center user. Prints {slug, username} as JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="The shop's name.")
        parser.add_argument("--username", required=True, help="The Seller Center login.")
        parser.add_argument("--password", required=True)
        parser.add_argument("--plan", choices=Plan.values, default=Plan.MONTHLY)
        parser.add_argument("--email", default="")

    def handle(self, *args, **options) -> None:
        try:
            seller, user = seller_onboard(
                name=options["name"],
                username=options["username"],
                password=options["password"],
                plan=options["plan"],
                email=options["email"],
            )
        except SellerError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"slug": seller.slug, "username": user.username}))
