"""No answer under /api/ is an HTML page: Django's own 400, 403, 404 and 500, and a body
above the size limit (413), answer JSON {"detail": ...} there, while the Seller Center and
the admin keep their pages."""

import json

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import path, reverse

from config import urls as config_urls
from config import views
from orders.models import Order
from tests.orders.test_validation import order

pytestmark = pytest.mark.django_db


def _refuse(request) -> HttpResponse:
    raise PermissionDenied("Not for you.")


def _fail(request) -> HttpResponse:
    raise RuntimeError("A bug.")


# The project's URLs and handlers, with views that fail as a bug or a refusal would.
urlpatterns = [
    path("api/v1/test-forbidden/", _refuse),
    path("api/v1/test-fails/", _fail),
    path("seller/test-forbidden/", _refuse),
    path("seller/test-fails/", _fail),
    *config_urls.urlpatterns,
]
handler400, handler403 = config_urls.handler400, config_urls.handler403
handler404, handler500 = config_urls.handler404, config_urls.handler500


def is_json_detail(response, status: int) -> bool:
    return (
        response.status_code == status
        and response["Content-Type"] == "application/json"
        and set(json.loads(response.content)) == {"detail"}
    )


def is_page(response, status: int) -> bool:
    return response.status_code == status and response["Content-Type"].startswith("text/html")


@pytest.fixture
def anyone(client):
    client.raise_request_exception = False
    return client


@pytest.mark.urls(__name__)
class TestDjangosOwnErrors:
    def test_a_bad_host_is_json_under_the_api_and_a_page_elsewhere(self, anyone):
        response = anyone.get("/api/v1/me/", HTTP_HOST="evil.example")
        assert is_json_detail(response, 400)
        assert response.json() == {"detail": "This host name is not served here."}
        assert is_page(anyone.get("/seller/", HTTP_HOST="evil.example"), 400)

    def test_a_refusal_is_json_under_the_api_and_a_page_elsewhere(self, anyone):
        response = anyone.get("/api/v1/test-forbidden/")
        assert is_json_detail(response, 403)
        assert response.json() == {"detail": "Not for you."}
        assert is_page(anyone.get("/seller/test-forbidden/"), 403)

    def test_an_unknown_path_is_json_under_the_api_and_a_page_elsewhere(self, anyone):
        assert is_json_detail(anyone.get("/api/v1/no-such-thing/"), 404)
        assert is_json_detail(anyone.get("/api/no-such-thing"), 404)
        assert is_page(anyone.get("/seller/no-such-thing/"), 404)

    def test_a_bug_is_json_under_the_api_and_a_page_elsewhere(self, anyone):
        response = anyone.get("/api/v1/test-fails/")
        assert is_json_detail(response, 500)
        assert response.json() == {"detail": "Server error."}
        assert is_page(anyone.get("/seller/test-fails/"), 500)


def test_each_handler_is_the_projects():
    for code in ("400", "403", "404", "500"):
        assert getattr(config_urls, f"handler{code}").startswith("config.views."), code


def test_the_400_handler_answers_a_body_too_large_as_413():
    from django.core.exceptions import RequestDataTooBig

    request = RequestFactory().post("/api/schema/")
    response = views.bad_request(request, RequestDataTooBig("Too big."))
    assert is_json_detail(response, 413)


# The request size limit ---------------------------------------------------------------------


def too_large(content_type: str = "application/json") -> dict:
    return {
        "data": b" " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        "content_type": content_type,
    }


@pytest.mark.parametrize(
    "url",
    [
        reverse("api:order-list"),
        reverse("api:order-bulk"),
        reverse("api:order-events", args=["A-1"]),
    ],
)
def test_a_body_above_the_limit_answers_413_in_json(api_client, url):
    response = api_client.post(url, **too_large())

    assert is_json_detail(response, 413), response.content[:300]
    assert "40 MiB" in response.json()["detail"]
    assert not Order.objects.exists()


def test_a_body_above_the_limit_without_a_key_is_refused_before_it_is_read(anonymous_api_client):
    response = anonymous_api_client.post(reverse("api:order-bulk"), **too_large())

    assert is_json_detail(response, 401)


def test_one_order_with_100000_items_answers_json(api_client):
    item = {"sku": "S", "quantity": 1, "unit_price": "1.00"}
    body = order(net_product_price="100000.00", seller_funded_discount="0.00")
    body["items"] = [item] * 100_000

    response = api_client.post(
        reverse("api:order-list"), json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 400, response.content[:300]
    assert response.json() == {"items": {"non_field_errors": ["An order has at most 100 items."]}}


def test_pages_keep_djangos_bound_on_a_body(anyone, settings):
    limit = settings.PAGE_DATA_UPLOAD_MAX_MEMORY_SIZE
    assert limit < settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    form = "application/x-www-form-urlencoded"
    response = anyone.post(reverse("seller:login"), data=b"a=" + b"x" * limit, content_type=form)
    assert is_page(response, 400)
    response = anyone.post(reverse("seller:login"), data=b"a=" + b"x" * 100, content_type=form)
    assert response.status_code == 200  # the sign-in page again, with its message


def test_too_many_query_parameters_are_a_json_400(api_client):
    api_client.raise_request_exception = False
    query = "&".join(f"f{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = api_client.get(f"{reverse('api:order-list')}?{query}")

    assert is_json_detail(response, 400), response.content[:300]
