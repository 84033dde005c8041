"""Job runs whose process died: a run holds a lock on its id while it runs, and the next
run of any job records the ones nobody holds any more as failed."""

import threading
from datetime import UTC, datetime

import psycopg
import pytest
from django.db import connection

from core.jobs import ABANDONED, LOCK_SPACE, recorded, runs_abandoned_fail
from core.models import JobRun

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the runs' locks are PostgreSQL's"
    ),
    pytest.mark.django_db(transaction=True),
]
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


class RunInAThread:
    """A job running in a thread of its own, with its own connection, until told to end."""

    def __init__(self, job: str):
        self.started, self.end = threading.Event(), threading.Event()
        self.backend_pid = None
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self.run, args=(job,))
        self.thread.start()
        assert self.started.wait(10)

    def run(self, job: str) -> None:
        try:
            with recorded(job, as_of=AS_OF):
                self.backend_pid = connection.connection.info.backend_pid
                self.started.set()
                self.end.wait(10)
        except Exception as exc:  # its connection was terminated: it cannot record its end
            self.error = exc
        finally:
            connection.close()

    def finish(self) -> None:
        self.end.set()
        self.thread.join(10)


def another_database() -> psycopg.Connection:
    s = connection.settings_dict
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    return psycopg.connect(f"postgresql://{s['USER'] or 'postgres'}@{host}:{port}/postgres")


def test_a_run_whose_process_is_gone_is_recorded_as_failed_by_the_next_run():
    alive, killed = RunInAThread("alive"), RunInAThread("killed")
    try:
        with connection.cursor() as cursor:  # as PostgreSQL does when the process dies
            cursor.execute("SELECT pg_terminate_backend(%s)", [killed.backend_pid])
        killed.finish()
        assert killed.error is not None  # it could not record its end
        # The same lock taken in another database of the server holds nothing here.
        with another_database() as elsewhere:
            key = (LOCK_SPACE << 32) | JobRun.objects.get(job="killed").pk
            elsewhere.execute("SELECT pg_advisory_lock(%s)", [key])
            with recorded("next", as_of=AS_OF):
                pass
        runs = {run.job: run for run in JobRun.objects.all()}
        assert (runs["killed"].status, runs["killed"].errors) == ("failed", ABANDONED)
        assert runs["killed"].finished_at is not None
        assert runs["alive"].status == "running"  # its process holds it
        assert runs["next"].status == "succeeded"
    finally:
        alive.finish()
    assert JobRun.objects.get(job="alive").status == "succeeded"
    assert runs_abandoned_fail() == 0


def test_a_run_inside_another_leaves_the_outer_one_running():
    with recorded("outer", as_of=AS_OF):
        with recorded("inner", as_of=AS_OF):
            assert JobRun.objects.get(job="outer").status == "running"
        assert runs_abandoned_fail() == 0
    assert set(JobRun.objects.values_list("status", flat=True)) == {"succeeded"}
