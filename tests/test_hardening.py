"""Production hardening: sign-in lockout, API rate limits per key, the Content-Security-
Policy. (`check --deploy` with the production variables: tests/test_settings.py.)"""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from sellers.throttling import ApiKeyRateThrottle
from tests.factories import PASSWORD, SellerUserFactory, StaffUserFactory, make_api_key

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("login", ["seller:login", "admin:login"])
def test_sign_in_is_locked_after_five_failures_for_that_user(client, seller_user, login):
    user = seller_user if login == "seller:login" else StaffUserFactory(username="staffer")
    url = reverse(login)
    for _ in range(4):
        response = client.post(url, {"username": user.username, "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    # the fifth failure locks the pair out, with a page that says why
    response = client.post(url, {"username": user.username, "password": "wrong"})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    # now even the right password is refused
    response = client.post(url, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # another user from the same address is not locked out
    other = (SellerUserFactory if login == "seller:login" else StaffUserFactory)(
        username="colleague"
    )
    response = client.post(url, {"username": other.username, "password": PASSWORD})
    assert response.status_code == 302


def test_a_success_resets_the_count(client, seller_user):
    url = reverse("seller:login")
    for _ in range(4):
        client.post(url, {"username": seller_user.username, "password": "wrong"})
    assert (
        client.post(url, {"username": seller_user.username, "password": PASSWORD}).status_code
        == 302
    )
    client.logout()
    for _ in range(4):
        client.post(url, {"username": seller_user.username, "password": "wrong"})
    assert (
        client.post(url, {"username": seller_user.username, "password": PASSWORD}).status_code
        == 302
    )


def test_api_requests_are_limited_per_key(seller, other_seller, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "3/min"})
    mine, theirs = APIClient(), APIClient()
    mine.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(seller)}")
    theirs.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(other_seller)}")
    for _ in range(3):
        assert mine.get(reverse("api:me")).status_code == 200
    refused = mine.get(reverse("api:me"))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "throttled" in refused.json()["detail"].lower()
    # a key of another seller counts on its own
    assert theirs.get(reverse("api:me")).status_code == 200
    # a second key of the same seller too: the limit is per key
    another = APIClient()
    another.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(seller, name='second')}")
    assert another.get(reverse("api:me")).status_code == 200


def test_every_page_has_a_content_security_policy(seller_client, api_client):
    for response in (
        seller_client.get(reverse("seller:home")),
        seller_client.get(reverse("admin:login")),
        api_client.get(reverse("api:me")),
    ):
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy


def test_the_api_docs_run_no_inline_script(client):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy + ";"  # scripts from files only
    assert "style-src 'self' 'unsafe-inline'" in policy
    body = response.content.decode()
    assert "<script>" not in body  # the start script is a file (…?script)
    assert client.get(reverse("api-docs") + "?script").status_code == 200


def test_no_template_needs_an_inline_script_or_style():
    """The policy allows neither; a template that used one would break in the browser."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for template in (root / "templates").rglob("*.html"):
        text = template.read_text()
        assert " style=" not in text and "<style" not in text, template
        assert "<script>" not in text and " on" + "click=" not in text, template
