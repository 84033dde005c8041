"""Reads of the Bonus Cashback Program."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import CharField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
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


def rate_in_force(rates: Sequence[CampaignRate], at: datetime) -> Decimal | None:
    """The service fee rate in force at an instant, from a campaign's rates in the order they
    took effect: the latest effective at or before it; the first also covers the time
    before it."""
    if not rates:
        return None
    current = rates[0].rate
    for rate in rates:
        if rate.effective_from > at:
            break
        current = rate.rate
    return current


def rate_history() -> Prefetch:
    """Prefetch a campaign's rates as `rate_history`, in the order they took effect."""
    return Prefetch(
        "rates", queryset=CampaignRate.objects.order_by("effective_from"), to_attr="rate_history"
    )


def campaign_rate_at(*, campaign: Campaign, at: datetime) -> Decimal | None:
    return rate_in_force(list(campaign.rates.order_by("effective_from")), at)


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
    """The published campaigns, each with `rate_history` and `seller_status` (the status of
    this seller's latest registration, or "")."""
    campaigns = Campaign.objects.filter(is_published=True)
    search = search.strip()
    if search:
        campaigns = campaigns.filter(Q(name__icontains=search) | Q(summary__icontains=search))
    return (
        campaigns.annotate(seller_status=_seller_status_expression(seller=seller))
        .prefetch_related(rate_history())
        .order_by("-registration_opens_at", "-pk")
    )


def campaign_get_for_seller(*, seller: Seller, slug: str, at: datetime) -> Campaign:
    """A campaign the seller may open: published, or one it has registered for (so that a
    registration stays reachable, to withdraw, after its campaign is unpublished)."""
    campaign = (
        Campaign.objects.filter(slug=slug)
        .filter(Q(is_published=True) | Q(registrations__seller=seller))
        .prefetch_related(rate_history())
        .distinct()
        .get()
    )
    campaign.current_rate = rate_in_force(campaign.rate_history, at)
    return campaign


def registrations_for_seller(
    *, seller: Seller, campaign: Campaign | None = None
) -> QuerySet[Registration]:
    registrations = Registration.objects.filter(seller=seller).select_related("campaign")
    if campaign is not None:
        registrations = registrations.filter(campaign=campaign)
    return registrations.order_by("-registered_at", "-pk")


def _in_program(event: RegistrationEvent) -> bool:
    """In the program: approved, or withdraw_under_review having come from approved (a
    seller stays in until its withdrawal is approved)."""
    return event.to_status == RegistrationStatus.APPROVED or (
        event.to_status == RegistrationStatus.WITHDRAW_UNDER_REVIEW
        and event.from_status == RegistrationStatus.APPROVED
    )


@dataclass(frozen=True)
class Coverage:
    """Some sellers' registrations with their histories, read once, answering which
    registration had a seller in the program at any instant. It is read from the history,
    so an order ingested late is judged by when it was placed."""

    by_seller: dict[int, list[Registration]]

    def covering(
        self, *, seller_id: int, at: datetime, campaign_id: int | None = None
    ) -> Registration | None:
        """The registration that covered `at`, for the campaign if one is named, else the
        latest registered of any campaign; None when the seller was not in a program."""
        for registration in self.by_seller.get(seller_id, ()):  # latest registered first
            if campaign_id is not None and registration.campaign_id != campaign_id:
                continue
            if registration.registered_at > at:
                continue
            state = None
            for event in registration.timeline:  # oldest first
                if event.occurred_at > at:
                    break
                state = event
            if state is not None and _in_program(state):
                return registration
        return None


def coverage_for(*, seller_ids: Iterable[int]) -> Coverage:
    """The registrations and histories of these sellers, in two queries."""
    registrations = (
        Registration.objects.filter(seller_id__in=set(seller_ids))
        .select_related("campaign")
        .prefetch_related(
            Prefetch(
                "history",
                queryset=RegistrationEvent.objects.order_by("occurred_at", "pk"),
                to_attr="timeline",
            )
        )
        .order_by("-registered_at", "-pk")
    )
    by_seller: dict[int, list[Registration]] = {}
    for registration in registrations:
        by_seller.setdefault(registration.seller_id, []).append(registration)
    return Coverage(by_seller=by_seller)


def registration_covering(
    *, seller_id: int, at: datetime, campaign_id: int | None = None
) -> Registration | None:
    """The registration that had the seller in the program at `at`, or None."""
    return coverage_for(seller_ids=[seller_id]).covering(
        seller_id=seller_id, at=at, campaign_id=campaign_id
    )
