from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from cashback.models import (
    Accrual,
    Campaign,
    CampaignRate,
    CampaignTermsVersion,
    CashbackMonth,
    FxRate,
    MonthStatus,
    Registration,
    RegistrationEvent,
    Tier,
    TierSchedule,
)
from cashback.order_cashback import fx_rate_problem, validate_tiers
from cashback.selectors import rate_history, rate_in_force
from cashback.services import (
    Action,
    Actor,
    CampaignError,
    RegistrationError,
    campaign_add_rate,
    campaign_save,
    registration_transition,
    validate_rate_start,
)
from core.admin import ReadOnlyAdminMixin
from core.currencies import is_currency
from core.dates import month_start
from core.money import format_rate, parse_rate


class CampaignRateForm(forms.ModelForm):
    def clean_rate(self):
        try:
            return parse_rate(self.cleaned_data["rate"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_effective_from(self):
        effective_from = self.cleaned_data["effective_from"]
        # A new campaign's first rate starts at its opening; later rates from now on.
        if self.instance.pk is None and self.instance.campaign_id is not None:
            try:
                validate_rate_start(effective_from)
            except CampaignError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return effective_from


class CampaignRateInline(admin.TabularInline):
    """Rates are added from an instant on; a recorded rate never changes, so past fees keep
    the rate of their time."""

    model = CampaignRate
    form = CampaignRateForm
    fields = ("rate", "effective_from", "created_by", "created_at")
    readonly_fields = ("created_by", "created_at")
    extra = 0
    can_delete = False
    verbose_name_plural = "Service fee rates (each in force from its instant until the next)"

    def get_min_num(self, request, obj=None, **kwargs) -> int:
        return 1 if obj is None else 0

    def get_formset(self, request, obj=None, **kwargs):
        kwargs.setdefault("validate_min", True)
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["effective_from"].initial = timezone.now
        return formset

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class TermsVersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CampaignTermsVersion
    fields = ("version", "text", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Terms versions (a new one is kept whenever the terms change)"


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "is_published",
        "rate_now",
        "requires_review",
        "registration_opens_at",
        "registration_closes_at",
        "terms_version",
    )
    list_filter = ("is_published", "requires_review")
    search_fields = ("name", "slug", "summary")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("terms_version", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "slug", "summary", "details", "is_published")}),
        ("Terms and Conditions", {"fields": ("terms", "terms_version")}),
        (
            "Registration",
            {"fields": ("registration_opens_at", "registration_closes_at", "requires_review")},
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (CampaignRateInline, TermsVersionInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related(rate_history())

    @admin.display(description="Fee rate now")
    def rate_now(self, obj: Campaign) -> str:
        rate = rate_in_force(obj.rate_history, timezone.now())
        return "—" if rate is None else f"{format_rate(rate)} %"

    def save_model(self, request, obj, form, change) -> None:
        campaign_save(campaign=obj)

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not CampaignRate:
            return super().save_formset(request, form, formset, change)
        for rate in formset.save(commit=False):
            campaign_add_rate(
                campaign=form.instance,
                rate=rate.rate,
                effective_from=rate.effective_from,
                created_by=request.user,
                first=not change,
            )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # registrations and fees refer to campaigns


class RegistrationEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RegistrationEvent
    fields = (
        "occurred_at",
        "from_status",
        "to_status",
        "actor_role",
        "actor_user",
        "actor_api_key",
        "reason",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("occurred_at", "pk")
    verbose_name_plural = "History (never edited)"


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="The seller sees it beside the registration.",
    )


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = (
        "seller",
        "campaign",
        "status",
        "previous_status",
        "registered_at",
        "status_changed_at",
    )
    list_filter = ("status", "campaign")
    list_select_related = ("seller", "campaign")
    search_fields = ("seller__name", "seller__slug")
    date_hierarchy = "registered_at"
    fields = (
        "seller",
        "campaign",
        "status",
        "previous_status",
        "registered_at",
        "terms_version",
        "agreed_by",
        "agreed_via_api_key",
        "status_changed_at",
    )
    readonly_fields = fields
    inlines = (RegistrationEventInline,)
    actions = (
        "approve_withdrawal",
        "reject_withdrawal",
        "approve_registration",
        "reject_registration",
        "suspend",
        "unsuspend",
    )

    def has_add_permission(self, request) -> bool:
        return False  # sellers register themselves, agreeing to the terms

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _apply(self, request: HttpRequest, queryset: QuerySet, action: Action):
        """Run one transition over the selected rows, each in its own transaction, and
        report which changed and which were skipped and why."""
        # Every change an admin makes is recorded with its reason, which the seller reads.
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": f"{action.label}: give a reason",
                "action": request.POST.get("action"),
                "action_label": action.label,
                "registrations": queryset.select_related("seller", "campaign"),
                "form": form,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/cashback/registration/reason.html", context)
        reason = form.cleaned_data["reason"]
        changed, skipped = [], []
        for registration in queryset.select_related("seller", "campaign").order_by("pk"):
            try:
                registration_transition(
                    registration_id=registration.pk,
                    action=action,
                    actor=Actor.admin(request.user),
                    reason=reason,
                )
            except RegistrationError as exc:
                skipped.append(f"{registration.seller} in {registration.campaign}: {exc}")
            else:
                changed.append(f"{registration.seller} in {registration.campaign}")
        if changed:
            self.message_user(
                request,
                f"{action.label}: changed {len(changed)}: {'; '.join(changed)}.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"{action.label}: skipped {len(skipped)}: {' | '.join(skipped)}",
                messages.WARNING,
            )
        return None

    @admin.action(description="Approve withdrawal (→ Expired)", permissions=["change"])
    def approve_withdrawal(self, request, queryset):
        return self._apply(request, queryset, Action.APPROVE_WITHDRAWAL)

    @admin.action(
        description="Reject withdrawal (back to its status; reason)", permissions=["change"]
    )
    def reject_withdrawal(self, request, queryset):
        return self._apply(request, queryset, Action.REJECT_WITHDRAWAL)

    @admin.action(description="Approve registration (→ Approved)", permissions=["change"])
    def approve_registration(self, request, queryset):
        return self._apply(request, queryset, Action.APPROVE_REGISTRATION)

    @admin.action(description="Reject registration (→ Rejected; reason)", permissions=["change"])
    def reject_registration(self, request, queryset):
        return self._apply(request, queryset, Action.REJECT_REGISTRATION)

    @admin.action(description="Suspend (→ Suspended; reason)", permissions=["change"])
    def suspend(self, request, queryset):
        return self._apply(request, queryset, Action.SUSPEND)

    @admin.action(description="Unsuspend (→ Approved)", permissions=["change"])
    def unsuspend(self, request, queryset):
        return self._apply(request, queryset, Action.UNSUSPEND)


# Order Cashback -------------------------------------------------------------------------


class FxRateForm(forms.ModelForm):
    class Meta:
        model = FxRate
        fields = ("currency", "date", "rate_to_usd")

    def clean_currency(self):
        currency = self.cleaned_data["currency"]
        if not is_currency(currency):
            raise forms.ValidationError(f"{currency!r} is not an ISO 4217 code, such as EUR.")
        return currency

    def clean(self):
        cleaned = super().clean()
        rate, currency = cleaned.get("rate_to_usd"), cleaned.get("currency")
        if rate is not None and (problem := fx_rate_problem(rate, currency=currency)):
            self.add_error("rate_to_usd", problem[0].upper() + problem[1:])
        return cleaned


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    """Kept by admins here or with `import_fx_rates FILE.csv`. A month waiting for a rate is
    closed by the next close run after the rate exists."""

    form = FxRateForm
    list_display = ("date", "currency", "rate_to_usd", "created_at")
    list_filter = ("currency",)
    search_fields = ("=currency",)
    date_hierarchy = "date"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # closed months used it


class TierInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return  # each form says what is wrong with it first
        tiers = sorted(
            (form.cleaned_data["threshold_usd"], form.cleaned_data["rate"])
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        )
        problems = validate_tiers(tiers)
        if problems:
            raise forms.ValidationError(problems)


class TierInline(admin.TabularInline):
    model = Tier
    formset = TierInlineFormSet
    extra = 0
    min_num = 1

    def has_add_permission(self, request, obj=None) -> bool:
        return obj is None or not _in_use(obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None or not _in_use(obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or not _in_use(obj)


def _in_use(schedule: TierSchedule) -> bool:
    """A version that a closed month used is kept as it was."""
    following = (
        TierSchedule.objects.filter(effective_month__gt=schedule.effective_month)
        .order_by("effective_month")
        .values_list("effective_month", flat=True)
        .first()
    )
    months = CashbackMonth.objects.filter(
        status=MonthStatus.CLOSED, month__gte=schedule.effective_month
    )
    if following is not None:
        months = months.filter(month__lt=following)
    return months.exists()


class TierScheduleForm(forms.ModelForm):
    class Meta:
        model = TierSchedule
        fields = ("effective_month", "yearly_bonus")

    def clean_effective_month(self):
        month = self.cleaned_data["effective_month"]
        if month.day != 1:
            raise forms.ValidationError("A version takes effect on the first day of a month.")
        moved = self.instance.pk is None or month != self.instance.effective_month
        if moved and month < month_start(timezone.now()).date():
            raise forms.ValidationError(
                "A new version takes effect from this month on: earlier months may be closed."
            )
        return month


@admin.register(TierSchedule)
class TierScheduleAdmin(admin.ModelAdmin):
    """A new version of the tiers (and the yearly bonus) from a month on. Versions used by a
    closed month stay as they were: add a new version instead."""

    list_display = ("effective_month", "yearly_bonus", "tiers_display", "created_by")
    form = TierScheduleForm
    inlines = (TierInline,)
    readonly_fields = ("created_by", "created_at")

    @admin.display(description="Tiers")
    def tiers_display(self, obj: TierSchedule) -> str:
        return ", ".join(
            f"{format_rate(t.rate)} % from ${t.threshold_usd:,.0f}" for t in obj.tiers.all()
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and _in_use(obj):
            return ("effective_month", "yearly_bonus", "created_by", "created_at")
        return self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or not _in_use(obj)


class AccrualInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Accrual
    fields = ("order", "gmv_usd", "amount", "late", "due_at", "status", "credited_amount")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(CashbackMonth)
class CashbackMonthAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "seller",
        "month",
        "status",
        "waiting_for",
        "gmv_usd",
        "rate",
        "total",
        "pending_total",
        "credited_total",
    )
    list_filter = ("status", "month")
    list_select_related = ("seller",)
    search_fields = ("seller__name", "seller__slug")
    readonly_fields = [f.name for f in CashbackMonth._meta.fields]
    inlines = (AccrualInline,)


@admin.register(Accrual)
class AccrualAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("order", "seller", "amount", "status", "due_at", "late", "credited_amount")
    list_filter = ("status", "late")
    list_select_related = ("order", "seller")
    search_fields = ("=order__external_id", "seller__name", "seller__slug")
    date_hierarchy = "due_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in Accrual._meta.fields]
