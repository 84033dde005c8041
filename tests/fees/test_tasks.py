"""The Celery tasks of fee settlement: fanned out in chunks of sellers, each chunk a job run."""

from datetime import UTC, date, datetime, timedelta

import pytest

from cashback.services import Actor, registration_create
from config.celery import app
from core.models import JobRun
from fees import tasks
from fees.models import SettledRecord
from fees.services import sellers_to_settle, settle_fees
from tests.factories import SellerFactory, SellerUserFactory
from tests.fees.conftest import REGISTERED_AT, deliver

pytestmark = pytest.mark.django_db

AS_OF = datetime(2026, 10, 21, 12, tzinfo=UTC)  # the weeks up to 12-18 October have ended


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def delivered(seller, external_id: str, when: datetime):
    placed = when - timedelta(days=3)
    return deliver(
        seller,
        external_id=external_id,
        placed_at=placed,
        paid_at=placed + timedelta(hours=1),
        shipped_at=placed + timedelta(days=1),
        delivered_at=when,
    )


def registered_seller(campaign, name: str):
    seller = SellerFactory(name=name)
    registration_create(
        seller=seller,
        campaign=campaign,
        agree_to_terms=True,
        actor=Actor.seller_user(SellerUserFactory(seller=seller)),
        now=REGISTERED_AT,
    )
    return seller


@pytest.fixture
def eager():
    """Tasks run where they are sent. The app's own config is changed (and put back), read
    before the change: Celery loads it lazily."""
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def three_sellers(campaign):
    """Three sellers with one entry each in an ended week and one in the current week."""
    sellers = [registered_seller(campaign, f"Shop {n}") for n in range(3)]
    for seller in sellers:
        delivered(seller, "A-1", at(6))
        delivered(seller, "A-9", at(20))  # the week of 19 October, not ended
    return sellers


def test_three_sellers_in_chunks_of_one(
    settings, eager, three_sellers, django_capture_on_commit_callbacks
):
    settings.JOB_CHUNK_SELLERS = 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = tasks.settle_fees.delay(AS_OF.isoformat())
    assert result.get() == 3
    assert len(callbacks) == 3

    for seller in three_sellers:
        record = SettledRecord.objects.get(seller=seller)
        assert (record.period_start, record.orders_count) == (date(2026, 10, 5), 1)
    runs = JobRun.objects.filter(job="settle_fees")
    assert runs.count() == 3
    for run in runs:
        assert (run.scope, run.status, run.as_of) == ("1 sellers", "succeeded", AS_OF)
        assert run.counts == {"records": 1, "entries": 1, "sellers": 1}


def test_a_seller_with_several_entries_is_one_chunk(
    settings, eager, three_sellers, django_capture_on_commit_callbacks
):
    settings.JOB_CHUNK_SELLERS = 1
    for seller in three_sellers:
        delivered(seller, "A-2", at(13))
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.settle_fees.delay(AS_OF.isoformat())
    assert SettledRecord.objects.count() == 6  # the weeks of 5 and 12 October, each seller
    assert result.get() == 3
    assert JobRun.objects.count() == 3


def test_the_chunks_are_sent_only_once_the_transaction_commits(
    settings, eager, three_sellers, django_capture_on_commit_callbacks
):
    settings.JOB_CHUNK_SELLERS = 2
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert tasks.settle_fees.apply(args=[AS_OF.isoformat()]).get() == 2
    assert len(callbacks) == 2
    assert not SettledRecord.objects.exists()
    for callback in callbacks:
        callback()
    assert SettledRecord.objects.count() == 3
    assert sorted(JobRun.objects.values_list("scope", flat=True)) == ["1 sellers", "2 sellers"]


def test_sending_it_again_settles_nothing_more(
    settings, eager, three_sellers, django_capture_on_commit_callbacks
):
    settings.JOB_CHUNK_SELLERS = 1
    with django_capture_on_commit_callbacks(execute=True):
        tasks.settle_fees.delay(AS_OF.isoformat())
    before = list(SettledRecord.objects.order_by("pk").values())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert tasks.settle_fees.delay(AS_OF.isoformat()).get() == 0
    assert callbacks == []
    assert list(SettledRecord.objects.order_by("pk").values()) == before


def test_a_chunk_settles_only_its_sellers(eager, three_sellers):
    first, _, third = three_sellers
    tasks.settle_fees_chunk.delay(AS_OF.isoformat(), [first.pk, third.pk])
    assert set(SettledRecord.objects.values_list("seller_id", flat=True)) == {first.pk, third.pk}
    run = JobRun.objects.get()
    assert (run.scope, run.counts["sellers"]) == ("2 sellers", 2)


def test_sellers_to_settle_lists_only_sellers_with_unsettled_entries_of_ended_periods(campaign):
    pending = registered_seller(campaign, "Pending")  # an ended week, not settled
    current = registered_seller(campaign, "Current")  # only the week not ended yet
    settled = registered_seller(campaign, "Settled")  # an ended week, settled already
    registered_seller(campaign, "Quiet")  # nothing at all
    delivered(pending, "P-1", at(13))
    delivered(current, "C-1", at(19, 0))
    delivered(settled, "S-1", at(13))
    settle_fees(as_of=AS_OF, seller_ids=[settled.pk])
    assert SettledRecord.objects.filter(seller=settled).count() == 1

    assert sellers_to_settle(as_of=AS_OF) == [pending.pk]
    # Until midnight of 18 October, the week of 12 October has not ended.
    assert sellers_to_settle(as_of=datetime(2026, 10, 18, 23, 59, tzinfo=UTC)) == []
    assert sellers_to_settle(as_of=datetime(2026, 10, 19, 0, 0, tzinfo=UTC)) == [pending.pk]
    # Once the week of 19 October has ended, the current seller has some to settle too.
    assert sellers_to_settle(as_of=at(26, 0)) == sorted([pending.pk, current.pk])

    settle_fees(as_of=AS_OF)
    assert sellers_to_settle(as_of=AS_OF) == []


def test_sellers_to_settle_in_the_platform_time_zone(settings, campaign):
    settings.TIME_ZONE = "Asia/Singapore"
    seller = registered_seller(campaign, "Late on Sunday")
    delivered(seller, "A-1", datetime(2026, 10, 11, 20, tzinfo=UTC))  # Monday 04:00 there
    assert sellers_to_settle(as_of=datetime(2026, 10, 12, 23, tzinfo=UTC)) == []
    settings.TIME_ZONE = "UTC"
    assert sellers_to_settle(as_of=datetime(2026, 10, 12, 23, tzinfo=UTC)) == [seller.pk]


def test_sellers_to_settle_lists_each_seller_once(campaign):
    seller = registered_seller(campaign, "Busy")
    for n, day in enumerate((6, 7, 13)):
        delivered(seller, f"A-{n}", at(day))
    assert sellers_to_settle(as_of=AS_OF) == [seller.pk]
