from django.contrib import admin

from core.admin import ReadOnlyAdminMixin as ReadOnly
from fees.models import FeeEntry, SettledRecord, SettledRecordLine


@admin.register(FeeEntry)
class FeeEntryAdmin(ReadOnly, admin.ModelAdmin):
    """Fee entries are written by the order steps, never by hand; a correction is a new
    entry."""

    list_display = ("order", "seller", "kind", "amount", "currency", "rate", "occurred_at")
    list_filter = ("kind", "currency", "campaign")
    list_select_related = ("order", "seller")
    search_fields = ("=order__external_id", "seller__name", "seller__slug")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in FeeEntry._meta.fields]


class LineInline(ReadOnly, admin.TabularInline):
    model = SettledRecordLine
    fields = ("entry", "kind", "amount", "order")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("entry__order")

    @admin.display(description="kind")
    def kind(self, line):
        return line.entry.kind

    @admin.display(description="amount")
    def amount(self, line):
        return line.entry.amount

    @admin.display(description="order")
    def order(self, line):
        return line.entry.order.external_id


@admin.register(SettledRecord)
class SettledRecordAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "seller",
        "currency",
        "period_start",
        "period_end",
        "orders_count",
        "fees_charged",
        "fees_refunded",
        "net",
    )
    list_filter = ("currency", "period_start")
    list_select_related = ("seller",)
    search_fields = ("seller__name", "seller__slug")
    readonly_fields = [f.name for f in SettledRecord._meta.fields]
    inlines = (LineInline,)
