"""The demo data of `seed_demo`: a living Seller Center for a new user, safe to run twice.

Each program adds its step to `seed`, in dependency order.
"""

from dataclasses import dataclass, field

from django.db import transaction

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


@transaction.atomic
def seed() -> DemoResult:
    staff, staff_new = _staff_user()
    seller, seller_new = _demo_seller(staff)
    result = DemoResult(seller=seller)
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
