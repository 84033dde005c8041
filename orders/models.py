from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from sellers.models import Seller

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class OrderStatus(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    RETURNED = "returned", "Returned"
    CANCELLED = "cancelled", "Cancelled"
    PAYMENT_FAILED = "payment_failed", "Payment failed"


class FulfillmentChannel(models.TextChoices):
    ORDER_CENTER = "order_center", "Order Center"
    SELLER = "seller", "Seller"


def fee_base(net_product_price: Decimal, seller_funded_discount: Decimal) -> Decimal:
    """What the buyer paid for the products: the base of the fee and of GMV, and all that a
    return refunds."""
    return net_product_price - seller_funded_discount


class Order(models.Model):
    """A seller's order, identified by the seller's own external id.

    Its status and step times move only through `orders.services`, which records an event
    for each step and runs the fee and cashback effects of that step.
    """

    # No index of its own: every index of the table starts with the seller.
    seller = models.ForeignKey(
        Seller, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    external_id = models.CharField(max_length=64)
    placed_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    net_product_price = models.DecimalField(**AMOUNT)
    seller_funded_discount = models.DecimalField(**AMOUNT, default=Decimal("0.00"))
    bonus_cashback_voucher = models.BooleanField(default=False)
    campaign_slug = models.CharField(
        max_length=64, blank=True, help_text="The campaign whose voucher was used, if named."
    )
    fulfillment_channel = models.CharField(max_length=16, choices=FulfillmentChannel.choices)
    tracking_number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=OrderStatus.choices)
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True, help_text="Delivery confirmed.")
    returned_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    payment_failed_at = models.DateTimeField(null=True, blank=True)
    refunded_amount = models.DecimalField(**AMOUNT, default=Decimal("0.00"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-pk"]
        indexes = [
            # The Seller Center's list, newest first, and its keyset pages.
            models.Index(fields=["seller", "-placed_at", "-id"], name="order_seller_placed"),
            # The API's updated_since filter.
            models.Index(fields=["seller", "updated_at", "id"], name="order_seller_updated"),
            # A seller's orders delivered in a period: the month's GMV so far (Order Cashback
            # Dashboard) reads this month's deliveries, not the seller's whole history.
            models.Index(
                fields=["seller", "delivered_at"],
                condition=Q(delivered_at__isnull=False),
                name="order_seller_delivered",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["seller", "external_id"], name="order_external_id"),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(fulfillment_channel__in=FulfillmentChannel.values),
                name="order_channel_valid",
            ),
            models.CheckConstraint(
                condition=Q(net_product_price__gte=0)
                & Q(seller_funded_discount__gte=0)
                & Q(seller_funded_discount__lte=F("net_product_price")),
                name="order_amounts_valid",
            ),
            # Refunds never exceed what the buyer paid for the products.
            # Rounded to cents, so that SQLite's floating point agrees with PostgreSQL.
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0)
                & Q(
                    refunded_amount__lte=Round(
                        F("net_product_price") - F("seller_funded_discount"), 2
                    )
                ),
                name="order_refunds_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(shipped_at__isnull=True) | ~Q(tracking_number=""),
                name="order_shipped_has_tracking_number",
            ),
            # Each status has the times of the steps that lead to it.
            models.CheckConstraint(
                condition=~Q(status__in=["paid", "shipped", "delivered", "returned"])
                | Q(paid_at__isnull=False),
                name="order_paid_has_paid_at",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["shipped", "delivered", "returned"])
                | Q(shipped_at__isnull=False),
                name="order_shipped_has_shipped_at",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["delivered", "returned"]) | Q(delivered_at__isnull=False),
                name="order_delivered_has_delivered_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | Q(returned_at__isnull=False),
                name="order_returned_has_returned_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | Q(cancelled_at__isnull=False),
                name="order_cancelled_has_cancelled_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="payment_failed") | Q(payment_failed_at__isnull=False),
                name="order_payment_failed_has_its_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.seller_id})"

    @property
    def fee_base(self) -> Decimal:
        return fee_base(self.net_product_price, self.seller_funded_discount)

    @property
    def refundable_amount(self) -> Decimal:
        return self.fee_base - self.refunded_amount


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**AMOUNT)

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="order_item_position"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0) & Q(unit_price__gte=0), name="order_item_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class EventType(models.TextChoices):
    CREATED = "created", "Created"
    PAID = "paid", "Paid"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    CANCELLED = "cancelled", "Cancelled"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    REFUNDED = "refunded", "Refunded"


class OrderEvent(models.Model):
    """One applied step of an order, never edited. `created` holds the creation input, so
    that a repeated creation can be told from a different one."""

    # Indexed by (order, id), below, not by the order alone.
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    event_id = models.CharField(
        max_length=100, blank=True, help_text="The client's id of the event, where it gave one."
    )
    type = models.CharField(max_length=16, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    amount = models.DecimalField(
        **AMOUNT, null=True, blank=True, help_text="Refunds: the amount refunded."
    )
    payload = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["order", "occurred_at", "pk"]
        constraints = [
            # Unique as the id is: the pair is what a fee entry's key points at, so that
            # the entry's event is one of its order's (fees.FeeEntry). It is the index of
            # an order's events too.
            models.UniqueConstraint(fields=["order", "id"], name="order_event_of_its_order"),
            models.UniqueConstraint(
                fields=["order", "event_id"],
                condition=~Q(event_id=""),
                name="order_event_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(type__in=EventType.values), name="order_event_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="order_event_amount_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M}"
