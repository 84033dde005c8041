import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sellers.models import ApiKey
from sellers.services import api_key_create
from tests.factories import PASSWORD, SellerUserFactory, StaffUserFactory

pytestmark = pytest.mark.django_db

PAGES = ["home", "campaigns", "orders", "settled-records", "order-cashback", "api-keys"]


@pytest.mark.parametrize("name", PAGES)
def test_pages_need_a_login(client, name):
    url = reverse(f"seller:{name}")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('seller:login')}?next={url}"


@pytest.mark.parametrize("name", PAGES)
def test_pages_show_the_shop_and_its_account_manager(seller_client, name):
    response = seller_client.get(reverse(f"seller:{name}"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Gadgets" in html
    assert "Alex Morgan" in html and "mailto:alex@cashback.example" in html
    for label in ("Campaigns", "Orders", "Settled records", "Order Cashback Dashboard", "API keys"):
        assert label in html


def test_the_user_comes_with_their_shop_and_account_manager(seller_client):
    """One query reads the session's user, shop and account manager (sellers.backends)."""
    with CaptureQueriesContext(connection) as captured:
        assert seller_client.get(reverse("seller:home")).status_code == 200
    user_queries = [q["sql"] for q in captured if 'FROM "sellers_user"' in q["sql"]]
    assert len(user_queries) == 1
    assert 'JOIN "sellers_seller"' in user_queries[0]
    assert user_queries[0].count('JOIN "sellers_user"') == 1  # the account manager
    assert not [q for q in captured if 'FROM "sellers_seller"' in q["sql"]]


def test_a_deactivated_user_is_logged_out(seller_client, seller_user):
    seller_user.is_active = False
    seller_user.save(update_fields=["is_active"])
    assert seller_client.get(reverse("seller:home")).status_code == 302


def test_a_shop_without_account_manager_says_so(client, other_seller):
    client.force_login(SellerUserFactory(seller=other_seller))
    assert (
        "No account manager is assigned yet." in client.get(reverse("seller:home")).content.decode()
    )


def test_login_with_a_shop_user(client, seller_user):
    response = client.post(
        reverse("seller:login"), {"username": "acme-owner", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == reverse("seller:home")


def test_login_follows_next(client, seller_user):
    target = reverse("seller:api-keys")
    response = client.post(
        f"{reverse('seller:login')}?next={target}",
        {"username": "acme-owner", "password": PASSWORD, "next": target},
    )
    assert response["Location"] == target


def test_login_refuses_a_wrong_password(client, seller_user):
    response = client.post(reverse("seller:login"), {"username": "acme-owner", "password": "x"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_refuses_staff_without_a_shop(client):
    StaffUserFactory(username="staffer")
    response = client.post(reverse("seller:login"), {"username": "staffer", "password": PASSWORD})
    assert "does not belong to a shop" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_logged_in_user_without_a_shop_gets_403(client):
    client.force_login(StaffUserFactory())
    response = client.get(reverse("seller:home"))
    assert response.status_code == 403
    assert "does not belong to a shop" in response.content.decode()


def test_logout(seller_client):
    response = seller_client.post(reverse("seller:logout"))
    assert response.status_code == 302
    assert seller_client.get(reverse("seller:home")).status_code == 302


class TestApiKeysPage:
    def test_create_shows_the_key_once(self, seller_client, seller):
        response = seller_client.post(reverse("seller:api-keys"), {"name": "ERP"})
        assert response.status_code == 200
        raw_key = response.context["raw_key"]
        assert raw_key and raw_key in response.content.decode()
        key = ApiKey.objects.get(seller=seller)
        assert key.name == "ERP" and key.key_hash == ApiKey.hash_of(raw_key)
        listing = seller_client.get(reverse("seller:api-keys")).content.decode()
        assert raw_key not in listing
        assert key.prefix in listing

    def test_a_key_needs_a_name(self, seller_client, seller):
        response = seller_client.post(reverse("seller:api-keys"), {"name": "  "})
        assert response.status_code == 400
        assert "This field is required." in response.content.decode()
        assert not ApiKey.objects.exists()

    def test_a_name_too_long_is_refused(self, seller_client):
        response = seller_client.post(reverse("seller:api-keys"), {"name": "n" * 101})
        assert response.status_code == 400
        assert not ApiKey.objects.exists()

    def test_revoke(self, seller_client, seller):
        key, _ = api_key_create(seller=seller, name="ERP")
        response = seller_client.post(reverse("seller:api-key-revoke", args=[key.pk]), follow=True)
        key.refresh_from_db()
        assert key.revoked_at is not None
        assert "is revoked" in response.content.decode()

    def test_revoke_is_a_post(self, seller_client, seller):
        key, _ = api_key_create(seller=seller, name="ERP")
        assert seller_client.get(reverse("seller:api-key-revoke", args=[key.pk])).status_code == 405
        key.refresh_from_db()
        assert key.revoked_at is None

    def test_another_sellers_keys_are_invisible(self, seller_client, other_seller):
        theirs, _ = api_key_create(seller=other_seller, name="Their ERP")
        listing = seller_client.get(reverse("seller:api-keys")).content.decode()
        assert "Their ERP" not in listing and theirs.prefix not in listing
        response = seller_client.post(reverse("seller:api-key-revoke", args=[theirs.pk]))
        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.revoked_at is None
