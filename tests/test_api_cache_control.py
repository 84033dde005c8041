"""No cache keeps an answer of the API: each carries Cache-Control: no-store, whether it
answers a seller's data, refuses a request, or finds nothing."""

import json

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", reverse("api:me"), None),
        ("get", reverse("api:order-list"), None),
        ("get", reverse("api:wallet"), None),
        ("get", reverse("api:order-detail", args=["NONE"]), None),
        ("post", reverse("api:order-list"), {"external_id": "A-1"}),
        ("get", "/api/v1/no-such-thing/", None),
    ],
)
def test_every_answer_of_the_api_is_no_store(api_client, method, url, body):
    kwargs = {} if body is None else {"data": json.dumps(body), "content_type": "application/json"}
    response = getattr(api_client, method)(url, **kwargs)

    assert response["Cache-Control"] == "no-store", (url, response.status_code)


def test_a_refused_key_is_no_store_too(anonymous_api_client):
    response = anonymous_api_client.get(reverse("api:me"))

    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"


def test_the_pages_keep_their_own_caching(seller_client):
    response = seller_client.get(reverse("seller:home"))

    assert response.get("Cache-Control") != "no-store"
