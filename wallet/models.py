from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.money import TOTAL
from sellers.models import Seller


class Wallet(models.Model):
    """A seller's wallet, in USD. Its balance is the sum of its entries, kept here under a
    row lock in the same transaction as each entry, and never below zero."""

    seller = models.OneToOneField(Seller, on_delete=models.PROTECT, related_name="wallet")
    currency = models.CharField(max_length=3, default="USD")
    balance = models.DecimalField(**TOTAL, default=Decimal("0.00"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.seller}: {self.balance} {self.currency}"


class EntryKind(models.TextChoices):
    CASHBACK = "cashback", "Cashback"
    ADJUSTMENT = "adjustment", "Adjustment"


class WalletEntry(models.Model):
    """One movement of a wallet, never edited: a correction is a new entry."""

    # Found by wallet through wallet_entry_list, which starts with it.
    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = models.DecimalField(**TOTAL, help_text="Signed: credits are positive.")
    balance_after = models.DecimalField(**TOTAL)
    reference = models.CharField(
        max_length=100,
        blank=True,
        help_text="What it is for, unique where given: the same thing is never posted twice.",
    )
    description = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # wallet_entry_created_by: adjustments only
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        # The ledger's order is the order of posting.
        ordering = ["-pk"]
        verbose_name_plural = "wallet entries"
        indexes = [
            models.Index(fields=["wallet", "-id"], name="wallet_entry_list"),
            # Only adjustments name a user: the index leaves out the many cashback entries.
            models.Index(
                fields=["created_by"],
                condition=Q(created_by__isnull=False),
                name="wallet_entry_created_by",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"], condition=~Q(reference=""), name="wallet_entry_reference"
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="wallet_entry_balance_never_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=EntryKind.values), name="wallet_entry_kind_valid"
            ),
            # An adjustment names the staff member who made it and why.
            models.CheckConstraint(
                condition=~Q(kind="adjustment") | (Q(created_by__isnull=False) & ~Q(reason="")),
                name="wallet_adjustment_has_author_and_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} → {self.balance_after}"
