import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class Plan(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    YEARLY = "yearly", "Yearly"


class Seller(models.Model):
    """A shop of the marketplace, the owner of everything a seller sees or changes."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_sellers",
        limit_choices_to={"is_staff": True},
        help_text="The staff member whose name and e-mail the Seller Center shows.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who logs in: a seller's user, staff, or both. At most one seller each."""

    seller = models.ForeignKey(
        Seller,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text="The shop this user works for in the Seller Center. Empty for staff only.",
    )


class PlanChange(models.Model):
    """The plan history of a seller, append-only.

    The plan in force at an instant is the one of the latest change effective at or before
    it; the first change also covers the time before it, so that orders backfilled from
    before the seller joined have a plan. `sellers.selectors.seller_plan_at` reads it.
    """

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="plan_changes")
    plan = models.CharField(max_length=16, choices=Plan.choices)
    effective_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seller", "-effective_at", "-pk"]
        indexes = [models.Index(fields=["seller", "effective_at"], name="plan_seller_effective")]
        constraints = [
            models.CheckConstraint(
                condition=Q(plan__in=Plan.values), name="plan_change_plan_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seller}: {self.plan} from {self.effective_at:%Y-%m-%d %H:%M}"


class ApiKey(models.Model):
    """A seller's key for the REST API. Only its SHA-256 is stored; the key is shown once."""

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(
        max_length=16, help_text="The first characters of the key, to recognise it."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_of(raw_key: str) -> str:
        # Keys are 256 random bits, so a fast hash is as safe here as a slow one, and the
        # lookup stays an indexed equality.
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
