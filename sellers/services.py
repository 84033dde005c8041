"""Writes of the sellers app: shops, their users, plans and API keys."""

import secrets
from datetime import datetime, timedelta

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from core.dates import month_start
from sellers.models import ApiKey, Plan, PlanChange, Seller, User

API_KEY_PREFIX = "cbc_"
API_KEY_SHOWN_CHARS = 12
# Last use is recorded to the minute: a write per request would cost more than it tells.
API_KEY_LAST_USED_GRANULARITY = timedelta(minutes=1)


class SellerError(Exception):
    """A seller operation refused, with a message a person can act on."""


def _unique_slug(name: str) -> str:
    base = slugify(name)[:56].strip("-") or "seller"
    slug, n = base, 1
    while Seller.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def seller_create(
    *,
    name: str,
    plan: str = Plan.MONTHLY,
    slug: str | None = None,
    account_manager: User | None = None,
    created_by: User | None = None,
    now: datetime | None = None,
) -> Seller:
    """Create a shop with its first plan, which also covers the time before it joined."""
    name = name.strip()
    if not name:
        raise SellerError("A seller needs a name.")
    if len(name) > Seller._meta.get_field("name").max_length:
        raise SellerError("A seller's name has at most 200 characters.")
    if plan not in Plan.values:
        raise SellerError(f"Unknown plan {plan!r}: use one of {', '.join(Plan.values)}.")
    if slug is not None and Seller.objects.filter(slug=slug).exists():
        raise SellerError(f"A seller with the slug {slug!r} exists already.")
    now = now or timezone.now()
    try:
        with transaction.atomic():
            seller = Seller.objects.create(
                name=name, slug=slug or _unique_slug(name), account_manager=account_manager
            )
    except IntegrityError as exc:
        raise SellerError("A seller with this slug was created at the same time.") from exc
    PlanChange.objects.create(
        seller=seller, plan=plan, effective_at=now, changed_by=created_by, reason="Initial plan"
    )
    return seller


@transaction.atomic
def seller_user_create(*, seller: Seller, username: str, password: str, email: str = "") -> User:
    """A person who logs into the Seller Center for this shop."""
    username = username.strip()
    if not username:
        raise SellerError("A user needs a username.")
    if len(username) > User._meta.get_field("username").max_length:
        raise SellerError("A username has at most 150 characters.")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise SellerError(f"{username!r} is not a valid username: {exc.messages[0]}") from exc
    if User.objects.filter(username__iexact=username).exists():
        raise SellerError(f"The username {username!r} is taken.")
    if not password:
        raise SellerError("A user needs a password.")
    return User.objects.create_user(
        username=username, password=password, email=email, seller=seller
    )


@transaction.atomic
def seller_onboard(
    *,
    name: str,
    username: str,
    password: str,
    plan: str = Plan.MONTHLY,
    email: str = "",
    account_manager: User | None = None,
) -> tuple[Seller, User]:
    """A new shop with its first user, both or neither."""
    seller = seller_create(name=name, plan=plan, account_manager=account_manager)
    user = seller_user_create(seller=seller, username=username, password=password, email=email)
    return seller, user


def validate_plan_change_effective_at(effective_at: datetime, *, now: datetime | None = None):
    """A plan change may not reach back before this month (platform time zone)."""
    earliest = month_start(now or timezone.now())
    if effective_at < earliest:
        raise SellerError(
            "A plan change takes effect from the start of this month "
            f"({earliest:%Y-%m-%d}) or later; earlier months may be closed already."
        )


def seller_change_plan(
    *,
    seller: Seller,
    plan: str,
    effective_at: datetime,
    changed_by: User | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> PlanChange:
    """Append a plan change, effective from this month on (or later).

    A change only adds a row. It may not reach back before this month: earlier months may
    be closed already, and their cashback was computed with the plan of their time.
    """
    if plan not in Plan.values:
        raise SellerError(f"Unknown plan {plan!r}: use one of {', '.join(Plan.values)}.")
    validate_plan_change_effective_at(effective_at, now=now)
    return PlanChange.objects.create(
        seller=seller, plan=plan, effective_at=effective_at, changed_by=changed_by, reason=reason
    )


def api_key_create(
    *, seller: Seller, name: str, created_by: User | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its only plaintext copy, to be shown once."""
    name = name.strip()
    if not name:
        raise SellerError("Give the key a name, such as the system that will use it.")
    if len(name) > ApiKey._meta.get_field("name").max_length:
        raise SellerError("A key's name has at most 100 characters.")
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        seller=seller,
        name=name,
        prefix=raw_key[:API_KEY_SHOWN_CHARS],
        key_hash=ApiKey.hash_of(raw_key),
        created_by=created_by,
    )
    return api_key, raw_key


def api_key_revoke(
    *, api_key: ApiKey, revoked_by: User | None = None, now: datetime | None = None
) -> bool:
    """Revoke a key; False if it was revoked already (the first revocation stands)."""
    now = now or timezone.now()
    changed = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=revoked_by
    )
    api_key.refresh_from_db(fields=["revoked_at", "revoked_by"])
    return changed == 1


def api_key_record_use(*, api_key: ApiKey, now: datetime) -> None:
    last = api_key.last_used_at
    if last is not None and now - last < API_KEY_LAST_USED_GRANULARITY:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
