from django.db import models
from django.db.models import Q


class JobRun(models.Model):
    """One run of a scheduled job (or a part of one, when it is fanned out): when, for which
    instant, what it did and what went wrong. Written by `core.jobs.recorded`."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
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
