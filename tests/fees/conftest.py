from datetime import timedelta

import pytest

from cashback.services import Actor, registration_create
from orders.services import orders_create
from tests.factories import make_campaign
from tests.orders.conftest import T0, order_input

REGISTERED_AT = T0 - timedelta(days=30)


@pytest.fixture
def campaign(db):
    """ "Bonus Cashback Program" at 3 %, open since a year before today."""
    return make_campaign(slug="bonus", name="Bonus Cashback Program")


@pytest.fixture
def registered(seller, seller_user, campaign):
    """The seller, approved in the campaign since 30 days before T0."""
    return registration_create(
        seller=seller,
        campaign=campaign,
        agree_to_terms=True,
        actor=Actor.seller_user(seller_user),
        now=REGISTERED_AT,
    )


def deliver(seller, **overrides):
    """A delivered voucher order (120.00 - 20.00 unless told), created through the service."""
    (result,) = orders_create(seller=seller, inputs=[order_input(**overrides)])
    assert result.result == "created", result.errors
    return result.order


@pytest.fixture
def staff_user(db):
    from tests.factories import StaffUserFactory

    return StaffUserFactory(username="fee-reviewer")
