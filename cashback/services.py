"""Writes of the Bonus Cashback Program: campaigns, their rates and terms, registrations."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from cashback.models import (
    LIVE_STATUSES,
    ActorRole,
    Campaign,
    CampaignRate,
    CampaignTermsVersion,
    Registration,
    RegistrationEvent,
    RegistrationStatus,
)
from cashback.selectors import campaign_window
from core.money import parse_rate
from sellers.models import ApiKey, Seller, User

S = RegistrationStatus


class CampaignError(Exception):
    """A campaign change refused, with a message a person can act on."""


class RegistrationError(Exception):
    """A registration request refused; nothing was changed."""


class RegistrationInvalid(RegistrationError):
    """The request itself is incomplete (terms not agreed, reason missing): HTTP 400."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


class RegistrationRefused(RegistrationError):
    """The state table does not allow it now: HTTP 409."""


@dataclass(frozen=True)
class Actor:
    """Who asks for a change: a seller (through a user or an API key) or an admin."""

    role: ActorRole
    user: User | None = None
    api_key: ApiKey | None = None
    seller: Seller | None = None

    @classmethod
    def seller_user(cls, user: User) -> "Actor":
        return cls(role=ActorRole.SELLER, user=user, seller=user.seller)

    @classmethod
    def seller_api_key(cls, api_key: ApiKey) -> "Actor":
        return cls(role=ActorRole.SELLER, api_key=api_key, seller=api_key.seller)

    @classmethod
    def admin(cls, user: User) -> "Actor":
        return cls(role=ActorRole.ADMIN, user=user)


class Action(models.TextChoices):
    APPROVE_REGISTRATION = "approve_registration", "Approve registration"
    REJECT_REGISTRATION = "reject_registration", "Reject registration"
    SUSPEND = "suspend", "Suspend"
    UNSUSPEND = "unsuspend", "Unsuspend"
    WITHDRAW = "withdraw", "Withdraw"
    CANCEL_WITHDRAW = "cancel_withdraw", "Cancel Withdraw"
    APPROVE_WITHDRAWAL = "approve_withdrawal", "Approve withdrawal"
    REJECT_WITHDRAWAL = "reject_withdrawal", "Reject withdrawal"


@dataclass(frozen=True)
class Transition:
    by: ActorRole
    from_statuses: tuple[RegistrationStatus, ...]
    # None: back to the status the withdrawal came from.
    to: RegistrationStatus | None
    needs_reason: bool = False


# The registration state table. A new registration (from no status) is `registration_create`:
# approved, or under_review when the campaign requires review.
TRANSITIONS: dict[Action, Transition] = {
    Action.APPROVE_REGISTRATION: Transition(ActorRole.ADMIN, (S.UNDER_REVIEW,), S.APPROVED),
    Action.REJECT_REGISTRATION: Transition(
        ActorRole.ADMIN, (S.UNDER_REVIEW,), S.REJECTED, needs_reason=True
    ),
    Action.SUSPEND: Transition(ActorRole.ADMIN, (S.APPROVED,), S.SUSPENDED, needs_reason=True),
    Action.UNSUSPEND: Transition(ActorRole.ADMIN, (S.SUSPENDED,), S.APPROVED),
    Action.WITHDRAW: Transition(
        ActorRole.SELLER, (S.APPROVED, S.SUSPENDED), S.WITHDRAW_UNDER_REVIEW
    ),
    Action.CANCEL_WITHDRAW: Transition(ActorRole.SELLER, (S.WITHDRAW_UNDER_REVIEW,), None),
    Action.APPROVE_WITHDRAWAL: Transition(ActorRole.ADMIN, (S.WITHDRAW_UNDER_REVIEW,), S.EXPIRED),
    Action.REJECT_WITHDRAWAL: Transition(
        ActorRole.ADMIN, (S.WITHDRAW_UNDER_REVIEW,), None, needs_reason=True
    ),
}


def _words(statuses) -> str:
    labels = [f"“{RegistrationStatus(s).label}”" for s in statuses]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def _record(
    *,
    registration: Registration,
    from_status: str,
    actor: Actor,
    reason: str,
    now: datetime,
) -> RegistrationEvent:
    return RegistrationEvent.objects.create(
        registration=registration,
        from_status=from_status,
        to_status=registration.status,
        actor_role=actor.role,
        actor_user=actor.user,
        actor_api_key=actor.api_key,
        reason=reason,
        occurred_at=now,
    )


def registration_transition(
    *,
    registration_id: int,
    action: Action,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Registration:
    """Move a registration by the state table, or refuse and change nothing.

    The row is locked first, so two requests racing for one transition make one: the
    second finds the status already moved and is refused.
    """
    rule = TRANSITIONS[Action(action)]
    now = now or timezone.now()
    reason = (reason or "").strip()
    with transaction.atomic():
        registration = (
            Registration.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .get(pk=registration_id)
        )
        if actor.role == ActorRole.SELLER and registration.seller_id != actor.seller.pk:
            # Another seller's registration does not exist for this one.
            raise Registration.DoesNotExist
        label = Action(action).label
        if actor.role != rule.by:
            who = "the seller" if rule.by == ActorRole.SELLER else "an admin"
            raise RegistrationRefused(f"{label} is done by {who}.")
        if registration.status not in rule.from_statuses:
            raise RegistrationRefused(
                f"{label} is not possible: the registration is "
                f"“{registration.get_status_display()}”, and {label.lower()} needs "
                f"{_words(rule.from_statuses)}."
            )
        if rule.needs_reason and not reason:
            raise RegistrationInvalid(
                f"{label} needs a reason, which the seller will see.", field="reason"
            )
        from_status = registration.status
        to_status = rule.to or registration.previous_status
        registration.status = to_status
        registration.previous_status = from_status if to_status == S.WITHDRAW_UNDER_REVIEW else ""
        registration.status_changed_at = now
        registration.save(update_fields=["status", "previous_status", "status_changed_at"])
        _record(
            registration=registration,
            from_status=from_status,
            actor=actor,
            reason=reason,
            now=now,
        )
    return registration


def registration_create(
    *,
    seller: Seller,
    campaign: Campaign,
    agree_to_terms: bool,
    actor: Actor,
    terms_version: int | None = None,
    now: datetime | None = None,
) -> Registration:
    """Register a seller for a campaign: approved at once, or under review if it needs it."""
    now = now or timezone.now()
    if actor.role != ActorRole.SELLER or actor.seller.pk != seller.pk:
        raise RegistrationRefused("Only the seller registers for a campaign.")
    if agree_to_terms is not True:
        raise RegistrationInvalid(
            "Tick “I have read and agree to the Terms and Conditions” to register.",
            field="agree_to_terms",
        )
    with transaction.atomic():
        campaign = Campaign.objects.get(pk=campaign.pk)
        window = campaign_window(campaign=campaign, at=now)
        if not window.is_open:
            raise RegistrationRefused(window.refusal)
        if terms_version is not None and terms_version != campaign.terms_version:
            raise RegistrationRefused(
                f"The terms changed to version {campaign.terms_version} since you read "
                f"version {terms_version}: read them again before you agree."
            )
        live = Registration.objects.filter(
            seller=seller, campaign=campaign, status__in=LIVE_STATUSES
        ).first()
        if live is not None:
            raise RegistrationRefused(_already_registered(live))
        status = S.UNDER_REVIEW if campaign.requires_review else S.APPROVED
        try:
            with transaction.atomic():
                registration = Registration.objects.create(
                    seller=seller,
                    campaign=campaign,
                    status=status,
                    terms_version=campaign.terms_version,
                    registered_at=now,
                    agreed_by=actor.user,
                    agreed_via_api_key=actor.api_key,
                    status_changed_at=now,
                )
        except IntegrityError as exc:
            # Another request registered the same seller a moment ago.
            live = Registration.objects.filter(
                seller=seller, campaign=campaign, status__in=LIVE_STATUSES
            ).first()
            message = _already_registered(live) if live else "Registration failed; try again."
            raise RegistrationRefused(message) from exc
        _record(registration=registration, from_status="", actor=actor, reason="", now=now)
    return registration


def _already_registered(live: Registration) -> str:
    return (
        f"You are already registered for “{live.campaign.name}” (registration {live.pk}, "
        f"“{live.get_status_display()}”). You can register again once it is expired or rejected."
    )


@transaction.atomic
def campaign_save(*, campaign: Campaign) -> Campaign:
    """Save a campaign. When its terms text changes, the terms version rises and the new
    text is kept, so that every registration can say what it agreed to."""
    if not (campaign.terms or "").strip():
        raise CampaignError("A campaign needs its terms and conditions.")
    current = (
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first() if campaign.pk else None
    )
    terms_changed = current is None or current.terms != campaign.terms
    campaign.terms_version = (current.terms_version if current else 0) + (1 if terms_changed else 0)
    campaign.save()
    if terms_changed:
        CampaignTermsVersion.objects.create(
            campaign=campaign, version=campaign.terms_version, text=campaign.terms
        )
    return campaign


def validate_rate_start(effective_from: datetime, *, now: datetime | None = None) -> None:
    """A new rate takes effect from now on: an earlier start would change the fee of orders
    placed before it, and a change never rewrites past fees."""
    now = now or timezone.now()
    if effective_from < now - RATE_START_SKEW:
        raise CampaignError(
            "A new rate takes effect from now on: past orders keep the rate of their time."
        )


# Room for the seconds between opening the form and saving it.
RATE_START_SKEW = timedelta(minutes=10)


def campaign_add_rate(
    *,
    campaign: Campaign,
    rate: Decimal | str,
    effective_from: datetime,
    created_by: User | None = None,
    now: datetime | None = None,
    first: bool = False,
) -> CampaignRate:
    """Add a service fee rate from an instant on (now or later; a new campaign's first rate
    from its opening). Past fees keep the rate of their time."""
    try:
        rate = parse_rate(rate)
    except ValueError as exc:
        raise CampaignError(str(exc)) from exc
    if not first:
        validate_rate_start(effective_from, now=now)
    if CampaignRate.objects.filter(campaign=campaign, effective_from=effective_from).exists():
        raise CampaignError("A rate already takes effect at that instant; pick another.")
    return CampaignRate.objects.create(
        campaign=campaign, rate=rate, effective_from=effective_from, created_by=created_by
    )


@transaction.atomic
def campaign_create(
    *,
    slug: str,
    name: str,
    fee_rate: Decimal | str,
    terms: str,
    summary: str = "",
    details: str = "",
    requires_review: bool = False,
    is_published: bool = True,
    registration_opens_at: datetime | None = None,
    registration_closes_at: datetime | None = None,
    created_by: User | None = None,
    now: datetime | None = None,
) -> Campaign:
    """A campaign with its first rate (in force from its registration opening on)."""
    now = now or timezone.now()
    if Campaign.objects.filter(slug=slug).exists():
        raise CampaignError(f"A campaign with the slug {slug!r} exists already.")
    opens = registration_opens_at or now
    if registration_closes_at is not None and registration_closes_at <= opens:
        raise CampaignError("Registration must close after it opens.")
    campaign = campaign_save(
        campaign=Campaign(
            slug=slug,
            name=name,
            summary=summary,
            details=details,
            terms=terms,
            requires_review=requires_review,
            is_published=is_published,
            registration_opens_at=opens,
            registration_closes_at=registration_closes_at,
        )
    )
    campaign_add_rate(
        campaign=campaign, rate=fee_rate, effective_from=opens, created_by=created_by, first=True
    )
    return campaign
