"""The demo data of `seed_demo`: a living Seller Center for a new user, safe to run twice.

Each program adds its step to `seed`, in dependency order.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from cashback.models import Campaign, FxRate, Registration
from cashback.order_cashback import close_months, credit_cashback
from cashback.services import Actor, campaign_create, registration_create
from fees.services import settle_fees
from orders.models import Order
from orders.services import ItemInput, OrderInput, orders_create
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


DEMO_ORDER_DAYS = 120
DEMO_ORDERS = 320
PRODUCTS = (
    ("MUG-01", "Ceramic mug", Decimal("12.50")),
    ("TEE-02", "Cotton T-shirt", Decimal("19.90")),
    ("LAMP-03", "Desk lamp", Decimal("45.00")),
    ("BAG-04", "Canvas tote bag", Decimal("24.00")),
    ("HEAD-05", "Wireless headphones", Decimal("89.00")),
    ("WATCH-06", "Smart watch", Decimal("149.00")),
)


def _demo_order(rng: random.Random, n: int, now: datetime, campaign_slug: str) -> OrderInput:
    """One order of the demo shop, with a life that is plausible for its age."""
    placed = now - timedelta(days=DEMO_ORDER_DAYS * rng.random(), minutes=30)
    lines = rng.sample(PRODUCTS, k=rng.randint(1, 3))
    items = tuple(
        ItemInput(sku=sku, name=name, quantity=rng.randint(1, 4), unit_price=price)
        for sku, name, price in lines
    )
    price = sum((i.quantity * i.unit_price for i in items), Decimal("0.00"))
    discount = (price * Decimal(rng.choice([0, 0, 0, 5, 10, 15])) / 100).quantize(Decimal("0.01"))
    voucher = rng.random() < 0.55
    paid = placed + timedelta(minutes=rng.randint(2, 90))
    shipped = paid + timedelta(hours=rng.randint(6, 48))
    delivered = shipped + timedelta(days=rng.randint(1, 5))
    fields = {
        "external_id": f"DEMO-{n:05d}",
        "placed_at": placed,
        "currency": "USD" if rng.random() < 0.85 else "EUR",
        "net_product_price": price,
        "seller_funded_discount": discount,
        "bonus_cashback_voucher": voucher,
        "campaign": campaign_slug if voucher and rng.random() < 0.5 else "",
        "fulfillment_channel": "order_center" if rng.random() < 0.75 else "seller",
        "items": items,
    }
    fate = rng.random()
    if delivered > now or fate < 0.06:
        # Recent, or never got further: somewhere on the way.
        if fate < 0.03:
            return OrderInput(**fields, status="cancelled", cancelled_at=paid)
        if shipped <= now:
            return OrderInput(
                **fields,
                status="shipped",
                paid_at=paid,
                shipped_at=shipped,
                tracking_number=f"TRK{n:08d}",
            )
        return OrderInput(**fields, status="paid", paid_at=paid)
    done = {
        "paid_at": paid,
        "shipped_at": shipped,
        "delivered_at": delivered,
        "tracking_number": f"TRK{n:08d}",
    }
    returned = delivered + timedelta(days=rng.randint(1, 10))
    if fate < 0.14 and returned <= now:
        return OrderInput(
            **fields,
            **done,
            status="returned",
            returned_at=returned,
            refunded_amount=price - discount,
        )
    if fate < 0.22 and returned <= now:
        part = ((price - discount) * Decimal("0.3")).quantize(Decimal("0.01"))
        return OrderInput(
            **fields, **done, status="delivered", refunded_amount=part, refunded_at=returned
        )
    return OrderInput(**fields, **done, status="delivered")


def _demo_orders(seller: Seller, now: datetime) -> list[str]:
    """Months of orders, made through the same service as the API. Their dates follow
    today, so a shop that has its demo orders already keeps them."""
    if Order.objects.filter(seller=seller, external_id__startswith="DEMO-").exists():
        return []
    rng = random.Random(2026)  # noqa: S311 - demo data, the same shop every time
    inputs = sorted(
        (_demo_order(rng, n, now, DEMO_CAMPAIGN_SLUG) for n in range(1, DEMO_ORDERS + 1)),
        key=lambda order: order.placed_at,
    )
    results = orders_create(seller=seller, inputs=inputs, now=now)
    failed = [r for r in results if r.result == "error"]
    if failed:
        raise RuntimeError(f"Demo orders refused: {failed[0].external_id}: {failed[0].errors}")
    return [f"{len(results)} orders over the last {DEMO_ORDER_DAYS} days."]


def _demo_fx_rates(now: datetime) -> None:
    """A EUR rate for every day of the demo's orders."""
    first = (now - timedelta(days=DEMO_ORDER_DAYS + 10)).date()
    days = (now.date() - first).days + 2
    FxRate.objects.bulk_create(
        [
            FxRate(
                currency="EUR",
                date=first + timedelta(days=n),
                rate_to_usd=Decimal("1.08") + Decimal(n % 7) / 1000,
            )
            for n in range(days)
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def seed(*, now: datetime | None = None) -> DemoResult:
    now = now or timezone.now()
    staff, staff_new = _staff_user()
    seller, seller_new = _demo_seller(staff)
    result = DemoResult(seller=seller)
    result.notes += _demo_campaign(seller, now)
    result.notes += _demo_orders(seller, now)
    _demo_fx_rates(now)
    closed = close_months(as_of=now)
    credited = credit_cashback(as_of=now)
    if closed["months_closed"]:
        result.notes.append(
            f"{closed['months_closed']} months of Order Cashback closed, "
            f"{credited['credited']} accruals credited."
        )
    settled = settle_fees(as_of=now)
    if settled["records"]:
        result.notes.append(f"{settled['records']} weeks of service fees settled.")
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
