"""Recording job runs: `with recorded("settle_fees", as_of=...) as counts: counts["x"] += 1`."""

import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

from core.models import JobRun


@contextmanager
def recorded(job: str, *, as_of: datetime, scope: str = "") -> Iterator[Counter]:
    """Record a run of `job`: its row is written first (outside the job's transactions, so
    that it survives their rollback), then finished with the counts the job kept, or with
    the error that stopped it, which is raised again."""
    run = JobRun.objects.create(job=job, scope=scope, as_of=as_of, started_at=timezone.now())
    counts: Counter = Counter()
    try:
        yield counts
    except BaseException as exc:
        JobRun.objects.filter(pk=run.pk).update(
            status=JobRun.Status.FAILED,
            finished_at=timezone.now(),
            counts=dict(counts),
            errors="".join(traceback.format_exception(exc))[-20000:],
        )
        raise
    JobRun.objects.filter(pk=run.pk).update(
        status=JobRun.Status.SUCCEEDED, finished_at=timezone.now(), counts=dict(counts)
    )
