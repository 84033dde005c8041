from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from sellers.models import ApiKey, Seller


class Campaign(models.Model):
    """A Bonus Cashback Program campaign that sellers register for."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    details = models.TextField(blank=True)
    terms = models.TextField(
        "terms and conditions",
        help_text="Changing the text raises the terms version; sellers agree to a version.",
    )
    terms_version = models.PositiveIntegerField(default=0, editable=False)
    registration_opens_at = models.DateTimeField()
    registration_closes_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: registration stays open."
    )
    requires_review = models.BooleanField(
        default=False, help_text="New registrations wait for an admin's approval."
    )
    is_published = models.BooleanField("published", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-registration_opens_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(registration_closes_at__isnull=True)
                | Q(registration_closes_at__gt=F("registration_opens_at")),
                name="campaign_window_closes_after_it_opens",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignTermsVersion(models.Model):
    """Every version of a campaign's terms, so that what a seller agreed to can be read."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="terms_versions")
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="terms_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} terms v{self.version}"


class CampaignRate(models.Model):
    """A campaign's service fee rate from an instant on. Rows are added, never changed.

    The rate in force at an instant is the latest one effective at or before it; the first
    rate also covers the time before it.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="rates")
    rate = models.DecimalField(
        "service fee rate (%)", max_digits=7, decimal_places=4, help_text="3 means 3 %."
    )
    effective_from = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "effective_from"], name="campaign_rate_one_per_instant"
            ),
            models.CheckConstraint(
                condition=Q(rate__gte=Decimal("0")) & Q(rate__lte=Decimal("100")),
                name="campaign_rate_between_0_and_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rate} % from {self.effective_from:%Y-%m-%d %H:%M}"


class RegistrationStatus(models.TextChoices):
    UNDER_REVIEW = "under_review", "Under Review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SUSPENDED = "suspended", "Suspended"
    WITHDRAW_UNDER_REVIEW = "withdraw_under_review", "Withdraw Under Review"
    EXPIRED = "expired", "Expired"


# A seller has at most one of these per campaign at a time.
LIVE_STATUSES = (
    RegistrationStatus.UNDER_REVIEW,
    RegistrationStatus.APPROVED,
    RegistrationStatus.SUSPENDED,
    RegistrationStatus.WITHDRAW_UNDER_REVIEW,
)
# The statuses a withdrawal can come from, and so return to.
WITHDRAWABLE_STATUSES = (RegistrationStatus.APPROVED, RegistrationStatus.SUSPENDED)


class Registration(models.Model):
    """A seller's registration for a campaign. Its status moves only through
    `cashback.services.registration_transition`, which appends a history row each time."""

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="registrations")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="registrations")
    status = models.CharField(max_length=32, choices=RegistrationStatus.choices)
    previous_status = models.CharField(
        max_length=32,
        choices=RegistrationStatus.choices,
        blank=True,
        default="",
        help_text="While a withdrawal is under review: the status it came from.",
    )
    terms_version = models.PositiveIntegerField()
    registered_at = models.DateTimeField(help_text="When the seller agreed to the terms.")
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The Seller Center user who agreed, when registered there.",
    )
    agreed_via_api_key = models.ForeignKey(
        ApiKey,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The API key that agreed, when registered through the API.",
    )
    status_changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-registered_at", "-pk"]
        indexes = [models.Index(fields=["seller", "campaign"], name="registration_seller_campaign")]
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "campaign"],
                condition=Q(status__in=LIVE_STATUSES),
                name="registration_one_live_per_seller_and_campaign",
            ),
            models.CheckConstraint(
                condition=Q(status__in=RegistrationStatus.values),
                name="registration_status_valid",
            ),
            # The status a withdrawal came from is kept exactly while it is under review.
            models.CheckConstraint(
                condition=(
                    Q(
                        status=RegistrationStatus.WITHDRAW_UNDER_REVIEW,
                        previous_status__in=WITHDRAWABLE_STATUSES,
                    )
                    | (~Q(status=RegistrationStatus.WITHDRAW_UNDER_REVIEW) & Q(previous_status=""))
                ),
                name="registration_previous_status_only_while_withdrawing",
            ),
            models.CheckConstraint(
                condition=~(Q(agreed_by__isnull=False) & Q(agreed_via_api_key__isnull=False)),
                name="registration_agreed_one_way",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seller} in {self.campaign} ({self.get_status_display()})"


class ActorRole(models.TextChoices):
    SELLER = "seller", "Seller"
    ADMIN = "admin", "Admin"


class RegistrationEvent(models.Model):
    """The history of a registration: one row per transition, never edited."""

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="history")
    from_status = models.CharField(
        max_length=32, choices=RegistrationStatus.choices, blank=True, default=""
    )
    to_status = models.CharField(max_length=32, choices=RegistrationStatus.choices)
    actor_role = models.CharField(max_length=16, choices=ActorRole.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["registration", "occurred_at", "pk"]
        indexes = [
            models.Index(fields=["registration", "occurred_at"], name="registration_event_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(to_status__in=RegistrationStatus.values),
                name="registration_event_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.from_status or '(new)'} → {self.to_status} at {self.occurred_at:%Y-%m-%d %H:%M}"
        )

    @property
    def actor_display(self) -> str:
        if self.actor_user_id:
            return f"{self.get_actor_role_display()} {self.actor_user}"
        if self.actor_api_key_id:
            return f"{self.get_actor_role_display()} via API key {self.actor_api_key.prefix}…"
        return self.get_actor_role_display()
