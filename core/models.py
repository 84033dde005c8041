from django.db import models
from django.db.models import Q


class JobRun(models.Model):
    """One run of a scheduled job (or a part of one, when it is fanned out): when, for which
    instant, what it did and what went wrong. Written by `core.jobs.recorded`."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        # It did the work of every seller but some, whose failures it names (SellerFailure).
        PARTLY_FAILED = "partly_failed", "Failed for some sellers"
        FAILED = "failed", "Failed"

    job = models.CharField(max_length=64)
    scope = models.CharField(
        max_length=200, blank=True, help_text="The part it ran, if fanned out."
    )
    as_of = models.DateTimeField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["job", "-started_at"], name="job_run_job_started"),
            # The runs still running, which every run's start looks through (core.jobs).
            models.Index(fields=["id"], condition=Q(status="running"), name="job_run_running"),
        ]

    def __str__(self) -> str:
        return f"{self.job} as of {self.as_of:%Y-%m-%d %H:%M} ({self.status})"


class SellerFailure(models.Model):
    """A seller whose part of a job fails: the job does everyone else's work, and tries this
    seller again at its next run. The row stays while the seller's part keeps failing and is
    removed by the first run that does it; so the rows are what is stuck now."""

    job = models.CharField(max_length=64)
    # core stands below the apps that know sellers: the id, and the shop as it was named
    # (a name of up to 200 characters and a slug of up to 64: "Name (slug)").
    seller_id = models.BigIntegerField()
    seller = models.CharField(max_length=270, help_text="The shop's name and slug.")
    work = models.CharField(max_length=200, blank=True, help_text="The part that failed.")
    error = models.TextField()
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    failures = models.PositiveIntegerField(default=1, help_text="Runs it failed in, in a row.")
    last_run = models.ForeignKey(JobRun, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["job", "seller_id"]
        verbose_name = "stuck seller"
        constraints = [
            models.UniqueConstraint(fields=["job", "seller_id"], name="seller_failure_once"),
        ]

    def __str__(self) -> str:
        return f"{self.job}: {self.seller}"
