from django.contrib import admin

from core.models import JobRun, SellerFailure


class ReadOnlyAdminMixin:
    """Rows the product's services write (entries, histories, job runs): the admin reads
    them and never adds, edits or deletes one. Works for model admins and inlines."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("job", "scope", "as_of", "started_at", "finished_at", "status", "counts")
    list_filter = ("job", "status")
    date_hierarchy = "started_at"
    readonly_fields = (
        "job",
        "scope",
        "as_of",
        "started_at",
        "finished_at",
        "status",
        "counts",
        "errors",
    )


@admin.register(SellerFailure)
class SellerFailureAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What is stuck: each seller whose part of a job failed at its last run, and why. The
    job does everyone else's work and tries the seller again at every run; the row goes
    when a run does the seller's part."""

    list_display = ("job", "seller", "work", "error", "first_failed_at", "failures")
    list_filter = ("job",)
    search_fields = ("seller", "error")
    list_select_related = ("last_run",)
    readonly_fields = (
        "job",
        "seller_id",
        "seller",
        "work",
        "error",
        "first_failed_at",
        "last_failed_at",
        "failures",
        "last_run",
    )
