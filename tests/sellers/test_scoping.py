import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from sellers.models import ApiKey
from sellers.services import api_key_create

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.sellers.scoping_urls")]


def bearer(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def keys(seller, other_seller):
    mine, my_raw = api_key_create(seller=seller, name="k-mine")
    theirs, their_raw = api_key_create(seller=other_seller, name="k-theirs")
    return mine, my_raw, theirs, their_raw


def test_me_is_the_keys_seller(seller, other_seller, keys):
    _, my_raw, _, their_raw = keys
    assert bearer(my_raw).get(reverse("api:me")).json()["slug"] == seller.slug
    assert bearer(their_raw).get(reverse("api:me")).json()["slug"] == other_seller.slug


def test_lists_hold_only_the_callers_objects(keys):
    mine, my_raw, theirs, their_raw = keys
    assert [k["id"] for k in bearer(my_raw).get("/probe/keys/").json()] == [mine.pk]
    assert [k["id"] for k in bearer(their_raw).get("/probe/keys/").json()] == [theirs.pk]


def test_a_view_with_its_own_base_queryset_is_still_scoped(keys):
    mine, my_raw, _, _ = keys
    assert [k["id"] for k in bearer(my_raw).get("/probe/keys-by-hook/").json()] == [mine.pk]


def test_another_sellers_object_is_404(keys):
    mine, my_raw, theirs, _ = keys
    assert bearer(my_raw).get(f"/probe/keys/{mine.pk}/").status_code == 200
    response = bearer(my_raw).get(f"/probe/keys/{theirs.pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No ApiKey matches the given query."}


def test_the_seller_never_comes_from_the_request(seller, other_seller, keys):
    _, my_raw, _, _ = keys
    client = bearer(my_raw)
    for attempt in (
        client.get(reverse("api:me"), {"seller": other_seller.slug}),
        client.get(reverse("api:me"), HTTP_X_SELLER=other_seller.slug),
    ):
        assert attempt.json()["slug"] == seller.slug
    assert ApiKey.objects.count() == 2
