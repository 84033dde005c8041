"""Crashes and races on the real stack: Celery workers on the Redis broker, killed with
SIGKILL in the middle of a job and started again; the same job sent twice at once; several
clients posting overlapping bulk batches through gunicorn. Nothing is lost, nothing is
counted twice.

A worker is caught "in the middle" by a lock the test holds on a row the job must write:
the job's first chunks commit, the next one waits inside its transaction, and the worker
dies there.
"""

import http.client
import json
import os
import re
import signal
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from importlib import import_module
from pathlib import Path

import psycopg
import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction

from cashback.models import Accrual, AccrualStatus, CashbackMonth
from cashback.order_cashback import cashback_mismatches, close_months
from cashback.services import Actor, registration_create
from config.celery import app
from core.jobs import ABANDONED
from core.models import JobRun
from orders.models import Order
from orders.services import orders_create
from sellers.services import api_key_create
from tests.factories import SellerFactory, SellerUserFactory, make_campaign
from tests.orders.conftest import T0, order_input
from tests.processes import ROOT, LoggedProcess
from wallet.models import Wallet, WalletEntry
from wallet.selectors import wallet_mismatches
from wallet.services import wallets_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql"
        or not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"),
        reason="the real stack: PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL)",
    ),
]

BIN = Path(sys.executable).parent
CLOSE_AS_OF = T0 + timedelta(days=32)  # October has ended
CREDIT_AS_OF = T0 + timedelta(days=75)  # every October accrual is due
SELLERS, ORDERS = 6, 15  # 15 orders of 100.00 a seller: 1,500 USD, the 0.5 % tier


def database_url() -> str:
    """The test database, for the processes the tests start."""
    s = connection.settings_dict
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    return f"postgresql://{s['USER'] or 'postgres'}@{host}:{port}/{s['NAME']}"


class Worker(LoggedProcess):
    """`celery worker` on the test database and a queue of its own, in chunks of 2 sellers."""

    def __init__(self, queue: str, *, processes: int = 1):
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "JOB_CHUNK_SELLERS": "2",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        super().__init__(
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--concurrency",
                str(processes),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"{queue}-{uuid.uuid4().hex[:6]}@%h",
            ],
            env=env,
        )
        self.wait_for(r" ready\.", timeout=60)


def send(task: str, as_of, queue: str) -> None:
    """The job's coordinator, as beat sends it."""
    with app.connection_for_write(os.environ["CELERY_BROKER_URL"]) as broker:
        app.send_task(task, args=[as_of.isoformat()], queue=queue, connection=broker)


def wait_until(condition, timeout: float = 90, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what() if callable(what) else what}")


def waiting_on_a_lock() -> bool:
    """A backend of the test database waits for a row lock (the worker, held by the test)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.fixture
def queue():
    return f"crash-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def sellers(db):
    """Six sellers, each with fifteen delivered Order Center orders of October, and the
    default tiers (a test that commits flushes the ones the migration wrote)."""
    default_tiers = import_module("cashback.migrations.0003_default_tiers")
    default_tiers.create_default_tiers(django_apps, None)
    made = []
    for s in range(SELLERS):
        seller = SellerFactory(name=f"Crash shop {s}")
        results = orders_create(
            seller=seller,
            inputs=[
                order_input(
                    external_id=f"C{s}-{n}",
                    tracking_number=f"T{s}-{n}",
                    net_product_price=Decimal("100.00"),
                    seller_funded_discount=Decimal("0.00"),
                    bonus_cashback_voucher=False,
                )
                for n in range(ORDERS)
            ],
        )
        assert {r.result for r in results} == {"created"}
        made.append(seller)
    return made


def assert_closed_once(sellers) -> None:
    assert CashbackMonth.objects.filter(status="closed").count() == len(sellers)
    assert Accrual.objects.count() == len(sellers) * ORDERS
    for month in CashbackMonth.objects.all():
        assert sum(a.amount for a in month.accruals.all()) == month.total == Decimal("7.50")
    assert cashback_mismatches() == []


def assert_credited_once(sellers) -> None:
    assert not Accrual.objects.filter(status=AccrualStatus.PENDING).exists()
    assert WalletEntry.objects.count() == Accrual.objects.filter(amount__gt=0).count()
    references = list(WalletEntry.objects.values_list("reference", flat=True))
    assert len(references) == len(set(references))
    for wallet in Wallet.objects.all():
        assert wallet.balance == Decimal("7.50")
    assert wallet_mismatches() == []


def test_a_worker_killed_in_the_middle_of_the_month_close(sellers, queue):
    # The test holds a closed month of the last seller uncommitted: the close of its chunk
    # waits on the unique (seller, month) while the chunks before it commit.
    last = sellers[-1]
    with psycopg.connect(database_url()) as blocker:
        blocker.execute(
            "INSERT INTO cashback_cashbackmonth (seller_id, month, status, waiting_for, plan, "
            "orders_count, gmv_usd, tier_rate, bonus_rate, rate, total, closed_at, updated_at) "
            "VALUES (%s, '2026-10-01', 'closed', '', 'monthly', 0, 0, 0, 0, 0, 0, now(), now())",
            [last.pk],
        )
        with Worker(queue) as worker:
            send("cashback.tasks.close_months", CLOSE_AS_OF, queue)
            wait_until(
                waiting_on_a_lock,
                what=lambda: f"the close waiting on the held month:\n{worker.output[-3000:]}",
            )
            wait_until(
                lambda: CashbackMonth.objects.filter(status="closed").exists(),
                what="a chunk before it committed",
            )
            worker.stop(signal.SIGKILL)
        blocker.rollback()
    assert 0 < CashbackMonth.objects.count() < len(sellers)  # it died half way
    # Beat sends the job again the next day; a new worker does what is left, once.
    rerun(queue, "cashback.tasks.close_months", "close_month", CLOSE_AS_OF)
    assert_closed_once(sellers)
    assert_killed_runs_failed("close_month")


def test_a_worker_killed_in_the_middle_of_crediting(sellers, queue):
    close_months(as_of=CLOSE_AS_OF)
    with transaction.atomic():
        wallets_for({s.pk for s in sellers})  # so that the test can hold one
    last = sellers[-1]
    with psycopg.connect(database_url()) as blocker:
        blocker.execute("SELECT id FROM wallet_wallet WHERE seller_id = %s FOR UPDATE", [last.pk])
        with Worker(queue) as worker:
            send("cashback.tasks.credit_cashback", CREDIT_AS_OF, queue)
            wait_until(
                waiting_on_a_lock,
                what=lambda: f"crediting waiting on the held wallet:\n{worker.output[-3000:]}",
            )
            wait_until(lambda: WalletEntry.objects.exists(), what="a chunk before it committed")
            worker.stop(signal.SIGKILL)
        blocker.rollback()
    credited = Accrual.objects.filter(status=AccrualStatus.CREDITED).count()
    assert 0 < credited < len(sellers) * ORDERS  # it died half way
    assert WalletEntry.objects.count() == credited  # what committed, committed whole
    assert not WalletEntry.objects.filter(wallet__seller=last).exists()
    # The next hour's run credits the rest, and nothing twice.
    rerun(queue, "cashback.tasks.credit_cashback", "credit_cashback", CREDIT_AS_OF)
    assert_credited_once(sellers)
    assert_killed_runs_failed("credit_cashback")


def assert_killed_runs_failed(job: str) -> None:
    """The runs the kill cut short are recorded as failed by the runs after them, not left
    running."""
    assert not JobRun.objects.filter(status="running").exists()
    assert JobRun.objects.filter(job=job, status="failed", errors=ABANDONED).exists()


def rerun(queue: str, task: str, job: str, as_of) -> None:
    """A new worker, and the job sent again: wait until every chunk it sent succeeded."""
    with Worker(queue) as worker:
        run_job(worker, queue, task, job, as_of)


def run_job(worker: Worker, queue: str, task: str, job: str, as_of, times: int = 1) -> None:
    """Send the job's coordinator `times` at once; wait until the chunks they sent (the
    worker logs each coordinator's count) have all succeeded."""
    after = JobRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for _ in range(times):
        send(task, as_of, queue)
    sent = re.compile(rf"Task {re.escape(task)}\[[^\]]+\] succeeded in [0-9.]+s: (\d+)")

    def finished() -> bool:
        counts = [int(n) for n in sent.findall(worker.output)]
        succeeded = JobRun.objects.filter(pk__gt=after, job=job, status="succeeded").count()
        return len(counts) == times and succeeded >= sum(counts)

    wait_until(finished, what=f"every chunk of {job}")
    assert not JobRun.objects.filter(pk__gt=after, status="failed").exists()


def test_two_beats_sending_the_same_jobs_at_once(sellers, queue):
    with Worker(queue, processes=2) as worker:
        run_job(worker, queue, "cashback.tasks.close_months", "close_month", CLOSE_AS_OF, 2)
        run_job(worker, queue, "cashback.tasks.credit_cashback", "credit_cashback", CREDIT_AS_OF, 2)
    assert_closed_once(sellers)
    assert_credited_once(sellers)


def test_overlapping_bulk_batches_from_several_clients(db, queue):
    """Four clients post overlapping batches (each order in two batches, each batch twice)
    through gunicorn with two workers: every order exists once, created once, charged its
    service fee once."""
    seller = SellerFactory(name="Bulk shop")
    user = SellerUserFactory(seller=seller)
    registration_create(
        seller=seller,
        campaign=make_campaign(),
        agree_to_terms=True,
        actor=Actor.seller_user(user),
        now=T0 - timedelta(days=30),
    )
    _, key = api_key_create(seller=seller, name="bulk")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url(), "ALLOWED_HOSTS": "127.0.0.1"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = LoggedProcess(
        [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        env=env,
        cwd=ROOT,
    )
    with server:
        server.wait_for("Booting worker", timeout=60)
        _wait_for_port(port)

        def order(n: int) -> dict:
            body = order_input(external_id=f"O-{n}", tracking_number=f"T{n}")
            return {
                "external_id": body.external_id,
                "placed_at": body.placed_at.isoformat(),
                "currency": "USD",
                "net_product_price": "120.00",
                "seller_funded_discount": "20.00",
                "bonus_cashback_voucher": True,
                "fulfillment_channel": "order_center",
                "status": "delivered",
                "paid_at": body.paid_at.isoformat(),
                "shipped_at": body.shipped_at.isoformat(),
                "delivered_at": body.delivered_at.isoformat(),
                "tracking_number": body.tracking_number,
            }

        # batch b holds orders 50b .. 50b+99: each order is in two batches
        batches = [[order(n) for n in range(50 * b, 50 * b + 100)] for b in range(8)]

        def post(batch: list[dict]) -> list[dict]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request(
                "POST",
                "/api/v1/orders/bulk/",
                body=json.dumps({"orders": batch}),
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            answer = conn.getresponse()
            assert answer.status == 200, answer.read()[:500]
            return json.loads(answer.read())["results"]

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(post, batches * 2))  # and every batch posted twice
    results = [r for answer in answers for r in answer]
    created = [r["external_id"] for r in results if r["result"] == "created"]
    assert sorted(created) == sorted({f"O-{n}" for n in range(450)})  # each created once
    assert {r["result"] for r in results} <= {"created", "unchanged"}
    assert Order.objects.filter(seller=seller).count() == 450
    assert seller.fee_entries.count() == 450  # each delivered voucher order charged once


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int) -> None:
    import socket

    wait_until(
        lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0,
        timeout=60,
        what=f"gunicorn on {port}",
    )
