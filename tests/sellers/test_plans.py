from datetime import UTC as utc
from datetime import datetime, timedelta

import pytest
from django.urls import reverse

from sellers.models import PlanChange
from sellers.selectors import seller_plan_at, sellers_with_plan_at
from sellers.services import SellerError, seller_change_plan
from tests.factories import SellerFactory

pytestmark = pytest.mark.django_db

JAN = datetime(2026, 1, 15, tzinfo=utc)
MAR = datetime(2026, 3, 1, tzinfo=utc)


@pytest.fixture
def shop():
    return SellerFactory(name="Plan Shop", plan="monthly", now=JAN)


def test_the_first_plan_also_covers_the_time_before_it(shop):
    assert seller_plan_at(seller=shop, at=JAN - timedelta(days=400)) == "monthly"


def test_a_change_applies_from_its_instant_on(shop):
    seller_change_plan(seller=shop, plan="yearly", effective_at=MAR, reason="Upgraded", now=JAN)
    assert seller_plan_at(seller=shop, at=MAR - timedelta(seconds=1)) == "monthly"
    assert seller_plan_at(seller=shop, at=MAR) == "yearly"
    assert seller_plan_at(seller=shop, at=MAR + timedelta(days=100)) == "yearly"


def test_history_is_kept_whole(shop):
    seller_change_plan(seller=shop, plan="yearly", effective_at=MAR, now=JAN)
    seller_change_plan(seller=shop, plan="monthly", effective_at=MAR + timedelta(days=365), now=JAN)
    plans = list(
        PlanChange.objects.filter(seller=shop)
        .order_by("effective_at")
        .values_list("plan", flat=True)
    )
    assert plans == ["monthly", "yearly", "monthly"]
    assert seller_plan_at(seller=shop, at=MAR + timedelta(days=200)) == "yearly"


def test_a_future_change_is_not_yet_in_force(api_client, seller):
    seller_change_plan(seller=seller, plan="yearly", effective_at=datetime(2999, 1, 1, tzinfo=utc))
    assert api_client.get(reverse("api:me")).json()["plan"] == "monthly"


def test_plans_of_many_sellers_in_one_query(shop, django_assert_num_queries):
    other = SellerFactory(name="Other", plan="yearly", now=JAN)
    seller_change_plan(seller=shop, plan="yearly", effective_at=MAR, now=JAN)
    with django_assert_num_queries(1):
        plans = {s.slug: s.plan for s in sellers_with_plan_at(at=MAR)}
    assert plans == {shop.slug: "yearly", other.slug: "yearly"}


def test_an_unknown_plan_is_refused(shop):
    with pytest.raises(SellerError, match="Unknown plan"):
        seller_change_plan(seller=shop, plan="weekly", effective_at=MAR)
    assert PlanChange.objects.filter(seller=shop).count() == 1


def test_the_database_refuses_an_unknown_plan(shop):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PlanChange.objects.create(seller=shop, plan="weekly", effective_at=MAR)
