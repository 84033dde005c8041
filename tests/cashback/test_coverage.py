"""Which registration had a seller in the program at an instant, read from the history."""

from datetime import timedelta

import pytest

from cashback.selectors import registration_covering
from tests.factories import make_campaign

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)


def covered(steps, at, campaign=None):
    found = registration_covering(
        seller_id=steps.seller.pk, at=at, campaign_id=campaign.pk if campaign else None
    )
    return found.pk if found else None


def test_covered_from_approval_until_the_withdrawal_is_approved(steps, campaign):
    before = steps.tick()
    registration = steps.register(campaign)
    registered = steps.now
    steps.do(registration, "withdraw")
    withdrawing = steps.now
    steps.do(registration, "approve_withdrawal")
    expired = steps.now

    assert covered(steps, before, campaign) is None
    assert covered(steps, registered - SECOND, campaign) is None
    assert covered(steps, registered, campaign) == registration.pk
    # Withdraw Under Review, having come from approved: still in the program.
    assert covered(steps, withdrawing, campaign) == registration.pk
    assert covered(steps, expired - SECOND, campaign) == registration.pk
    assert covered(steps, expired, campaign) is None
    assert covered(steps, expired + timedelta(days=30), campaign) is None


def test_not_covered_while_under_review_or_suspended(steps, review_campaign):
    registration = steps.register(review_campaign)
    reviewing = steps.now
    steps.do(registration, "approve_registration")
    approved = steps.now
    steps.do(registration, "suspend")
    suspended = steps.now
    steps.do(registration, "withdraw")
    withdrawing_from_suspended = steps.now
    steps.do(registration, "cancel_withdraw")
    steps.do(registration, "unsuspend")
    unsuspended = steps.now

    assert covered(steps, reviewing, review_campaign) is None
    assert covered(steps, approved, review_campaign) == registration.pk
    assert covered(steps, suspended, review_campaign) is None
    # Withdraw Under Review having come from suspended: not in the program.
    assert covered(steps, withdrawing_from_suspended, review_campaign) is None
    assert covered(steps, unsuspended, review_campaign) == registration.pk


def test_not_covered_after_rejection(steps, review_campaign):
    registration = steps.register(review_campaign)
    steps.do(registration, "reject_registration")
    assert covered(steps, steps.now + timedelta(days=1), review_campaign) is None


def test_a_gap_between_two_registrations_is_not_covered(steps, campaign):
    first = steps.register(campaign)
    steps.do(first, "withdraw")
    steps.do(first, "approve_withdrawal")
    gap = steps.tick()
    second = steps.register(campaign)
    assert covered(steps, gap, campaign) is None
    assert covered(steps, steps.now, campaign) == second.pk
    assert covered(steps, first.registered_at, campaign) == first.pk


def test_judged_by_the_instant_not_by_today(steps, campaign):
    # An order placed while approved but ingested after expiry is still covered.
    registration = steps.register(campaign)
    placed = steps.tick()
    steps.do(registration, "withdraw")
    steps.do(registration, "approve_withdrawal")
    registration.refresh_from_db()
    assert registration.status == "expired"
    assert covered(steps, placed, campaign) == registration.pk


def test_without_a_campaign_the_latest_registered_covering_one(steps):
    older = make_campaign(slug="older")
    newer = make_campaign(slug="newer")
    first = steps.register(older)
    second = steps.register(newer)
    assert covered(steps, steps.now) == second.pk
    steps.do(second, "suspend")
    assert covered(steps, steps.now) == first.pk


def test_another_sellers_registration_never_covers(steps, campaign, other_seller, other_actor):
    from cashback.services import registration_create

    registration_create(
        seller=other_seller, campaign=campaign, agree_to_terms=True, actor=other_actor
    )
    assert covered(steps, steps.now + timedelta(days=200), campaign) is None
