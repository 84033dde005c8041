from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from orders.models import Order, OrderEvent, OrderItem


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ("position", "sku", "name", "quantity", "unit_price")
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("occurred_at", "type", "amount", "event_id", "received_at", "payload")
    readonly_fields = fields
    ordering = ("occurred_at", "pk")
    verbose_name_plural = "Events (never edited)"


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Orders come from the sellers' systems through the API; here they are read only."""

    list_display = (
        "external_id",
        "seller",
        "status",
        "placed_at",
        "net_product_price",
        "currency",
        "bonus_cashback_voucher",
        "fulfillment_channel",
    )
    list_filter = ("status", "fulfillment_channel", "bonus_cashback_voucher")
    list_select_related = ("seller",)
    search_fields = ("=external_id", "seller__name", "seller__slug")
    raw_id_fields = ("seller",)
    date_hierarchy = "placed_at"
    show_full_result_count = False
    inlines = (OrderItemInline, OrderEventInline)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Order._meta.fields]
