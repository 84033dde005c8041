import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sellers.models import ApiKey
from sellers.services import api_key_create, api_key_revoke
from tests.factories import SellerFactory

ME = reverse("api:me")


def bearer(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.mark.django_db
class TestKeyStorage:
    def test_only_the_hash_is_stored(self, seller):
        api_key, raw_key = api_key_create(seller=seller, name="ERP")
        row = ApiKey.objects.filter(pk=api_key.pk).values().get()
        assert raw_key not in [str(value) for value in row.values()]
        assert row["key_hash"] == hashlib.sha256(raw_key.encode()).hexdigest()
        assert raw_key.startswith(row["prefix"]) and len(row["prefix"]) < len(raw_key) // 2

    def test_keys_are_distinct(self, seller):
        raw_keys = {api_key_create(seller=seller, name="k")[1] for _ in range(20)}
        assert len(raw_keys) == 20

    def test_a_key_needs_a_name(self, seller):
        from sellers.services import SellerError

        with pytest.raises(SellerError, match="name"):
            api_key_create(seller=seller, name="   ")
        assert not ApiKey.objects.exists()


@pytest.mark.django_db
class TestBearerAuthentication:
    def test_a_valid_key_answers_for_its_seller(self, seller, api_key):
        response = bearer(api_key).get(ME)
        assert response.status_code == 200
        assert response.json()["slug"] == seller.slug

    def test_the_scheme_is_case_insensitive(self, seller, api_key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"bearer {api_key}")
        assert client.get(ME).status_code == 200

    def test_no_credentials_is_401_with_a_challenge(self):
        response = APIClient().get(ME)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json() == {"detail": "Authentication credentials were not provided."}

    @pytest.mark.parametrize(
        "header",
        [
            "Bearer",
            "Bearer two parts",
            "Bearer cbc_not-a-real-key",
            "Bearer " + "x" * 5000,
        ],
    )
    def test_bad_credentials_are_401(self, api_key, header):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get(ME)
        assert response.status_code == 401
        assert "detail" in response.json()

    def test_non_ascii_key_is_401(self, api_key):
        response = APIClient().get(
            ME, HTTP_AUTHORIZATION="Bearer clé-ünïcode".encode().decode("latin-1")
        )
        assert response.status_code == 401

    def test_other_schemes_are_not_accepted(self, api_key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key}")
        assert client.get(ME).status_code == 401

    def test_session_login_does_not_open_the_api(self, client, seller_user):
        # The API is for integrators' keys; a Seller Center session is not a key.
        client.force_login(seller_user)
        assert client.get(ME).status_code == 401


@pytest.mark.django_db
class TestRevocation:
    def test_a_revoked_key_is_401(self, seller, api_key):
        client = bearer(api_key)
        assert client.get(ME).status_code == 200
        api_key_revoke(api_key=ApiKey.objects.get(seller=seller))
        response = client.get(ME)
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid or revoked API key."}

    def test_revoking_twice_keeps_the_first_revocation(self, seller, account_manager):
        api_key, _ = api_key_create(seller=seller, name="ERP")
        first = timezone.now() - timedelta(days=1)
        assert api_key_revoke(api_key=api_key, revoked_by=account_manager, now=first) is True
        assert api_key_revoke(api_key=api_key, now=timezone.now()) is False
        api_key.refresh_from_db()
        assert api_key.revoked_at == first
        assert api_key.revoked_by == account_manager

    def test_revoking_one_key_leaves_the_others(self, seller):
        _, kept = api_key_create(seller=seller, name="kept")
        revoked, _ = api_key_create(seller=seller, name="revoked")
        api_key_revoke(api_key=revoked)
        assert bearer(kept).get(ME).status_code == 200


@pytest.mark.django_db
class TestLastUse:
    def test_use_is_recorded(self, seller):
        api_key, raw_key = api_key_create(seller=seller, name="ERP")
        assert api_key.last_used_at is None
        with time_machine.travel("2026-03-02 10:00:00Z", tick=False):
            bearer(raw_key).get(ME)
        api_key.refresh_from_db()
        assert api_key.last_used_at.isoformat() == "2026-03-02T10:00:00+00:00"

    def test_use_is_recorded_to_the_minute(self, seller):
        api_key, raw_key = api_key_create(seller=seller, name="ERP")
        client = bearer(raw_key)
        with time_machine.travel("2026-03-02 10:00:00Z", tick=False):
            client.get(ME)
        with time_machine.travel("2026-03-02 10:00:30Z", tick=False):
            client.get(ME)
        api_key.refresh_from_db()
        assert api_key.last_used_at.isoformat() == "2026-03-02T10:00:00+00:00"
        with time_machine.travel("2026-03-02 10:05:00Z", tick=False):
            client.get(ME)
        api_key.refresh_from_db()
        assert api_key.last_used_at.isoformat() == "2026-03-02T10:05:00+00:00"

    def test_a_failed_authentication_records_nothing(self, seller):
        api_key, raw_key = api_key_create(seller=seller, name="ERP")
        bearer(raw_key + "x").get(ME)
        api_key.refresh_from_db()
        assert api_key.last_used_at is None


@pytest.mark.django_db
def test_me_answers_slug_name_and_plan(seller, api_client):
    response = api_client.get(ME)
    assert response.json() == {"slug": seller.slug, "name": "Acme Gadgets", "plan": "monthly"}


@pytest.mark.django_db
def test_me_reports_a_yearly_plan():
    from tests.factories import make_api_key

    yearly = SellerFactory(name="Yearly Shop", plan="yearly")
    assert bearer(make_api_key(yearly)).get(ME).json()["plan"] == "yearly"
