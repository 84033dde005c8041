"""Who may reach what: every route the project serves, for anonymous visitors, another
seller, the owner and staff. A route with no entry here fails the test (deny by default).

Another seller's objects are 404 everywhere and never listed; the seller is always the one
of the session or the key.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from cashback.models import CashbackMonth, Registration
from cashback.order_cashback import close_months
from cashback.services import Actor, registration_create
from fees.models import SettledRecord
from fees.services import settle_fees
from orders.services import orders_create
from sellers.models import ApiKey
from sellers.services import api_key_create
from tests.factories import SellerFactory, SellerUserFactory, StaffUserFactory, make_campaign
from tests.orders.conftest import T0, order_input
from wallet.services import wallets_for

pytestmark = pytest.mark.django_db

ANONYMOUS, OTHER, OWNER, STAFF = "anonymous", "other seller", "owner", "staff"
ROLES = (ANONYMOUS, OTHER, OWNER, STAFF)


@dataclass(frozen=True)
class Route:
    """How a route is reached: `kind` is public, seller (Seller Center session), api (key);
    `owned` names the owner's object its URL points at ("" for none); `method` the one it
    answers."""

    kind: str
    owned: str = ""
    method: str = "get"
    ok: int = 200  # the owner's answer
    signed_in: int | None = None  # a public route's answer to a signed-in user, if not `ok`


SELLER, API, PUBLIC = "seller", "api", "public"
ROUTES = {
    "root": Route(PUBLIC, ok=302),
    "healthz": Route(PUBLIC),
    "api-schema": Route(PUBLIC),
    "api-docs": Route(PUBLIC),
    "seller:login": Route(PUBLIC, signed_in=302),  # to the Seller Center
    "seller:logout": Route(PUBLIC, method="post", ok=302),
    "seller:home": Route(SELLER),
    "seller:api-keys": Route(SELLER),
    "seller:api-key-revoke": Route(SELLER, owned="api_key", method="post", ok=302),
    "seller:orders": Route(SELLER),
    "seller:order": Route(SELLER, owned="order"),
    "seller:settled-records": Route(SELLER),
    "seller:settled-record": Route(SELLER, owned="record"),
    "seller:settled-record-csv": Route(SELLER, owned="record"),
    "seller:campaigns": Route(SELLER),
    "seller:campaign": Route(SELLER, owned="campaign"),
    # without agreeing to the terms, refused
    "seller:campaign-register": Route(SELLER, owned="campaign", method="post", ok=400),
    "seller:registration-withdraw": Route(SELLER, owned="registration", method="post", ok=302),
    "seller:registration-cancel-withdraw": Route(
        SELLER, owned="registration", method="post", ok=302
    ),
    "seller:order-cashback": Route(SELLER),
    "seller:order-cashback-month": Route(SELLER, owned="month"),
    "api:me": Route(API),
    "api:order-list": Route(API),
    "api:order-bulk": Route(API, method="post", ok=400),  # an empty body is refused
    "api:order-events": Route(API, owned="order", method="post", ok=400),
    "api:order-detail": Route(API, owned="order"),
    "api:settlement-list": Route(API),
    "api:settlement-detail": Route(API, owned="record"),
    "api:cashback-summary": Route(API),
    "api:cashback-months": Route(API),
    "api:cashback-month": Route(API, owned="month"),
    "api:campaign-list": Route(API),
    "api:campaign-detail": Route(API, owned="campaign"),
    "api:campaign-register": Route(API, owned="campaign", method="post", ok=400),
    "api:registration-list": Route(API),
    "api:registration-detail": Route(API, owned="registration"),
    "api:registration-withdraw": Route(API, owned="registration", method="post"),
    "api:registration-cancel-withdraw": Route(API, owned="registration", method="post", ok=409),
    "api:wallet": Route(API),
    "api:wallet-entries": Route(API),
}
# Not one seller's: a published campaign, and a month (each seller sees its own of it).
SHARED = {"campaign", "month"}


def routed_names() -> set[str]:
    """Every named route outside the admin, as `namespace:name`."""
    names: set[str] = set()

    def walk(patterns, namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.app_name == "admin":
                    continue
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern):
                assert p.name, f"route {p.pattern} has no name, so it cannot be in the matrix"
                names.add(namespace + p.name)

    walk(get_resolver().url_patterns)
    return names


def test_every_route_has_an_entry():
    assert routed_names() == set(ROUTES), (
        "A route was added or removed: say who may reach it in ROUTES."
    )


class World:
    """Two sellers, each with an order charged a fee and settled, a registration, a closed
    Order Cashback month and an API key; a staff user with no seller."""

    def __init__(self):
        self.campaign = make_campaign(slug="bonus")
        self.sellers = {}
        for role, prefix in ((OWNER, "A"), (OTHER, "B")):
            seller = SellerFactory(name=f"Shop {prefix}")
            user = SellerUserFactory(seller=seller, username=f"user-{prefix}")
            registration = registration_create(
                seller=seller,
                campaign=self.campaign,
                agree_to_terms=True,
                actor=Actor.seller_user(user),
                now=T0 - timedelta(days=30),
            )
            (created,) = orders_create(
                seller=seller,
                inputs=[order_input(external_id=f"{prefix}-SECRET-ORDER", tracking_number="T")],
            )
            api_key, raw_key = api_key_create(seller=seller, name=f"{prefix}-secret-key")
            self.sellers[role] = {
                "seller": seller,
                "user": user,
                "registration": registration,
                "order": created.order,
                "api_key": api_key,
                "raw_key": raw_key,
            }
        settle_fees(as_of=T0 + timedelta(days=30))
        close_months(as_of=T0 + timedelta(days=40))
        for objects in self.sellers.values():
            objects["record"] = SettledRecord.objects.get(seller=objects["seller"])
            objects["month"] = CashbackMonth.objects.get(seller=objects["seller"])
        self.staff = StaffUserFactory(username="staff", is_superuser=True)

    def url(self, name: str) -> str:
        route = ROUTES[name]
        owner = self.sellers[OWNER]
        kwargs = {}
        if route.owned == "campaign":
            kwargs = {"slug": self.campaign.slug}
        elif route.owned == "order":
            kwargs = {"external_id": owner["order"].external_id}
        elif route.owned == "month":
            kwargs = {"month": owner["month"].month.strftime("%Y-%m")}
        elif route.owned:
            kwargs = {"key_id" if route.owned == "api_key" else "pk": owner[route.owned].pk}
        return reverse(name, kwargs=kwargs)

    def client(self, role: str, kind: str):
        if kind == API:
            client = APIClient()
            if role in (OWNER, OTHER):
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.sellers[role]['raw_key']}")
            elif role == STAFF:  # a staff session is no API credential
                client.force_login(self.staff)
            return client
        client = Client()
        if role in (OWNER, OTHER):
            client.force_login(self.sellers[role]["user"])
        elif role == STAFF:
            client.force_login(self.staff)
        return client


@pytest.fixture
def world(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    return World()


def expected(route: Route, role: str) -> int:
    if route.kind == PUBLIC:
        if role != ANONYMOUS and route.signed_in is not None:
            return route.signed_in
        return route.ok
    if role == ANONYMOUS:
        return 302 if route.kind == SELLER else 401
    if role == STAFF:  # staff work in the admin; they are no seller
        return 403 if route.kind == SELLER else 401
    if role == OTHER and route.owned and route.owned not in SHARED:
        return 404
    return route.ok  # the owner's; another seller's on its own page or a shared object


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_the_matrix(world, name, role):
    route = ROUTES[name]
    client = world.client(role, route.kind)
    url = world.url(name)
    before = snapshot(world)
    response = getattr(client, route.method)(url)
    want = expected(route, role)
    assert response.status_code == want, (name, role, response.content[:300])
    if role == ANONYMOUS and route.kind == SELLER:
        assert response["Location"].startswith(reverse("seller:login"))
    if role in (ANONYMOUS, OTHER, STAFF) and route.kind != PUBLIC:
        # what another seller or no seller does never touches the owner's objects
        assert snapshot(world) == before
    if role == OTHER and response.status_code == 200:
        # a list or page of the other seller never shows the owner's objects
        body = response.content.decode(errors="replace")
        assert "A-SECRET-ORDER" not in body and "A-secret-key" not in body


def snapshot(world) -> tuple:
    owner = world.sellers[OWNER]
    return (
        ApiKey.objects.filter(pk=owner["api_key"].pk).values_list("revoked_at").get(),
        Registration.objects.filter(pk=owner["registration"].pk).values_list("status").get(),
        owner["seller"].orders.count(),
    )


@pytest.mark.parametrize("kind", [SELLER, API])
def test_the_seller_never_comes_from_the_request(world, kind):
    """A seller id or slug in the query, the body or a header is never taken."""
    owner, other = world.sellers[OWNER], world.sellers[OTHER]
    client = world.client(OTHER, kind)
    name = "seller:orders" if kind == SELLER else "api:order-list"
    for params, headers in (
        ({"seller": owner["seller"].pk}, {}),
        ({"seller_id": owner["seller"].pk, "seller_slug": owner["seller"].slug}, {}),
        ({}, {"HTTP_X_SELLER": owner["seller"].slug, "HTTP_X_SELLER_ID": owner["seller"].pk}),
    ):
        response = client.get(reverse(name), params, **headers)
        body = response.content.decode()
        assert response.status_code in (200, 400)
        assert "A-SECRET-ORDER" not in body
    assert other["seller"].orders.count() == 1


# The admin -------------------------------------------------------------------------------

# What a superuser may do with each model in the admin: (add, delete). Rows the services
# write (money, histories, job runs) are read there, never added or deleted; sellers,
# campaigns and FX rates are kept for their history. Every registered model has an entry.
ADMIN = {
    "auth.group": (True, True),
    "sellers.user": (True, True),
    "sellers.seller": (True, False),
    "sellers.apikey": (False, False),
    "sellers.planchange": (False, False),
    "core.jobrun": (False, False),
    "core.sellerfailure": (False, False),
    "orders.order": (False, False),
    "wallet.wallet": (False, False),
    "wallet.walletentry": (False, False),
    "cashback.campaign": (True, False),
    "cashback.registration": (False, False),
    "cashback.fxrate": (True, False),
    "cashback.tierschedule": (True, False),  # one in force is never deleted
    "cashback.cashbackmonth": (False, False),
    "cashback.accrual": (False, False),
    "fees.feeentry": (False, False),
    "fees.settledrecord": (False, False),
    # sign-in attempts (django-axes): deleting one lifts a lockout
    "axes.accessattempt": (False, True),
    "axes.accesslog": (False, True),
    "axes.accessfailurelog": (False, True),
}


def test_every_admin_model_has_an_entry():
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    assert registered == set(ADMIN)


def admin_urls(world) -> list[tuple[str, str, int]]:
    """(url, what, the answer a superuser gets) for every page of every admin model."""
    urls = []
    for model in admin.site._registry:
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        obj = model._default_manager.order_by("pk").first()
        may_add, may_delete = ADMIN[label]
        urls.append((reverse(f"{prefix}_changelist"), label, 200))
        urls.append((reverse(f"{prefix}_add"), label, 200 if may_add else 403))
        if obj is not None:
            urls.append((reverse(f"{prefix}_change", args=[obj.pk]), label, 200))
            urls.append((reverse(f"{prefix}_history", args=[obj.pk]), label, 200))
            urls.append(
                (reverse(f"{prefix}_delete", args=[obj.pk]), label, 200 if may_delete else 403)
            )
    wallet = world.sellers[OWNER]["seller"]
    (wallet,) = wallets_for({wallet.pk}).values()
    urls.append((reverse("admin:wallet_wallet_adjust", args=[wallet.pk]), "adjust", 200))
    return urls


def test_the_admin_is_for_staff_with_permissions(world):
    staff_without_permissions = StaffUserFactory(username="new-hire")
    pages = admin_urls(world)
    assert len(pages) > 40
    clients = {
        ANONYMOUS: Client(),
        OWNER: world.client(OWNER, SELLER),
        "staff without permissions": Client(),
        "superuser": Client(),
    }
    clients["staff without permissions"].force_login(staff_without_permissions)
    clients["superuser"].force_login(world.staff)
    for url, what, superuser_answer in pages:
        for role in (ANONYMOUS, OWNER):
            response = clients[role].get(url)
            assert response.status_code == 302, (url, role)
            assert response["Location"].startswith(reverse("admin:login")), (url, role)
        response = clients["staff without permissions"].get(url)
        assert response.status_code == 403, (url, what)
        response = clients["superuser"].get(url)
        assert response.status_code == superuser_answer, (url, what)
