"""Hostile or unlucky requests that once ended in a 500 or let bad state in."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.dates import month_start
from sellers.api import SellerScopedListAPIView
from sellers.models import PlanChange, Seller
from sellers.services import SellerError, seller_change_plan, seller_onboard
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def test_login_with_next_pointing_at_itself_goes_home(seller_client):
    login = reverse("seller:login")
    response = seller_client.get(f"{login}?next={login}")
    assert response.status_code == 302 and response["Location"] == reverse("seller:home")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(client, seller_user, target):
    from tests.factories import PASSWORD

    response = client.post(
        f"{reverse('seller:login')}?next={target}",
        {"username": "acme-owner", "password": PASSWORD, "next": target},
    )
    assert response.status_code == 302 and response["Location"] == reverse("seller:home")


def test_api_paths_without_slash_are_json_404_not_a_redirect(api_client):
    for response in (api_client.post("/api/v1/me"), api_client.get("/api/v1/me")):
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_api_post_without_slash_is_404_not_500_in_debug(api_client, settings):
    settings.DEBUG = True  # where Django's APPEND_SLASH raises for a POST
    assert api_client.post("/api/v1/me").status_code == 404


def test_pages_without_slash_still_redirect(seller_client):
    response = seller_client.get("/seller/api-keys")
    assert response.status_code == 301 and response["Location"] == "/seller/api-keys/"


def test_healthz_answers_under_production_settings(client, settings):
    settings.ALLOWED_HOSTS = ["cashback.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    # Everything else still goes through the host check and the redirect.
    assert client.get("/seller/", HTTP_HOST="127.0.0.1:8000").status_code == 400


def test_healthz_answers_head(client):
    assert client.head("/healthz").status_code == 200


def test_the_new_key_page_is_never_cached(seller_client):
    response = seller_client.post(reverse("seller:api-keys"), {"name": "ERP"})
    assert "no-store" in response["Cache-Control"]


class TestSellerInput:
    def test_a_name_too_long_is_refused(self):
        with pytest.raises(SellerError, match="200"):
            seller_onboard(name="n" * 201, username="u", password="p")
        assert not Seller.objects.exists()

    @pytest.mark.parametrize("username", ["u" * 151, "bad name/../x", "semi;colon"])
    def test_a_bad_username_is_refused(self, username):
        with pytest.raises(SellerError):
            seller_onboard(name="Shop", username=username, password="p")
        assert not Seller.objects.exists()


class TestPlanBackdating:
    def test_a_change_before_this_month_is_refused(self, seller):
        start = month_start(timezone.now())
        with pytest.raises(SellerError, match="start of this month"):
            seller_change_plan(seller=seller, plan="yearly", effective_at=start - timedelta(days=1))
        seller_change_plan(seller=seller, plan="yearly", effective_at=start)
        assert PlanChange.objects.filter(seller=seller).count() == 2

    def test_the_admin_shows_the_refusal_and_stores_nothing(self, client, seller):
        client.force_login(StaffUserFactory(is_superuser=True))
        past = timezone.localtime() - timedelta(days=400)
        data = {
            "name": seller.name,
            "slug": seller.slug,
            "plan_changes-TOTAL_FORMS": "2",
            "plan_changes-INITIAL_FORMS": "1",
            "plan_changes-MIN_NUM_FORMS": "0",
            "plan_changes-MAX_NUM_FORMS": "1000",
            "plan_changes-0-id": PlanChange.objects.get(seller=seller).pk,
            "plan_changes-0-seller": seller.pk,
            "plan_changes-1-plan": "yearly",
            "plan_changes-1-effective_at_0": past.strftime("%Y-%m-%d"),
            "plan_changes-1-effective_at_1": past.strftime("%H:%M:%S"),
            "plan_changes-1-seller": seller.pk,
            **{
                f"{p}-{k}": "0"
                for p in ("users", "api_keys")
                for k in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS")
            },
            "users-MAX_NUM_FORMS": "1000",
            "api_keys-MAX_NUM_FORMS": "1000",
        }
        response = client.post(reverse("admin:sellers_seller_change", args=[seller.pk]), data)
        assert response.status_code == 200
        assert "start of this month" in response.content.decode()
        assert PlanChange.objects.filter(seller=seller).count() == 1


def test_the_admin_refuses_a_seller_without_a_plan(client):
    client.force_login(StaffUserFactory(is_superuser=True))
    data = {
        "name": "Planless",
        "slug": "planless",
        **{
            f"{p}-{k}": "0"
            for p in ("plan_changes", "users", "api_keys")
            for k in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS")
        },
        **{f"{p}-MAX_NUM_FORMS": "1000" for p in ("plan_changes", "users", "api_keys")},
    }
    response = client.post(reverse("admin:sellers_seller_add"), data)
    assert response.status_code == 200
    assert not Seller.objects.filter(slug="planless").exists()


def test_a_scoped_view_may_not_override_get_queryset():
    with pytest.raises(TypeError, match="get_base_queryset"):

        class Leaky(SellerScopedListAPIView):
            def get_queryset(self):
                return Seller.objects.all()
