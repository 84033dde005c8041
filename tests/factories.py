"""Factories that build through the services, so that every object keeps its invariants."""

import factory

from sellers.models import Plan, Seller, User
from sellers.services import api_key_create, seller_create

PASSWORD = "correct horse battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)


class StaffUserFactory(UserFactory):
    is_staff = True
    first_name = "Alex"
    last_name = factory.Sequence(lambda n: f"Manager{n}")


class SellerFactory(factory.Factory):
    """A shop with its first plan, created by `seller_create`."""

    class Meta:
        model = Seller

    name = factory.Sequence(lambda n: f"Shop {n}")
    plan = Plan.MONTHLY
    account_manager = None

    @classmethod
    def _create(cls, model_class, **kwargs):
        return seller_create(**kwargs)

    @classmethod
    def _build(cls, model_class, **kwargs):
        raise NotImplementedError("Sellers are created through seller_create.")


class SellerUserFactory(UserFactory):
    seller = factory.SubFactory(SellerFactory)


def make_api_key(seller: Seller, name: str = "Integration") -> str:
    """A key for `seller`, returned as the plaintext a client sends."""
    return api_key_create(seller=seller, name=name)[1]


def make_campaign(**overrides):
    """A published campaign open since a year ago, at 3 %, via `campaign_create`."""
    from datetime import timedelta

    from django.utils import timezone

    from cashback.services import campaign_create

    opened = timezone.now() - timedelta(days=365)
    values = {
        "slug": f"campaign-{next(_campaign_numbers)}",
        "name": "Bonus Cashback Program",
        "fee_rate": "3",
        "terms": "Pay the service fee on delivered voucher orders.",
        "summary": "Offer the Bonus Cashback Voucher",
        "registration_opens_at": opened,
        "now": opened,
    }
    values.update(overrides)
    return campaign_create(**values)


_campaign_numbers = iter(range(1, 10**9))
