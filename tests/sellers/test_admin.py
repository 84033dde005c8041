from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from sellers.models import ApiKey, PlanChange, Seller
from sellers.services import api_key_create, api_key_revoke
from tests.factories import SellerFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = StaffUserFactory(is_superuser=True, username="root")
    client.force_login(admin)
    client.admin = admin
    return client


@pytest.mark.parametrize(
    "url",
    [
        "admin:sellers_seller_changelist",
        "admin:sellers_user_changelist",
        "admin:sellers_planchange_changelist",
        "admin:sellers_apikey_changelist",
    ],
)
def test_changelists_render(admin_client, seller, url):
    api_key_create(seller=seller, name="ERP")
    assert admin_client.get(reverse(url)).status_code == 200


def test_seller_change_page_shows_plan_history(admin_client, seller):
    response = admin_client.get(reverse("admin:sellers_seller_change", args=[seller.pk]))
    assert response.status_code == 200
    assert "Plan history" in response.content.decode()


def test_revoke_action_reports_changed_and_skipped(admin_client, seller):
    active, _ = api_key_create(seller=seller, name="active")
    old, _ = api_key_create(seller=seller, name="old")
    api_key_revoke(api_key=old)
    response = admin_client.post(
        reverse("admin:sellers_apikey_changelist"),
        {"action": "revoke_keys", ACTION_CHECKBOX_NAME: [active.pk, old.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "Revoked: active" in text
    assert "Skipped: old" in text and "revoked already" in text
    active.refresh_from_db()
    assert active.revoked_by == admin_client.admin


def test_keys_cannot_be_added_or_deleted_in_the_admin(admin_client, seller):
    key, _ = api_key_create(seller=seller, name="ERP")
    assert admin_client.get(reverse("admin:sellers_apikey_add")).status_code == 403
    assert (
        admin_client.get(reverse("admin:sellers_apikey_delete", args=[key.pk])).status_code == 403
    )
    assert ApiKey.objects.filter(pk=key.pk).exists()


def test_a_plan_change_added_in_the_admin_is_recorded_with_its_author(admin_client, seller):
    url = reverse("admin:sellers_seller_change", args=[seller.pk])
    effective = timezone.localtime() + timedelta(days=1)
    data = {
        "name": seller.name,
        "slug": seller.slug,
        "account_manager": seller.account_manager_id,
        "plan_changes-TOTAL_FORMS": "2",
        "plan_changes-INITIAL_FORMS": "1",
        "plan_changes-MIN_NUM_FORMS": "0",
        "plan_changes-MAX_NUM_FORMS": "1000",
        "plan_changes-0-id": PlanChange.objects.get(seller=seller).pk,
        "plan_changes-0-seller": seller.pk,
        "plan_changes-1-plan": "yearly",
        "plan_changes-1-effective_at_0": effective.strftime("%Y-%m-%d"),
        "plan_changes-1-effective_at_1": effective.strftime("%H:%M:%S"),
        "plan_changes-1-reason": "Signed the yearly contract",
        "plan_changes-1-seller": seller.pk,
        "users-TOTAL_FORMS": "0",
        "users-INITIAL_FORMS": "0",
        "users-MIN_NUM_FORMS": "0",
        "users-MAX_NUM_FORMS": "1000",
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
        "api_keys-MIN_NUM_FORMS": "0",
        "api_keys-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    change = PlanChange.objects.filter(seller=seller).order_by("-effective_at").first()
    assert change.plan == "yearly"
    assert change.changed_by == admin_client.admin
    assert change.reason == "Signed the yearly contract"


def test_sellers_cannot_be_deleted(admin_client):
    shop = SellerFactory()
    assert (
        admin_client.get(reverse("admin:sellers_seller_delete", args=[shop.pk])).status_code == 403
    )
    assert Seller.objects.filter(pk=shop.pk).exists()
