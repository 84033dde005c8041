"""Recording job runs: `with recorded("settle_fees", as_of=...) as counts: counts["x"] += 1`.

A run holds a PostgreSQL advisory lock on its own id while it runs, on its process's
connection. When the process dies (killed, out of memory, its machine lost) PostgreSQL
closes the connection and drops the lock with it: a run still `running` whose lock nobody
holds has no process left, and the next run of any job records it as failed. On SQLite,
which has no such locks, a run whose process died stays `running`.
"""

import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.models import JobRun

# The advisory locks of job runs: this number in the key's high 32 bits, the run's id in
# its low 32 bits (pg_locks shows them as classid and objid). Two runs four billion ids
# apart would share a lock; they are never running both.
LOCK_SPACE = 0x4A0B
LOW_32 = 0xFFFFFFFF
ABANDONED = (
    "The run stopped without recording its end: its process was killed or lost (no process "
    "holds the run any more). What it committed stays; run the job again for the rest."
)


@contextmanager
def recorded(job: str, *, as_of: datetime, scope: str = "") -> Iterator[Counter]:
    """Record a run of `job`: its row is written first (outside the job's transactions, so
    that it survives their rollback), then finished with the counts the job kept, or with
    the error that stopped it, which is raised again. Runs whose process died before they
    could finish are recorded as failed first."""
    runs_abandoned_fail()
    with transaction.atomic():
        # Locked before its row can be seen: no run is ever found running and unheld.
        run = JobRun.objects.create(job=job, scope=scope, as_of=as_of, started_at=timezone.now())
        _lock("pg_advisory_lock", run.pk)
    counts: Counter = Counter()
    try:
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
            status=JobRun.Status.SUCCEEDED,
            finished_at=timezone.now(),
            counts=dict(counts),
            errors="",
        )
    finally:
        with suppress(DatabaseError):  # the connection is gone, and its lock with it
            _lock("pg_advisory_unlock", run.pk)


def runs_abandoned_fail() -> int:
    """Record as failed the runs still `running` whose lock no connection to this database
    holds: their process is gone. Returns how many. Best effort, never in the way of the
    run that calls it: a row another sweep is failing is skipped, an error is ignored, and
    inside a caller's transaction (whose rollback would undo it) it does nothing."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 0
    with suppress(DatabaseError), connection.cursor() as cursor:
        cursor.execute(
            """UPDATE core_jobrun SET status = %(failed)s, finished_at = %(now)s,
                      errors = %(errors)s
               WHERE id IN (
                   SELECT id FROM core_jobrun r
                   WHERE r.status = %(running)s AND NOT EXISTS (
                       SELECT 1 FROM pg_locks l
                       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                         AND l.database = (SELECT oid FROM pg_database
                                           WHERE datname = current_database())
                         AND l.classid = %(space)s
                         AND l.objid::bigint = r.id %% %(ids)s)
                   FOR UPDATE SKIP LOCKED)
                 AND status = %(running)s""",
            {
                "failed": JobRun.Status.FAILED,
                "running": JobRun.Status.RUNNING,
                "now": timezone.now(),
                "errors": ABANDONED,
                "space": LOCK_SPACE,
                "ids": LOW_32 + 1,
            },
        )
        return cursor.rowcount
    return 0


def _lock(function: str, run_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s)", [(LOCK_SPACE << 32) | (run_id & LOW_32)])
