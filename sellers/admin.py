from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from sellers.models import ApiKey, PlanChange, Seller, User
from sellers.selectors import sellers_with_plan_at
from sellers.services import (
    SellerError,
    api_key_revoke,
    seller_change_plan,
    validate_plan_change_effective_at,
)


class PlanChangeForm(forms.ModelForm):
    def clean_effective_at(self):
        effective_at = self.cleaned_data["effective_at"]
        # A new seller's first plan is its start: it also covers the time before it.
        if self.instance.pk is None and self.instance.seller_id is not None:
            try:
                validate_plan_change_effective_at(effective_at)
            except SellerError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return effective_at


class PlanChangeInline(admin.TabularInline):
    """The plan history: new changes can be added; what is recorded is never edited."""

    model = PlanChange
    form = PlanChangeForm
    fields = ("plan", "effective_at", "reason", "changed_by", "created_at")
    readonly_fields = ("changed_by", "created_at")
    extra = 0
    can_delete = False
    verbose_name = "plan change"
    verbose_name_plural = "Plan history (the plan in force is the latest one already effective)"

    def get_min_num(self, request, obj=None, **kwargs) -> int:
        return 1 if obj is None else 0

    def get_formset(self, request, obj=None, **kwargs):
        kwargs.setdefault("validate_min", True)
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["effective_at"].initial = timezone.now
        return formset

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class UserInline(admin.TabularInline):
    model = User
    fields = ("username", "email", "first_name", "last_name", "is_active", "last_login")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "Seller Center users (add them under Users)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "plan_now", "account_manager", "created_at")
    list_select_related = ("account_manager",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("account_manager",)
    readonly_fields = ("created_at",)
    inlines = (PlanChangeInline, UserInline, ApiKeyInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return sellers_with_plan_at(at=timezone.now(), queryset=super().get_queryset(request))

    @admin.display(description="Plan now", ordering="plan")
    def plan_now(self, obj: Seller) -> str:
        return obj.plan

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not PlanChange:
            return super().save_formset(request, form, formset, change)
        for change_row in formset.save(commit=False):
            if not change:  # the first plan of a new seller
                change_row.changed_by = request.user
                change_row.reason = change_row.reason or "Initial plan"
                change_row.save()
                continue
            seller_change_plan(
                seller=form.instance,
                plan=change_row.plan,
                effective_at=change_row.effective_at,
                changed_by=request.user,
                reason=change_row.reason,
            )

    def has_delete_permission(self, request, obj=None) -> bool:
        # A shop's orders, fees and wallet hang off it: shops are never deleted.
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "seller", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active")
    list_select_related = ("seller",)
    search_fields = ("username", "email", "first_name", "last_name", "seller__name")
    autocomplete_fields = ("seller",)
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Seller Center", {"fields": ("seller",)}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Seller Center", {"fields": ("seller", "email")}),
    )


@admin.register(PlanChange)
class PlanChangeAdmin(admin.ModelAdmin):
    list_display = ("seller", "plan", "effective_at", "changed_by", "reason", "created_at")
    list_filter = ("plan",)
    list_select_related = ("seller", "changed_by")
    search_fields = ("seller__name", "seller__slug")
    date_hierarchy = "effective_at"

    def has_add_permission(self, request) -> bool:
        return False  # added from the seller's page, where the history stands beside it

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return (("active", "Active"), ("revoked", "Revoked"))

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "seller", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (ApiKeyStatusFilter,)
    list_select_related = ("seller",)
    search_fields = ("name", "prefix", "seller__name", "seller__slug")
    fields = (
        "seller",
        "name",
        "prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )
    readonly_fields = fields
    actions = ("revoke_keys",)

    def has_add_permission(self, request) -> bool:
        return False  # sellers create keys, so that only they ever see one

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet) -> None:
        revoked, skipped = [], []
        for api_key in queryset.order_by("pk"):
            if api_key_revoke(api_key=api_key, revoked_by=request.user):
                revoked.append(str(api_key))
            else:
                skipped.append(f"{api_key} (revoked already)")
        if revoked:
            self.message_user(request, f"Revoked: {', '.join(revoked)}.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped: {', '.join(skipped)}.", messages.WARNING)
