from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from cashback.models import Campaign, Registration
from core.money import TOTAL
from orders.models import Order, OrderEvent
from sellers.models import Seller

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class FeeEntryKind(models.TextChoices):
    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"


class FeeEntry(models.Model):
    """A service fee charged on a delivered order, or refunded on its return. Never edited:
    a correction is a new entry. One per order event; one charge per order."""

    # The seller, the campaign and the registration are held by one foreign key in the
    # database, to the registration's own (id, seller, campaign): a fee is charged to the
    # seller and for the campaign of the registration it is charged under. The order and
    # the order event by another, to the event's own (order, id): an entry's event is one
    # of its order's. Migrations fees/0007 and fees/0008 add them; keys of their own would
    # check the same rows five times over.
    # No index of its own: the index of entries to settle starts with the seller.
    seller = models.ForeignKey(
        Seller,
        on_delete=models.PROTECT,
        related_name="fee_entries",
        db_index=False,
        db_constraint=False,
    )
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="fee_entries", db_constraint=False
    )
    order_event = models.OneToOneField(
        OrderEvent, on_delete=models.PROTECT, related_name="fee_entry", db_constraint=False
    )
    kind = models.CharField(max_length=8, choices=FeeEntryKind.choices)
    amount = models.DecimalField(**AMOUNT, help_text="Always positive; the kind says its sign.")
    currency = models.CharField(max_length=3)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    # Registrations are never deleted, nor their entries looked up by them: no index.
    registration = models.ForeignKey(
        Registration,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    rate = models.DecimalField(max_digits=7, decimal_places=4, help_text="Percent.")
    fee_base = models.DecimalField(
        **AMOUNT, help_text="Net product price less the seller-funded discount."
    )
    refunded_base = models.DecimalField(
        **AMOUNT, null=True, blank=True, help_text="Refunds: the order amount refunded."
    )
    completes_return = models.BooleanField(
        default=False, help_text="Refunds: this refund returned the order in full."
    )
    occurred_at = models.DateTimeField(help_text="Delivery for a charge, the refund for a refund.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        verbose_name_plural = "fee entries"
        indexes = [
            models.Index(fields=["seller", "currency", "occurred_at"], name="fee_entry_to_settle"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(kind="charge"), name="fee_one_charge_per_order"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=FeeEntryKind.values), name="fee_entry_kind_valid"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="fee_entry_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} on {self.order_id}"


class SettledRecord(models.Model):
    """The service fees of one seller, in one currency, for one ended period. Never changes
    once written; an entry that arrives later goes into a later record."""

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="settled_records")
    currency = models.CharField(max_length=3)
    period_start = models.DateField()
    period_end = models.DateField(help_text="The period's last day (inclusive).")
    orders_count = models.PositiveIntegerField()
    fees_charged = models.DecimalField(**TOTAL)
    fees_refunded = models.DecimalField(**TOTAL)
    net = models.DecimalField(**TOTAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "currency", "-pk"]
        indexes = [models.Index(fields=["seller", "-period_start"], name="settled_seller_period")]
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "currency", "period_start"], name="settled_one_per_period"
            ),
            # Rounded to cents, so that SQLite's floating point agrees with PostgreSQL's
            # exact numeric.
            models.CheckConstraint(
                condition=Q(net=Round(F("fees_charged") - F("fees_refunded"), 2)),
                name="settled_net_is_charged_less_refunded",
            ),
            models.CheckConstraint(
                condition=Q(fees_charged__gte=0) & Q(fees_refunded__gte=0),
                name="settled_totals_positive",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="settled_period_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seller} {self.currency} {self.period_start}–{self.period_end}"


class SettledRecordLine(models.Model):
    """An entry settled in a record: each entry is settled once, in one record."""

    # No index of its own: the index on (record, entry) starts with it.
    record = models.ForeignKey(
        SettledRecord, on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    entry = models.OneToOneField(FeeEntry, on_delete=models.PROTECT, related_name="settled_line")

    class Meta:
        ordering = ["record", "entry"]
        indexes = [
            # A record's lines in its order, from any position: View Details pages by it.
            models.Index(fields=["record", "entry"], name="settled_line_record_entry"),
        ]

    def __str__(self) -> str:
        return f"{self.record_id}: {self.entry_id}"
