"""An admin's wallet adjustment is at most MAX_AMOUNT either way: a larger one is refused
with a message on the form, not a 500, and nothing is posted. A refusal names the shop."""

from decimal import Decimal

import pytest
from django.urls import reverse

from core.money import MAX_AMOUNT
from wallet.models import WalletEntry
from wallet.services import WalletError, wallet_adjust

pytestmark = pytest.mark.django_db

AT_MOST = f"An adjustment is at most {MAX_AMOUNT} USD, to credit or to debit."


@pytest.mark.parametrize("amount", [MAX_AMOUNT + Decimal("0.01"), -MAX_AMOUNT - 1])
def test_the_service_refuses_an_adjustment_above_the_bound(wallet, seller, staff, amount):
    with pytest.raises(WalletError) as refused:
        wallet_adjust(seller_id=seller.pk, amount=amount, reason="Typo", staff=staff)

    assert str(refused.value) == AT_MOST
    assert WalletEntry.objects.count() == 1


def test_an_adjustment_at_the_bound_is_posted(wallet, seller, staff):
    entry = wallet_adjust(seller_id=seller.pk, amount=MAX_AMOUNT, reason="Big", staff=staff)

    assert entry.balance_after == MAX_AMOUNT + 10


def test_a_refusal_below_zero_names_the_shop(wallet, seller, staff):
    with pytest.raises(WalletError) as refused:
        wallet_adjust(seller_id=seller.pk, amount=Decimal("-10.01"), reason="Fix", staff=staff)

    assert str(refused.value) == (
        "This would take the wallet of Acme Gadgets to -0.01 USD: a wallet never goes below zero."
    )


class TestTheAdminsForm:
    @pytest.fixture
    def url(self, wallet):
        return reverse("admin:wallet_wallet_adjust", args=[wallet.pk])

    @pytest.mark.parametrize(
        "amount",
        [
            "99999999999999.99",
            "-99999999999999.99",
            "10000000000.00",
            "-10000000000",
            "1e20",
            "9" * 40,
        ],
    )
    def test_an_amount_above_the_bound_is_a_form_error(self, client, staff, url, wallet, amount):
        client.force_login(staff)

        response = client.post(url, {"amount": amount, "reason": "Typo"})

        assert response.status_code == 200
        assert AT_MOST in response.content.decode()
        assert WalletEntry.objects.count() == 1
        wallet.refresh_from_db()
        assert wallet.balance == Decimal("10.00")

    def test_a_refusal_below_zero_names_the_shop(self, client, staff, url):
        client.force_login(staff)

        response = client.post(url, {"amount": "-10.01", "reason": "Fix"})

        assert "This would take the wallet of Acme Gadgets to -0.01 USD" in (
            response.content.decode()
        )
