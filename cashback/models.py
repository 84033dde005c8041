from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from core.money import TOTAL
from orders.models import Order
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
            # What a fee entry's foreign key points at (fees.models.FeeEntry): the id is
            # unique already; with the seller and the campaign a row of another table can
            # be held to all three.
            models.UniqueConstraint(
                fields=["id", "seller", "campaign"], name="registration_id_seller_campaign"
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


# Order Cashback ------------------------------------------------------------------------------


# No currency is worth near this many US dollars (the dearest, KWD, is worth about 3.3, and
# gold, XAU, some thousands): a rate above it is a mistake, typically a rate given the wrong
# way round. It bounds the GMV of an order, and so what every stored total must hold.
MAX_FX_RATE = Decimal("10000")


class FxRate(models.Model):
    """How many US dollars one unit of a currency was worth on a day (platform time zone)."""

    currency = models.CharField(max_length=3)
    date = models.DateField()
    rate_to_usd = models.DecimalField(max_digits=18, decimal_places=8)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "currency"]
        verbose_name = "FX rate"
        constraints = [
            models.UniqueConstraint(fields=["currency", "date"], name="fx_rate_one_a_day"),
            models.CheckConstraint(
                condition=Q(rate_to_usd__gt=0, rate_to_usd__lte=MAX_FX_RATE),
                name="fx_rate_plausible",
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate_to_usd} USD on {self.date}"


class TierSchedule(models.Model):
    """A version of the Order Cashback tiers and the yearly-plan bonus, in force from the
    first day of `effective_month` until the next version's."""

    effective_month = models.DateField(unique=True, help_text="The first day of a month.")
    yearly_bonus = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=Decimal("0.5"),
        help_text="Percentage points added for yearly-plan sellers, on a tier above 0 %.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_month"]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_month__day=1), name="tier_schedule_starts_a_month"
            ),
            models.CheckConstraint(
                condition=Q(yearly_bonus__gte=0), name="tier_schedule_bonus_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Tiers from {self.effective_month:%Y-%m}"


class Tier(models.Model):
    """From `threshold_usd` of monthly fulfilled GMV up to the next tier's, `rate` percent."""

    schedule = models.ForeignKey(TierSchedule, on_delete=models.CASCADE, related_name="tiers")
    threshold_usd = models.DecimalField(max_digits=14, decimal_places=2)
    rate = models.DecimalField(max_digits=7, decimal_places=4)

    class Meta:
        ordering = ["schedule", "threshold_usd"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "threshold_usd"], name="tier_threshold"),
            models.CheckConstraint(
                condition=Q(threshold_usd__gte=0) & Q(rate__gte=0) & Q(rate__lte=100),
                name="tier_values_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.threshold_usd} USD: {self.rate} %"


class MonthStatus(models.TextChoices):
    WAITING_FX = "waiting_fx", "Waiting for an FX rate"
    CLOSED = "closed", "Closed"


class CashbackMonth(models.Model):
    """A seller's Order Cashback month once its close was attempted: closed (final, never
    recomputed) or waiting for an FX rate."""

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="cashback_months")
    month = models.DateField(help_text="The first day of the month.")
    status = models.CharField(max_length=16, choices=MonthStatus.choices)
    waiting_for = models.CharField(max_length=200, blank=True)
    plan = models.CharField(max_length=16, blank=True)
    orders_count = models.PositiveIntegerField(default=0)
    gmv_usd = models.DecimalField(**TOTAL, default=Decimal("0.00"))
    tier_rate = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal("0"))
    bonus_rate = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal("0"))
    rate = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal("0"))
    total = models.DecimalField(**TOTAL, default=Decimal("0.00"))
    closed_at = models.DateTimeField(null=True, blank=True)
    # What became of its accruals, written in the same transactions as they are (the close,
    # late additions, crediting), so that a statement is one row however many orders it
    # has: pending + credited + lowered + voided = total + late.
    pending_total = models.DecimalField(
        **TOTAL,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
        help_text="Still to credit.",
    )
    credited_total = models.DecimalField(
        **TOTAL,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
        help_text="Paid to the wallet.",
    )
    lowered_total = models.DecimalField(
        **TOTAL,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
        help_text="Taken off credited shares for refunds since the close.",
    )
    voided_total = models.DecimalField(
        **TOTAL,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
        help_text="Shares of orders returned before they were due.",
    )
    late_total = models.DecimalField(
        **TOTAL,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
        help_text="Accrued after the close, for orders known late, at the month's rate.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["seller", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["seller", "month"], name="cashback_month_once"),
            models.CheckConstraint(
                condition=Q(status__in=MonthStatus.values), name="cashback_month_status_valid"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="cashback_month_first_day"),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False),
                name="cashback_month_closed_at",
            ),
            models.CheckConstraint(
                condition=Q(gmv_usd__gte=0) & Q(total__gte=0), name="cashback_month_positive"
            ),
            models.CheckConstraint(
                condition=Q(pending_total__gte=0)
                & Q(credited_total__gte=0)
                & Q(lowered_total__gte=0)
                & Q(voided_total__gte=0)
                & Q(late_total__gte=0),
                name="cashback_month_totals_positive",
            ),
            models.CheckConstraint(
                # rounded: SQLite keeps decimals as binary floats
                condition=Q(
                    pending_total=Round(
                        F("total")
                        + F("late_total")
                        - F("credited_total")
                        - F("lowered_total")
                        - F("voided_total"),
                        2,
                    )
                ),
                name="cashback_month_totals_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seller} {self.month:%Y-%m} ({self.status})"


class MonthSoFar(models.Model):
    """A seller's month so far, summed by the hourly roll-up over its counting orders
    delivered before `through`: the dashboard and the API's summary add the orders
    delivered since, so that a large seller's month is read from one row and an hour of
    orders. An order changed or known after the roll-up, but delivered before it, counts
    from the next roll-up on."""

    # No index of its own: the unique (seller, month) starts with it.
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="+", db_index=False)
    month = models.DateField()
    through = models.DateTimeField(help_text="Orders delivered before this instant.")
    orders_count = models.PositiveIntegerField()
    gmv_usd = models.DecimalField(**TOTAL)
    waiting_count = models.PositiveIntegerField(help_text="Orders waiting for an FX rate.")
    waiting_for = models.CharField(
        max_length=100, blank=True, help_text='The first missing rate, as "EUR on 2026-10-03".'
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "months so far"
        constraints = [
            models.UniqueConstraint(fields=["seller", "month"], name="month_so_far_one_a_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="month_so_far_first_day"),
            models.CheckConstraint(condition=Q(gmv_usd__gte=0), name="month_so_far_gmv_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.seller_id} {self.month:%Y-%m} through {self.through:%Y-%m-%d %H:%M}"


class AccrualStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CREDITED = "credited", "Credited"
    VOIDED = "voided", "Voided"


class Accrual(models.Model):
    """An order's share of its month's cashback, due 30 days after its delivery. Credited
    to the wallet at most once (the wallet entry's reference is unique)."""

    month = models.ForeignKey(CashbackMonth, on_delete=models.PROTECT, related_name="accruals")
    # Found by seller through accrual_seller_month, which starts with it.
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="+", db_index=False)
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="accrual")
    gmv_usd = models.DecimalField(max_digits=16, decimal_places=2)
    amount = models.DecimalField(max_digits=16, decimal_places=2, help_text="The share accrued.")
    refunded_at_close = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="The order's refunds when it was accrued."
    )
    late = models.BooleanField(
        default=False, help_text="Accrued after its month closed, at the month's rate."
    )
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=AccrualStatus.choices, default=AccrualStatus.PENDING
    )
    credited_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_at", "pk"]
        # No index names the status, the credited amount or the resolution time, and the
        # table leaves room in each page (FILLFACTOR, migration 0008): resolving an accrual
        # rewrites its row within its page and none of its indexes. Pending ones are found
        # through PendingAccrual.
        indexes = [models.Index(fields=["seller", "month"], name="accrual_seller_month")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AccrualStatus.values), name="accrual_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(gmv_usd__gte=0), name="accrual_positive"
            ),
            models.CheckConstraint(
                condition=(Q(status="pending") & Q(resolved_at__isnull=True))
                | (~Q(status="pending") & Q(resolved_at__isnull=False)),
                name="accrual_resolved_when_not_pending",
            ),
            models.CheckConstraint(
                condition=~Q(status="credited")
                | (Q(credited_amount__gte=0) & Q(credited_amount__lte=F("amount"))),
                name="accrual_credited_within_share",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} USD for order {self.order_id} ({self.status})"


class PendingAccrual(models.Model):
    """An accrual still pending, and when it falls due: written with it, deleted when
    crediting resolves it. Crediting takes the due ones from here, and the dashboard a
    seller's, so that the accruals need no index on their status (`reconcile` holds the two
    to each other)."""

    accrual = models.OneToOneField(
        Accrual, on_delete=models.PROTECT, primary_key=True, related_name="pending"
    )
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="+", db_index=False)
    due_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["due_at", "accrual"], name="pending_accrual_due"),
            # A seller's pending cashback, soonest due first: the dashboard, and a chunk of
            # sellers' crediting.
            models.Index(fields=["seller", "due_at", "accrual"], name="pending_accrual_seller"),
        ]

    def __str__(self) -> str:
        return f"accrual {self.accrual_id} due {self.due_at:%Y-%m-%d}"
