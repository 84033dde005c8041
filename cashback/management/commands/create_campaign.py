from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from cashback.services import CampaignError, campaign_create

DEFAULT_TERMS = (
    "The seller pays a service fee on every delivered order that used the Bonus Cashback "
    "Voucher while registered: (net product price - seller-funded discount) x the campaign's "
    "rate, refunded when the order is returned."
)


def _instant(value: str | None, name: str):
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise CommandError(f"{name} must be ISO 8601 with an offset, e.g. 2026-12-01T00:00:00Z.")
    return parsed


class Command(BaseCommand):
    help = "Create a published Bonus Cashback Program campaign, open for registration now."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--fee-rate", required=True, help="Percent: 3 means 3 %%.")
        parser.add_argument("--requires-review", action="store_true")
        parser.add_argument("--summary", default="")
        parser.add_argument("--details", default="")
        parser.add_argument("--terms", default=DEFAULT_TERMS)
        parser.add_argument("--opens", help="Registration opens (ISO 8601); default now.")
        parser.add_argument("--closes", help="Registration closes (ISO 8601); default never.")
        parser.add_argument("--draft", action="store_true", help="Create it unpublished.")

    def handle(self, *args, **options) -> None:
        try:
            campaign = campaign_create(
                slug=options["slug"],
                name=options["name"],
                fee_rate=options["fee_rate"],
                requires_review=options["requires_review"],
                summary=options["summary"],
                details=options["details"],
                terms=options["terms"],
                is_published=not options["draft"],
                registration_opens_at=_instant(options["opens"], "--opens"),
                registration_closes_at=_instant(options["closes"], "--closes"),
            )
        except CampaignError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Created campaign {campaign.slug} at {options['fee_rate']} %.")
