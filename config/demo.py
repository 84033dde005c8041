"""The demo data of `seed_demo`: a living Seller Center for a new user, safe to run twice.

Each program adds its step to `seed`, in dependency order.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from cashback.models import Campaign, Registration
from cashback.services import Actor, campaign_create, registration_create
from sellers.models import Plan, Seller, User
from sellers.services import seller_onboard

DEMO_SELLER_SLUG = "demo-shop"
DEMO_SELLER_USERNAME = "demo"
DEMO_SELLER_PASSWORD = "demo"  # noqa: S105 - printed for the demo, never used elsewhere
DEMO_STAFF_USERNAME = "admin"
DEMO_STAFF_PASSWORD = "admin"  # noqa: S105 - printed for the demo, never used elsewhere


@dataclass
class DemoResult:
    seller: Seller
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _staff_user() -> tuple[User, bool]:
    user = User.objects.filter(username=DEMO_STAFF_USERNAME).first()
    if user is not None:
        return user, False
    user = User.objects.create_superuser(
        username=DEMO_STAFF_USERNAME,
        password=DEMO_STAFF_PASSWORD,
        email="alex.morgan@cashback-center.example",
        first_name="Alex",
        last_name="Morgan",
    )
    return user, True


def _demo_seller(account_manager: User) -> tuple[Seller, bool]:
    seller = Seller.objects.filter(slug=DEMO_SELLER_SLUG).first()
    if seller is not None:
        return seller, False
    seller, _user = seller_onboard(
        name="Demo Shop",
        username=DEMO_SELLER_USERNAME,
        password=DEMO_SELLER_PASSWORD,
        plan=Plan.YEARLY,
        email="owner@demo-shop.example",
        account_manager=account_manager,
    )
    if seller.slug != DEMO_SELLER_SLUG:  # the name's slug is the demo slug
        raise RuntimeError(f"Demo seller got slug {seller.slug!r}")
    return seller, True


DEMO_CAMPAIGN_SLUG = "bonus-cashback-program"
DEMO_CAMPAIGN_TERMS = "\n".join(
    (
        "1. The Bonus Cashback Voucher is offered to the buyers of registered sellers.",
        "2. For every order that used the voucher and is delivered, the seller pays a service "
        "fee of (net product price - seller-funded discount) x the campaign's service fee "
        "rate, in the order's currency.",
        "3. The fee is refunded when the order is returned, and in proportion when part of it "
        "is refunded.",
        "4. Fees are settled weekly (Monday to Sunday) and shown in Finance > Settled records.",
        "5. A seller may withdraw at any time; it stays in the program, and pays its fees, "
        "until the platform approves the withdrawal.",
    )
)


def _demo_campaign(seller: Seller, now: datetime) -> list[str]:
    """The campaign, opened half a year ago, with the demo shop registered since then."""
    notes = []
    campaign = Campaign.objects.filter(slug=DEMO_CAMPAIGN_SLUG).first()
    opened = now - timedelta(days=180)
    if campaign is None:
        campaign = campaign_create(
            slug=DEMO_CAMPAIGN_SLUG,
            name="Bonus Cashback Program",
            fee_rate="3",
            summary="Offer your buyers the Bonus Cashback Voucher and sell more.",
            details=(
                "Buyers who see the Bonus Cashback Voucher on your products get extra cashback "
                "from the platform. You pay a service fee only on the delivered orders that "
                "used it."
            ),
            terms=DEMO_CAMPAIGN_TERMS,
            registration_opens_at=opened,
            now=opened,
        )
        notes.append(f"Campaign “{campaign.name}” at 3 %.")
    if not Registration.objects.filter(seller=seller, campaign=campaign).exists():
        registration_create(
            seller=seller,
            campaign=campaign,
            agree_to_terms=True,
            actor=Actor.seller_user(seller.users.order_by("pk").first()),
            now=opened + timedelta(days=30),
        )
        notes.append(f"{seller.name} registered for it.")
    return notes


@transaction.atomic
def seed(*, now: datetime | None = None) -> DemoResult:
    now = now or timezone.now()
    staff, staff_new = _staff_user()
    seller, seller_new = _demo_seller(staff)
    result = DemoResult(seller=seller)
    result.notes += _demo_campaign(seller, now)
    result.logins.append(
        (
            "Seller Center",
            "/seller/",
            DEMO_SELLER_USERNAME,
            DEMO_SELLER_PASSWORD if seller_new else "(existing user: password unchanged)",
        )
    )
    result.logins.append(
        (
            "Admin",
            "/admin/",
            DEMO_STAFF_USERNAME,
            DEMO_STAFF_PASSWORD if staff_new else "(existing user: password unchanged)",
        )
    )
    return result
