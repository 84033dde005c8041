from django.contrib import admin

from core.models import JobRun


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
