"""Ledgers and histories refuse UPDATE and DELETE in the database itself, whatever the path:
the ORM, raw SQL, a bulk update. Corrections are new entries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from cashback.models import CampaignRate, CampaignTermsVersion, RegistrationEvent
from cashback.services import Actor, registration_create
from fees.models import FeeEntry, SettledRecordLine
from fees.services import settle_fees
from orders.models import OrderEvent
from orders.services import orders_create
from sellers.models import PlanChange
from tests.factories import SellerUserFactory, StaffUserFactory, make_campaign
from tests.orders.conftest import T0, order_input
from tests.tampering import tampering
from wallet.models import WalletEntry
from wallet.services import wallet_adjust

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the guard is PostgreSQL's (core.append_only)"
    ),
]

APPEND_ONLY = {
    "fees_feeentry": FeeEntry,
    "fees_settledrecordline": SettledRecordLine,
    "wallet_walletentry": WalletEntry,
    "sellers_planchange": PlanChange,
    "orders_orderevent": OrderEvent,
    "cashback_campaignrate": CampaignRate,
    "cashback_campaigntermsversion": CampaignTermsVersion,
    "cashback_registrationevent": RegistrationEvent,
}


@pytest.fixture
def rows(seller):
    """One row at least in every append-only table, written by the services."""
    user = SellerUserFactory(seller=seller)
    registration_create(
        seller=seller,
        campaign=make_campaign(),
        agree_to_terms=True,
        actor=Actor.seller_user(user),
        now=T0 - timedelta(days=30),
    )
    orders_create(seller=seller, inputs=[order_input()])
    settle_fees(as_of=T0 + timedelta(days=30))
    wallet_adjust(
        seller_id=seller.pk, amount=Decimal("5.00"), reason="goodwill", staff=StaffUserFactory()
    )
    for table, model in APPEND_ONLY.items():
        assert model.objects.exists(), table


@pytest.mark.parametrize("table", sorted(APPEND_ONLY))
def test_rows_cannot_be_changed_or_deleted(rows, table):
    model = APPEND_ONLY[table]
    row = model.objects.order_by("pk").first()
    attempts = {
        "ORM update": lambda: model.objects.filter(pk=row.pk).update(id=row.pk),
        "ORM delete": lambda: model.objects.filter(pk=row.pk).delete(),
        "SQL update": lambda: _sql(f"UPDATE {table} SET id = id WHERE id = %s", [row.pk]),  # noqa: S608
        "SQL delete": lambda: _sql(f"DELETE FROM {table} WHERE id = %s", [row.pk]),  # noqa: S608
    }
    for name, attempt in attempts.items():
        # (an ORM delete may be refused first by a protecting foreign key)
        with pytest.raises(IntegrityError, match=r"append-only|protected"), transaction.atomic():
            attempt()
        assert model.objects.filter(pk=row.pk).exists(), name
    # new rows are what corrections are
    assert model.objects.count() >= 1


def test_lifting_the_guard_is_explicit_and_temporary(rows):
    entry = WalletEntry.objects.get()
    with tampering("wallet_walletentry"):
        WalletEntry.objects.filter(pk=entry.pk).update(description="tampered")
    with pytest.raises(IntegrityError), transaction.atomic():
        WalletEntry.objects.filter(pk=entry.pk).update(description="again")
    entry.refresh_from_db()
    assert entry.description == "tampered"


def _sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
