"""Two requests racing for one change make one change. Real threads, real connections."""

import pytest
from django.db import connection

from cashback.models import Registration, RegistrationEvent
from cashback.services import (
    Action,
    RegistrationRefused,
    registration_create,
    registration_transition,
)
from tests.concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL, as CI runs"
    ),
]


def test_two_withdrawals_at_once_make_one(steps, campaign, seller_actor):
    registration = steps.register(campaign)

    def withdraw():
        return registration_transition(
            registration_id=registration.pk, action=Action.WITHDRAW, actor=seller_actor
        )

    outcomes = race(withdraw, withdraw)
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["error", "ok"], outcomes
    error = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(error, RegistrationRefused)
    registration.refresh_from_db()
    assert (registration.status, registration.previous_status) == (
        "withdraw_under_review",
        "approved",
    )
    assert (
        RegistrationEvent.objects.filter(
            registration=registration, to_status="withdraw_under_review"
        ).count()
        == 1
    )


def test_an_admin_and_the_seller_racing_make_one_change(steps, campaign, seller_actor, admin_actor):
    registration = steps.register(campaign)
    steps.do(registration, "withdraw")

    outcomes = race(
        lambda: registration_transition(
            registration_id=registration.pk, action=Action.CANCEL_WITHDRAW, actor=seller_actor
        ),
        lambda: registration_transition(
            registration_id=registration.pk, action=Action.APPROVE_WITHDRAWAL, actor=admin_actor
        ),
    )
    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    registration.refresh_from_db()
    assert registration.status in ("approved", "expired")
    assert RegistrationEvent.objects.filter(registration=registration).count() == 3


def test_two_registrations_at_once_make_one(seller, campaign, seller_actor):
    def register():
        return registration_create(
            seller=seller, campaign=campaign, agree_to_terms=True, actor=seller_actor
        )

    outcomes = race(register, register, register)
    assert sorted(kind for kind, _ in outcomes) == ["error", "error", "ok"], outcomes
    assert all(
        isinstance(value, RegistrationRefused) for kind, value in outcomes if kind == "error"
    )
    assert Registration.objects.filter(seller=seller, campaign=campaign).count() == 1
    assert RegistrationEvent.objects.count() == 1
