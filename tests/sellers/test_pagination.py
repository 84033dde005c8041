"""The shared cursor pagination: a cursor that does not decode, strictly, as one of ours is
the same 404 as any other bad cursor, on every list."""

from base64 import b64encode
from datetime import timedelta

import pytest
from django.urls import reverse

from orders.services import orders_create
from tests.orders.conftest import T0, order_input

pytestmark = pytest.mark.django_db

LISTS = [
    reverse("api:order-list"),
    reverse("api:registration-list"),
    reverse("api:campaign-list"),
    reverse("api:settlement-list"),
    reverse("api:wallet-entries"),
    reverse("api:cashback-months"),
]


def cursor(query: str) -> str:
    return b64encode(query.encode()).decode()


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("!!!!", id="no-base64-at-all"),
        pytest.param("%%%", id="percents"),
        pytest.param("cD0x!", id="base64-and-junk"),
        pytest.param("cD0", id="bad-padding"),
        pytest.param(" cD0x", id="leading-space"),
        pytest.param("", id="empty"),
        pytest.param("é", id="not-ascii"),
        pytest.param(cursor(""), id="nothing-inside"),
        pytest.param(cursor("x=1"), id="unknown-token"),
        pytest.param(cursor("p=1&p=2"), id="a-token-twice"),
        pytest.param("garbage", id="garbage"),
    ],
)
def test_a_cursor_that_is_not_ours_is_404(api_client, url, value):
    response = api_client.get(url, {"cursor": value})

    assert response.status_code == 404, (value, response.content)
    assert response.json() == {"detail": "Invalid cursor"}


def test_the_cursors_it_gives_are_taken(api_client, seller):
    orders_create(
        seller=seller,
        inputs=[
            order_input(external_id=f"A-{n}", placed_at=T0 + timedelta(minutes=n)) for n in range(3)
        ],
    )
    seen, url = [], reverse("api:order-list") + "?page_size=1"
    while url:
        page = api_client.get(url)
        assert page.status_code == 200, page.content
        seen += [o["external_id"] for o in page.json()["results"]]
        url = page.json()["next"]
    assert seen == ["A-2", "A-1", "A-0"]
    back = api_client.get(page.json()["previous"])
    assert [o["external_id"] for o in back.json()["results"]] == ["A-1"]
