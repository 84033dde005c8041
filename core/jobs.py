"""Recording job runs: `with recorded("settle_fees", as_of=...) as counts: counts["x"] += 1`.

A run holds a PostgreSQL advisory lock on its own id while it runs, on its process's
connection. When the process dies (killed, out of memory, its machine lost) PostgreSQL
closes the connection and drops the lock with it: a run still `running` whose lock nobody
holds has no process left, and the next run of any job records it as failed. On SQLite,
which has no such locks, a run whose process died stays `running`.

A job does its work for many sellers at once, and one seller's data must never stop the
others: where a set-based step fails, the job does it again one seller at a time
(`for_all_or_each_seller`), and a seller whose part still fails is recorded (`SellerFailure`) while
everyone else's work is done. The next run tries that seller again.
"""

import traceback
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.models import JobRun, SellerFailure

# The advisory locks of job runs: this number in the key's high 32 bits, the run's id in
# its low 32 bits (pg_locks shows them as classid and objid). Two runs four billion ids
# apart would share a lock; they are never running both.
LOCK_SPACE = 0x4A0B
LOW_32 = 0xFFFFFFFF
ABANDONED = (
    "The run stopped without recording its end: its process was killed or lost (no process "
    "holds the run any more). What it committed stays; run the job again for the rest."
)


class RunCounts(Counter):
    """What a run did, counted, and the sellers whose part of it failed."""

    def __init__(self, stuck: Collection[int] = ()) -> None:
        super().__init__()
        # seller id: [(work, error)], a line for each part of the run that failed
        self.failures: dict[int, list[tuple[str, str]]] = {}
        self.names: dict[int, str] = {}
        self.stuck = set(stuck)  # the sellers the job was stuck on when the run began

    def seller_failed(self, *, seller_id: int, seller: str, work: str, error: Exception) -> None:
        self.names[seller_id] = seller
        self.failures.setdefault(seller_id, []).append((work, failure_reason(error)))
        self["sellers_failed"] = len(self.failures)


def failure_reason(error: Exception) -> str:
    """An error as an operator reads it: its kind and its message (PostgreSQL's detail too)."""
    message = " ".join(str(error).split()) or "(no message)"
    return f"{type(error).__name__}: {message}"[:2000]


# What tells a run to stop, not that a seller's data is at fault: never contained.
STOPS = (SoftTimeLimitExceeded,)


def for_all_or_each_seller(
    counts: RunCounts,
    *,
    seller_ids: list[int] | None,
    all_at_once: Callable[[list[int] | None], Counter],
    sellers: Callable[[], Iterable[int]],
    one_seller: Callable[[int], Counter],
    work: str,
    name: Callable[[int], str],
) -> None:
    """Do a step of a job for its sellers (`seller_ids`, or every seller) at once, in one
    transaction (`all_at_once`, which returns what it did); should that fail, do it for one
    seller at a time (`one_seller` for each of `sellers()`, the sellers it has work for), so
    that the sellers whose part fails stop no one else's.

    The sellers the job is stuck on are done apart from the start, so that one seller's
    lasting failure does not make every run go a seller at a time. When the step fails for
    the sellers together and then for every one of two or more apart, the fault is not one
    seller's (the database, a bug): the run fails with the error, and no seller is blamed."""
    together, apart = seller_ids, []
    stuck = counts.stuck if seller_ids is None else counts.stuck & set(seller_ids)
    if stuck:
        everyone = list(sellers())
        apart = [s for s in everyone if s in stuck]
        together = [s for s in everyone if s not in stuck]
    failure = None
    try:
        with transaction.atomic():
            done = all_at_once(together)
    except STOPS:
        raise
    except Exception as exc:  # whatever it was, each seller is tried on its own
        failure = exc
        apart = sorted({*apart, *(sellers() if together is None else together)})
    else:
        counts.update(done)  # counted once committed, never again by a fallback
    each_seller_apart(
        counts,
        apart,
        one_seller=one_seller,
        work=work,
        name=name,
        cause=failure,
        blame=failure is not None,
    )


def each_seller_apart(
    counts: RunCounts,
    seller_ids: Iterable[int],
    *,
    one_seller: Callable[[int], Counter],
    work: str,
    name: Callable[[int], str],
    cause: Exception | None = None,
    blame: bool = True,
) -> None:
    """`one_seller` for one seller at a time, each in its own transaction (a savepoint inside
    a caller's), adding what it did to `counts`: a seller whose part fails is rolled back
    alone and recorded with the reason, and the others go on. When every one of two or more
    sellers fails (and `blame`, as when the step failed for them together before), the fault
    is not one seller's: the run fails with the error (`cause`, or the first seller's)."""
    seller_ids = list(seller_ids)
    done: Counter = Counter()
    errors: dict[int, Exception] = {}
    for seller_id in seller_ids:
        try:
            with transaction.atomic():
                did = one_seller(seller_id)
        except STOPS:
            raise
        except Exception as exc:  # any failure of one seller's data stays that seller's
            errors[seller_id] = exc
        else:
            done.update(did)
    if blame and len(seller_ids) > 1 and len(errors) == len(seller_ids):
        raise cause or next(iter(errors.values()))
    counts.update(done)
    for seller_id, error in errors.items():
        counts.seller_failed(seller_id=seller_id, seller=name(seller_id), work=work, error=error)


def sellers_stuck_on(job: str) -> set[int]:
    """The sellers `job` failed for at its last run that tried them: a fanned-out job gives
    them a part of their own, so that they are tried again even when their work is gone."""
    return set(SellerFailure.objects.filter(job=job).values_list("seller_id", flat=True))


@contextmanager
def recorded(
    job: str, *, as_of: datetime, scope: str = "", done_for: Collection[int] | None = ()
) -> Iterator[RunCounts]:
    """Record a run of `job`: its row is written first (outside the job's transactions, so
    that it survives their rollback), then finished with the counts the job kept, or with
    the error that stopped it, which is raised again. Runs whose process died before they
    could finish are recorded as failed first.

    The sellers whose part failed are named in the run's errors and kept as stuck
    (`SellerFailure`); a seller stuck before whose part this run did (`done_for`: these
    sellers, or None for every seller), as of an instant no earlier than the run it failed
    in, is stuck no longer."""
    runs_abandoned_fail()
    with transaction.atomic():
        # Locked before its row can be seen: no run is ever found running and unheld.
        run = JobRun.objects.create(job=job, scope=scope, as_of=as_of, started_at=timezone.now())
        _lock("pg_advisory_lock", run.pk)
    counts = RunCounts(stuck=sellers_stuck_on(job))
    try:
        try:
            yield counts
        except BaseException as exc:
            JobRun.objects.filter(pk=run.pk).update(
                status=JobRun.Status.FAILED,
                finished_at=timezone.now(),
                counts=dict(counts),
                errors=(_failures_text(counts) + "".join(traceback.format_exception(exc)))[-20000:],
            )
            _keep_failures(job, run, counts, done_for=(), as_of=as_of)
            raise
        JobRun.objects.filter(pk=run.pk).update(
            status=JobRun.Status.PARTLY_FAILED if counts.failures else JobRun.Status.SUCCEEDED,
            finished_at=timezone.now(),
            counts=dict(counts),
            errors=_failures_text(counts)[:20000],
        )
        _keep_failures(job, run, counts, done_for=done_for, as_of=as_of)
    finally:
        with suppress(DatabaseError):  # the connection is gone, and its lock with it
            _lock("pg_advisory_unlock", run.pk)


def _failures_text(counts: RunCounts) -> str:
    return "".join(
        f"Seller {counts.names[seller_id]}, {work}: {error}\n"
        for seller_id, parts in counts.failures.items()
        for work, error in parts
    )


def _keep_failures(
    job: str,
    run: JobRun,
    counts: RunCounts,
    *,
    done_for: Collection[int] | None,
    as_of: datetime,
) -> None:
    """Keep the sellers that failed as stuck, counting the runs in a row they failed in, and
    let go of those whose part this run did."""
    now = timezone.now()
    with transaction.atomic():
        for seller_id, parts in counts.failures.items():
            work = "; ".join(w for w, _ in parts)[:200]
            error = "\n".join(e for _, e in parts)
            failure, created = SellerFailure.objects.select_for_update().get_or_create(
                job=job,
                seller_id=seller_id,
                defaults={
                    "seller": counts.names[seller_id],
                    "work": work,
                    "error": error,
                    "first_failed_at": now,
                    "last_failed_at": now,
                    "last_run": run,
                },
            )
            if not created:
                failure.seller, failure.work, failure.error = counts.names[seller_id], work, error
                failure.last_failed_at, failure.last_run = now, run
                failure.failures += 1
                failure.save()
        # A run as of an earlier instant than the one a seller failed in did not try its part.
        done = SellerFailure.objects.filter(job=job).exclude(seller_id__in=list(counts.failures))
        done = done.filter(Q(last_run__isnull=True) | Q(last_run__as_of__lte=as_of))
        if done_for is not None:
            done = done.filter(seller_id__in=list(done_for))
        done.delete()


def sellers_stuck() -> list[str]:
    """Each seller a job failed for at its last run, and why: work that waits."""
    return [
        f"{f.job} is stuck for seller {f.seller} since {f.first_failed_at:%Y-%m-%d %H:%M} "
        f"({f.failures} runs in a row), {f.work}: {f.error}"
        for f in SellerFailure.objects.all()
    ]


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
