"""What the wallet's tests share: a staff user who may post adjustments, and a wallet."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from tests.factories import StaffUserFactory
from wallet.models import Wallet
from wallet.services import wallet_adjust


@pytest.fixture
def staff(db):
    """A staff user who may post adjustments, and nothing more."""
    user = StaffUserFactory(username="finance")
    user.user_permissions.add(Permission.objects.get(codename="add_walletentry"))
    return user


@pytest.fixture
def wallet(seller, staff) -> Wallet:
    """The seller's wallet, opened with an adjustment of 10.00."""
    wallet_adjust(
        seller_id=seller.pk, amount=Decimal("10.00"), reason="Opening balance", staff=staff
    )
    return Wallet.objects.get(seller=seller)
