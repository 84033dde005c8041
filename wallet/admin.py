from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.admin import ReadOnlyAdminMixin
from core.money import MAX_AMOUNT
from wallet.models import Wallet, WalletEntry
from wallet.services import ADJUSTMENT_ABOVE_MAX, WalletError, wallet_adjust


class AdjustmentForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=len(MAX_AMOUNT.as_tuple().digits),
        decimal_places=2,
        max_value=MAX_AMOUNT,
        min_value=-MAX_AMOUNT,
        # One message for an amount too large either way, however the field finds it so.
        error_messages=dict.fromkeys(
            ("max_value", "min_value", "max_digits", "max_whole_digits"), ADJUSTMENT_ABOVE_MAX
        ),
        help_text="USD. Positive to credit the wallet, negative to debit it.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Required. The seller sees it beside the entry.",
    )


class EntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WalletEntry
    fields = ("created_at", "kind", "amount", "balance_after", "reference", "created_by", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-created_at", "-pk")
    verbose_name_plural = "Entries (never edited; a correction is a new entry)"


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ("seller", "balance", "currency", "updated_at")
    list_select_related = ("seller",)
    search_fields = ("seller__name", "seller__slug")
    readonly_fields = ("seller", "currency", "balance", "updated_at")
    inlines = (EntryInline,)
    change_form_template = "admin/wallet/wallet/change_form.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        adjust = self.admin_site.admin_view(self.adjust_view)
        return [path("<int:pk>/adjust/", adjust, name="wallet_wallet_adjust"), *super().get_urls()]

    def adjust_view(self, request, pk: int):
        """Post an adjustment: an amount and a reason, recorded with the staff user."""
        if not request.user.has_perm("wallet.add_walletentry"):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet.objects.select_related("seller"), pk=pk)
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = wallet_adjust(
                    seller_id=wallet.seller_id,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    staff=request.user,
                )
            except WalletError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(
                    request,
                    f"Posted {entry.amount} USD to {wallet.seller}: the balance is now "
                    f"{entry.balance_after} USD.",
                    messages.SUCCESS,
                )
                if request.user.has_perm("wallet.view_wallet"):
                    return redirect(reverse("admin:wallet_wallet_change", args=[wallet.pk]))
                return redirect(reverse("admin:index"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust the wallet of {wallet.seller}",
            "wallet": wallet,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/wallet/wallet/adjust.html", context)


@admin.register(WalletEntry)
class WalletEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Entries are posted by the crediting and, for adjustments, from a wallet's page with a
    reason; none is ever edited."""

    list_display = (
        "wallet",
        "kind",
        "amount",
        "balance_after",
        "reference",
        "created_at",
        "created_by",
    )
    list_filter = ("kind",)
    list_select_related = ("wallet__seller", "created_by")
    search_fields = ("=reference", "wallet__seller__name", "wallet__seller__slug")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in WalletEntry._meta.fields]
