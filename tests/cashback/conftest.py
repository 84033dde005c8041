from datetime import timedelta

import pytest
from django.utils import timezone

from cashback.services import Actor, registration_create, registration_transition
from tests.factories import SellerUserFactory, StaffUserFactory, make_campaign


@pytest.fixture
def campaign(db):
    return make_campaign(slug="bonus", name="Bonus Cashback Program")


@pytest.fixture
def review_campaign(db):
    return make_campaign(slug="reviewed", name="Reviewed Campaign", requires_review=True)


@pytest.fixture
def seller_actor(seller_user):
    return Actor.seller_user(seller_user)


@pytest.fixture
def staff(db):
    return StaffUserFactory(username="reviewer")


@pytest.fixture
def admin_actor(staff):
    return Actor.admin(staff)


@pytest.fixture
def other_actor(other_seller):
    return Actor.seller_user(SellerUserFactory(seller=other_seller))


class Steps:
    """Moves a registration through the real services, one instant at a time."""

    def __init__(self, seller, seller_actor, admin_actor):
        self.seller, self.seller_actor, self.admin_actor = seller, seller_actor, admin_actor
        self.now = timezone.now() - timedelta(days=100)

    def tick(self):
        self.now += timedelta(hours=1)
        return self.now

    def register(self, campaign):
        return registration_create(
            seller=self.seller,
            campaign=campaign,
            agree_to_terms=True,
            actor=self.seller_actor,
            now=self.tick(),
        )

    def do(self, registration, action, reason="because"):
        actor = self.seller_actor if action in ("withdraw", "cancel_withdraw") else self.admin_actor
        return registration_transition(
            registration_id=registration.pk,
            action=action,
            actor=actor,
            reason=reason,
            now=self.tick(),
        )


@pytest.fixture
def steps(seller, seller_actor, admin_actor):
    return Steps(seller, seller_actor, admin_actor)
