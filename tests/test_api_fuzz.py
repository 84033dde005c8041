"""Fuzzing the integrators' API against its own OpenAPI schema, with schemathesis.

Every operation of /api/schema/ is called in-process, as a seller with a real API key, with
data the schema allows (positive) and data it forbids (negative). The answers must keep to
what the schema says: no 5xx, a documented status code, the documented content type and
body, and a request the schema forbids is refused.

Each operation is one test item with its own `world`; each generated example runs in a
savepoint that is rolled back, so orders posted or registrations withdrawn by one example
are never seen by the next, and every example starts from the same world.
"""

import json
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import jsonschema
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from cashback.order_cashback import close_months, credit_cashback
from cashback.services import Actor, registration_create
from config.wsgi import application
from core.dates import EARLIEST
from core.money import MAX_AMOUNT
from fees.models import SettledRecord
from fees.services import settle_fees
from orders.api import BULK_LIMIT
from orders.services import orders_create
from sellers import services as seller_services
from tests.factories import SellerFactory, SellerUserFactory, make_api_key, make_campaign
from tests.orders.conftest import T0, body, order_input

pytestmark = pytest.mark.django_db

# The schema as the app serves it, through the WSGI application that then answers the
# generated requests (sent with Host: localhost, one of the default ALLOWED_HOSTS).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

# The world's key is known before the world is: schemathesis builds the cases of its
# coverage phase while collecting, and authenticates them then.
KEY_SECRET = "fuzz-key-known-while-collecting"
KEY = seller_services.API_KEY_PREFIX + KEY_SECRET


class World:
    """A seller with an API key; a delivered voucher order charged a fee, settled, and its
    month closed and credited; an unpaid order to move on; an approved registration for
    one open campaign, and another open campaign to register for."""

    def __init__(self):
        self.campaign = make_campaign(slug="bonus")
        self.open_campaign = make_campaign(slug="spring-sale")
        self.seller = SellerFactory(name="Fuzz Shop")
        user = SellerUserFactory(seller=self.seller, username="fuzz-owner")
        self.registration = registration_create(
            seller=self.seller,
            campaign=self.campaign,
            agree_to_terms=True,
            actor=Actor.seller_user(user),
            now=T0 - timedelta(days=30),
        )
        unpaid = {"paid_at": None, "shipped_at": None, "delivered_at": None}
        orders_create(
            seller=self.seller,
            inputs=[
                # 1,180 USD of GMV: the 0.5 % tier, so that the month credits the wallet
                order_input(external_id="A-1", campaign="bonus", net_product_price=Decimal(1200)),
                order_input(external_id="U-1", status="unpaid", tracking_number="", **unpaid),
            ],
        )
        settle_fees(as_of=T0 + timedelta(days=30))
        close_months(as_of=T0 + timedelta(days=31))
        credit_cashback(as_of=T0 + timedelta(days=34))
        self.record = SettledRecord.objects.get(seller=self.seller)
        with mock.patch.object(seller_services.secrets, "token_urlsafe", return_value=KEY_SECRET):
            assert make_api_key(self.seller) == KEY

    def path_value(self, path: str, name: str) -> str | None:
        """The world's object for the parameter `name` of the route `path`, if it has one."""
        if name == "id" and "/registrations/" in path:
            return str(self.registration.pk)
        if name == "id" and "/settlements/" in path:
            return str(self.record.pk)
        return {"slug": "spring-sale", "external_id": "U-1", "month": f"{T0:%Y-%m}"}.get(name)


_worlds: list[World] = []  # the world of the test that runs


@pytest.fixture
def world():
    # Django's test client keeps the test's connection (and so its transaction) across
    # requests; these go through the real WSGI handler, which would close it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        _worlds.append(World())
        yield _worlds[-1]
    finally:
        _worlds.clear()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.auth()
class WorldKey:
    """`Authorization: Bearer <key>` of the world's seller. Set through schemathesis, so
    that the cases it generates without the header, or with a bad one, stay as they are."""

    def get(self, case, context):
        return KEY

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.hook
def flatmap_case(context, case):
    """Half the cases of an object route go to the world's object, so that its 200 and its
    actions are exercised, not only the 404 of a drawn identifier."""
    if not _worlds:
        return st.just(case)
    world = _worlds[-1]
    known = {
        name: value
        for name in case.path_parameters or {}
        if (value := world.path_value(case.operation.path, name)) is not None
    }
    if not known:
        return st.just(case)

    def pointed(use_known: bool):
        if use_known:
            case.path_parameters = {**case.path_parameters, **known}
        return case

    return st.booleans().map(pointed)


def _bulk_refuses_each_bad_order(failure, case, response) -> bool:
    """By design, POST /orders/bulk/ takes each order on its own: a well-formed request
    is 200, and each order the schema does not allow is answered `"result": "error"` in
    its place. Negative data inside the list is dropped only when that holds."""
    if not (
        failure.code == "ST201"
        and case.operation.label == "POST /api/v1/orders/bulk/"
        and response.status_code == 200
        and isinstance(case.body, dict)
        and set(case.body) == {"orders"}
        and isinstance(case.body["orders"], list)
    ):
        return False
    body = case.operation.get_body_for_media_type("application/json").validation_schema
    allowed = jsonschema.validators.validator_for(body, default=jsonschema.Draft4Validator)(body)
    results = json.loads(response.content)["results"]
    return len(results) == len(case.body["orders"]) and all(
        result["result"] == "error"
        for order, result in zip(case.body["orders"], results, strict=True)
        if not allowed.is_valid({"orders": [order]})
    )


def _too_many_orders_are_413(failure, case, response) -> bool:
    """More orders than the bulk's maxItems are refused with 413 (SPEC section 9), a status
    schemathesis does not count as a refusal."""
    return (
        failure.code == "ST201"
        and case.operation.label == "POST /api/v1/orders/bulk/"
        and response.status_code == 413
        and len(case.body["orders"]) > BULK_LIMIT
    )


BY_DESIGN = [_bulk_refuses_each_bad_order, _too_many_orders_are_413]


@schema.hook
def filter_failure(context, failure, case, response):
    return not any(drop(failure, case, response) for drop in BY_DESIGN)


# Every check schemathesis has for a single call, except `positive_data_acceptance`: the
# schema describes each field, not the rules between fields and the state of the objects
# (a delivered order needs its delivered_at, registering needs agree_to_terms: true, an
# event must be one the order's status allows), so a request the schema allows may rightly
# be refused with 400.
EXCLUDED_CHECKS = ["positive_data_acceptance"]


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    # `world` is built once per operation, not per example (see the module's docstring).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_to_its_schema(case, world):
    excluded = [getattr(schemathesis.checks, name) for name in EXCLUDED_CHECKS]
    with transaction.atomic():
        case.call_and_validate(excluded_checks=excluded)
        transaction.set_rollback(True)


# The edges of the input rules, sent as they are: each answers as the schema documents, with
# the status the rule gives. Amounts at and just above MAX_AMOUNT, times at and just before
# EARLIEST, external ids with control or invisible characters or the shapes routes take.

AT = EARLIEST.isoformat()
BEFORE = (EARLIEST - timedelta(microseconds=1)).isoformat()
ABOVE = f"{MAX_AMOUNT + Decimal('0.01')}"
AT_EARLIEST = {"placed_at": AT, "paid_at": AT, "shipped_at": AT, "delivered_at": AT}
UNPAID = {"status": "unpaid", "paid_at": None, "shipped_at": None, "delivered_at": None}


def priced(price: str, **overrides) -> dict:
    return body(net_product_price=price, seller_funded_discount="0.00", **overrides)


EDGES = [
    ("POST", "/api/v1/orders/", {}, priced(str(MAX_AMOUNT), external_id="E-1"), 201),
    ("POST", "/api/v1/orders/", {}, priced(ABOVE, external_id="E-1"), 400),
    ("POST", "/api/v1/orders/", {}, priced("99999999999999.99", external_id="E-1"), 400),
    ("POST", "/api/v1/orders/", {}, body(external_id="E-1", **AT_EARLIEST), 201),
    (
        "POST",
        "/api/v1/orders/",
        {},
        body(external_id="E-1", **{**AT_EARLIEST, "delivered_at": BEFORE}),
        400,
    ),
    ("POST", "/api/v1/orders/", {}, body(external_id="E-1", **UNPAID, placed_at=BEFORE), 400),
    ("POST", "/api/v1/orders/", {}, body(external_id="XE-a\nb"), 400),
    ("POST", "/api/v1/orders/", {}, body(external_id="XE-a\u200bb"), 400),
    ("POST", "/api/v1/orders/", {}, body(external_id=" XE-a"), 400),
    ("POST", "/api/v1/orders/", {}, body(external_id="XE-x/events"), 400),
    ("POST", "/api/v1/orders/", {}, body(external_id="2026/10/1"), 201),
    (
        "POST",
        "/api/v1/orders/bulk/",
        {},
        {
            "orders": [
                priced(str(MAX_AMOUNT), external_id="B-1"),
                priced(ABOVE, external_id="B-2"),
                body(external_id="B-3", **AT_EARLIEST),
                body(external_id="B-\r"),
            ]
        },
        200,
    ),
    (
        "POST",
        "/api/v1/orders/{external_id}/events/",
        {"external_id": "U-1"},
        {"type": "paid", "occurred_at": BEFORE},
        400,
    ),
    (
        "POST",
        "/api/v1/orders/{external_id}/events/",
        {"external_id": "A-1"},
        {"type": "refunded", "occurred_at": T0.isoformat(), "amount": ABOVE},
        400,
    ),
]
# The key is set on each case here, not drawn: the drawn cases test authentication.
EDGE_EXCLUDED_CHECKS = [*EXCLUDED_CHECKS, "ignored_auth"]


def test_the_edges_of_the_input_rules_keep_to_the_schema(world):
    # One world for all of them (each in a savepoint rolled back): building one per edge
    # would double the time of this module's examples.
    excluded = [getattr(schemathesis.checks, name) for name in EDGE_EXCLUDED_CHECKS]
    for method, path, path_parameters, data, status in EDGES:
        operation = schema[path][method]
        kwargs = {} if data is None else {"body": data, "media_type": "application/json"}
        case = operation.Case(path_parameters=path_parameters, **kwargs)
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {KEY}"}
        with transaction.atomic():
            response = case.call_and_validate(excluded_checks=excluded)
            transaction.set_rollback(True)
        assert response.status_code == status, (method, path, data, response.text[:500])
        if path == "/api/v1/orders/bulk/":
            results = [r["result"] for r in response.json()["results"]]
            assert results == ["created", "error", "created", "error"], response.json()
