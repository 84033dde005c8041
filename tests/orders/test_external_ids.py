"""External ids: every id the API takes can be read back at its URL and take events there;
the ids it could not (control and invisible characters, white space at an end, shapes that
route elsewhere or that clients rewrite) are refused with a message saying why."""

import json
from urllib.parse import quote

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orders.models import Order
from orders.services import external_id_errors
from tests.orders.test_validation import order

pytestmark = pytest.mark.django_db

ORDERS = reverse("api:order-list")
BULK = reverse("api:order-bulk")
UNPAID = {"status": "unpaid", "paid_at": None, "shipped_at": None, "delivered_at": None}


@pytest.fixture
def api(api_client):
    api_client.raise_request_exception = False
    return api_client


def unpaid(external_id: str) -> dict:
    return {k: v for k, v in order(external_id=external_id, **UNPAID).items() if v is not None}


def post(api, url: str, body):
    return api.post(url, json.dumps(body), content_type="application/json")


REFUSED = [
    pytest.param("XE-a\nb", "control", id="line-feed"),
    pytest.param("A\r", "white space", id="carriage-return-at-the-end"),
    pytest.param("A\x7f1", "control", id="delete"),
    pytest.param("A\x851", "control", id="next-line"),
    pytest.param("A\u200b1", "invisible", id="zero-width-space"),
    pytest.param("\ufeffA", "invisible", id="byte-order-mark"),
    pytest.param("A\u00ad1", "invisible", id="soft-hyphen"),
    pytest.param("A\u2028B", "invisible", id="line-separator"),
    pytest.param("A\u2029B", "invisible", id="paragraph-separator"),
    pytest.param(" A-1", "white space", id="leading-space"),
    pytest.param("A-1 ", "white space", id="trailing-space"),
    pytest.param("\u3000A-1", "white space", id="leading-ideographic-space"),
    pytest.param("\tA-1", "white space", id="leading-tab"),
    pytest.param("XE-x/events", "/events", id="ends-in-events"),
    pytest.param("bulk", "another endpoint", id="bulk"),
    pytest.param(".", '"."', id="dot"),
    pytest.param("..", '"."', id="dot-dot"),
    pytest.param("a/./b", '"."', id="dot-segment"),
    pytest.param("a/../b", '"."', id="dot-dot-segment"),
    pytest.param("./a", '"."', id="leading-dot-segment"),
    pytest.param("a/..", '"."', id="trailing-dot-dot-segment"),
]


@pytest.mark.parametrize(("external_id", "words"), REFUSED)
def test_an_id_that_could_not_be_read_back_is_refused(api, external_id, words):
    response = post(api, ORDERS, unpaid(external_id))

    assert response.status_code == 400, response.content
    (message, *_) = response.json()["external_id"]
    assert words in message, message
    assert not Order.objects.exists()


@pytest.mark.parametrize(("external_id", "words"), REFUSED)
def test_an_id_that_could_not_be_read_back_is_an_error_result_in_bulk(api, external_id, words):
    response = post(api, BULK, {"orders": [unpaid(external_id), unpaid("GOOD")]})

    refused, created = response.json()["results"]
    assert refused["result"] == "error" and words in refused["errors"]["external_id"][0]
    assert created["result"] == "created"


def test_the_message_names_the_invisible_character():
    assert external_id_errors("A\u200b1") == [
        "An external id has no control or invisible characters, such as a line break or a "
        "zero-width space; it has U+200B."
    ]


def round_trip(api, external_id: str, *, safe: str = "") -> None:
    """The order is read at its URL, percent-encoded as an HTTP client encodes a path
    parameter, and takes an event there."""
    url = f"{ORDERS}{quote(external_id, safe=safe)}/"
    read = api.get(url)
    assert read.status_code == 200, (external_id, url, read.content)
    assert read.json()["external_id"] == external_id
    paid = post(api, f"{url}events/", {"type": "paid", "occurred_at": "2026-10-02T10:00:00Z"})
    assert paid.status_code == 200, (external_id, url, paid.content)
    assert paid.json()["status"] == "paid"


@pytest.mark.parametrize(
    "external_id",
    [
        "2026/10/0001",
        "a b",
        "events",
        "events/x",
        "bulk-1",
        "bulk/1",
        "a.b",
        "...",
        "a/.../b",
        "/a",
        "a/",
        "a//b",
        "/",
        "http://example.com/x",
        ".a/b.",
        "100%",
        "a%2Fb",
        "a?b#c",
        "ä/ü",
        "名前-1",
        "x" * 64,
    ],
)
@pytest.mark.parametrize("safe", ["", "/"], ids=["slash-encoded", "slash-kept"])
def test_an_id_with_unusual_characters_round_trips(api, external_id, safe):
    assert post(api, ORDERS, unpaid(external_id)).status_code == 201
    round_trip(api, external_id, safe=safe)


# Mostly the characters that routes, clients and encodings treat specially.
special = st.sampled_from(
    ["/", ".", "..", "events", "bulk", "%", "%2F", "?", "#", " ", "\t", "\n", "\\", ";", "+"]
)
ids = st.lists(
    st.one_of(special, st.characters(codec="utf-8"), st.text(max_size=3)),
    min_size=1,
    max_size=12,
).map("".join)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(external_id=ids)
@example(external_id="XE-a\nb")
@example(external_id="XE-x/events")
@example(external_id="a/events/b")
def test_every_id_the_api_takes_is_read_back_at_its_url(api, external_id):
    with transaction.atomic():
        created = post(api, ORDERS, unpaid(external_id))
        if created.status_code == 201:
            round_trip(api, external_id)
        else:
            assert created.status_code == 400, (external_id, created.content)
            assert set(created.json()) == {"external_id"}, (external_id, created.json())
        transaction.set_rollback(True)
