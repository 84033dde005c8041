"""Reads of the Bonus Cashback Program."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import CharField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from cashback.models import (
    Campaign,
    CampaignRate,
    Registration,
    RegistrationEvent,
    RegistrationStatus,
)
from sellers.models import Seller


def rate_at_expression(*, at: datetime, campaign_ref: str = "pk") -> Coalesce:
    rates = CampaignRate.objects.filter(campaign=OuterRef(campaign_ref))
    in_force = rates.filter(effective_from__lte=at).order_by("-effective_from")
    first = rates.order_by("effective_from")
    return Coalesce(Subquery(in_force.values("rate")[:1]), Subquery(first.values("rate")[:1]))


def campaign_rate_at(*, campaign: Campaign, at: datetime) -> Decimal | None:
    """The service fee rate in force at an instant: the latest effective, else the first."""
    return (
        Campaign.objects.filter(pk=campaign.pk)
        .annotate(rate=rate_at_expression(at=at))
        .values_list("rate", flat=True)
        .get()
    )


@dataclass(frozen=True)
class Window:
    is_open: bool
    label: str  # for a list: "Open", "Open until 2026-12-31", "Closed 2026-10-01"
    refusal: str = ""  # why registering is refused, when it is


def campaign_window(*, campaign: Campaign, at: datetime) -> Window:
    """Whether a seller can register at `at`: published, and inside the registration window
    (it opens at its opening instant and closes at its closing one)."""
    opens, closes = campaign.registration_opens_at, campaign.registration_closes_at
    if not campaign.is_published:
        return Window(False, "Not published", f"“{campaign.name}” is not open to sellers.")
    if at < opens:
        when = f"{timezone.localtime(opens):%Y-%m-%d %H:%M}"
        return Window(
            False, f"Opens {when[:10]}", f"Registration for “{campaign.name}” opens on {when}."
        )
    if closes is not None and at >= closes:
        when = f"{timezone.localtime(closes):%Y-%m-%d %H:%M}"
        return Window(
            False, f"Closed {when[:10]}", f"Registration for “{campaign.name}” closed on {when}."
        )
    if closes is not None:
        return Window(True, f"Open until {timezone.localtime(closes):%Y-%m-%d}")
    return Window(True, "Open")


def campaign_is_open(*, campaign: Campaign, at: datetime) -> bool:
    return campaign_window(campaign=campaign, at=at).is_open


def _seller_status_expression(*, seller: Seller) -> Coalesce:
    latest = Registration.objects.filter(campaign=OuterRef("pk"), seller=seller).order_by(
        "-registered_at", "-pk"
    )
    return Coalesce(Subquery(latest.values("status")[:1]), Value(""), output_field=CharField())


def campaigns_for_seller(*, seller: Seller, at: datetime, search: str = "") -> QuerySet[Campaign]:
    """The published campaigns, each with `current_rate` and `seller_status` (the status of
    this seller's latest registration, or "")."""
    campaigns = Campaign.objects.filter(is_published=True)
    search = search.strip()
    if search:
        campaigns = campaigns.filter(Q(name__icontains=search) | Q(summary__icontains=search))
    return campaigns.annotate(
        current_rate=rate_at_expression(at=at),
        seller_status=_seller_status_expression(seller=seller),
    ).order_by("-registration_opens_at", "-pk")


def campaign_get_for_seller(*, seller: Seller, slug: str, at: datetime) -> Campaign:
    """A campaign the seller may open: published, or one it has registered for (so that a
    registration stays reachable, to withdraw, after its campaign is unpublished)."""
    return (
        Campaign.objects.filter(slug=slug)
        .filter(Q(is_published=True) | Q(registrations__seller=seller))
        .annotate(current_rate=rate_at_expression(at=at))
        .distinct()
        .get()
    )


def registrations_for_seller(
    *, seller: Seller, campaign: Campaign | None = None
) -> QuerySet[Registration]:
    registrations = Registration.objects.filter(seller=seller).select_related("campaign")
    if campaign is not None:
        registrations = registrations.filter(campaign=campaign)
    return registrations.order_by("-registered_at", "-pk")


def registrations_covering(
    *, seller_id: int, at: datetime, campaign_id: int | None = None
) -> QuerySet[Registration]:
    """The registrations that had the seller in the program at the instant `at`.

    In the program means `approved`, or `withdraw_under_review` having come from
    `approved`: a seller stays in until its withdrawal is approved. It is read from the
    history, so an order ingested late is judged by when it was placed. Latest registered
    first; a seller has at most one per campaign at any instant.
    """
    state_then = RegistrationEvent.objects.filter(
        registration=OuterRef("pk"), occurred_at__lte=at
    ).order_by("-occurred_at", "-pk")
    registrations = Registration.objects.filter(seller_id=seller_id, registered_at__lte=at)
    if campaign_id is not None:
        registrations = registrations.filter(campaign_id=campaign_id)
    return (
        registrations.annotate(
            status_then=Subquery(state_then.values("to_status")[:1]),
            came_from_then=Subquery(state_then.values("from_status")[:1]),
        )
        .filter(
            Q(status_then=RegistrationStatus.APPROVED)
            | Q(
                status_then=RegistrationStatus.WITHDRAW_UNDER_REVIEW,
                came_from_then=RegistrationStatus.APPROVED,
            )
        )
        .select_related("campaign")
        .order_by("-registered_at", "-pk")
    )


def registration_covering(
    *, seller_id: int, at: datetime, campaign_id: int | None = None
) -> Registration | None:
    """The registration that covered `at` (for the named campaign, or the latest
    registered of any campaign), or None."""
    return registrations_covering(seller_id=seller_id, at=at, campaign_id=campaign_id).first()
