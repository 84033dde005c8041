import pytest
from django.urls import reverse

from cashback.models import Registration
from cashback.services import Actor, registration_create
from sellers.models import ApiKey
from tests.factories import make_api_key, make_campaign

pytestmark = pytest.mark.django_db

CAMPAIGNS = reverse("api:campaign-list")
REGISTRATIONS = reverse("api:registration-list")


def register_url(slug):
    return reverse("api:campaign-register", args=[slug])


def action_url(name, pk):
    return reverse(f"api:registration-{name}", args=[pk])


@pytest.fixture
def registered(api_client, campaign):
    response = api_client.post(register_url(campaign.slug), {"agree_to_terms": True}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def other_client(other_seller):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(other_seller)}")
    return client


class TestCampaigns:
    def test_list_holds_the_published_campaigns(self, api_client, campaign):
        make_campaign(slug="draft", is_published=False)
        body = api_client.get(CAMPAIGNS).json()
        assert set(body) == {"results", "next", "previous"}
        assert [c["slug"] for c in body["results"]] == ["bonus"]
        first = body["results"][0]
        assert first["fee_rate"] == "3"
        assert first["registration_open"] is True
        assert first["registration_status"] is None
        assert first["terms_version"] == 1

    def test_shows_the_callers_status(self, api_client, campaign, registered):
        assert api_client.get(CAMPAIGNS).json()["results"][0]["registration_status"] == "approved"

    def test_another_sellers_status_is_not_shown(self, other_client, campaign, registered):
        assert other_client.get(CAMPAIGNS).json()["results"][0]["registration_status"] is None

    def test_detail(self, api_client, campaign):
        body = api_client.get(reverse("api:campaign-detail", args=["bonus"])).json()
        assert body["slug"] == "bonus" and body["name"] == "Bonus Cashback Program"

    @pytest.mark.parametrize("slug", ["draft", "nothing"])
    def test_unpublished_or_unknown_is_404(self, api_client, slug):
        make_campaign(slug="draft", is_published=False)
        response = api_client.get(reverse("api:campaign-detail", args=[slug]))
        assert response.status_code == 404 and "detail" in response.json()

    def test_pages_with_a_cursor(self, api_client):
        for n in range(3):
            make_campaign(slug=f"c{n}")
        first = api_client.get(CAMPAIGNS, {"page_size": 2}).json()
        assert len(first["results"]) == 2 and first["next"]
        second = api_client.get(first["next"]).json()
        assert len(second["results"]) == 1 and second["next"] is None
        slugs = [c["slug"] for c in first["results"] + second["results"]]
        assert sorted(slugs) == ["c0", "c1", "c2"]

    def test_a_bad_cursor_is_404_not_500(self, api_client, campaign):
        assert api_client.get(CAMPAIGNS, {"cursor": "%%%garbage"}).status_code == 404

    def test_needs_a_key(self, anonymous_api_client, campaign):
        assert anonymous_api_client.get(CAMPAIGNS).status_code == 401


class TestRegister:
    def test_registers(self, api_client, seller, campaign):
        response = api_client.post(
            register_url("bonus"), {"agree_to_terms": True, "terms_version": 1}, format="json"
        )
        assert response.status_code == 201
        body = response.json()
        assert body["campaign"] == "bonus" and body["status"] == "approved"
        assert body["previous_status"] is None and body["terms_version"] == 1
        assert body["registered_at"].endswith("Z") or "+" in body["registered_at"]
        assert [(h["from_status"], h["to_status"], h["actor"]) for h in body["history"]] == [
            (None, "approved", "seller")
        ]
        registration = Registration.objects.get(pk=body["id"])
        assert registration.seller == seller
        assert registration.agreed_via_api_key == ApiKey.objects.get(seller=seller)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "agree_to_terms"),
            ({"agree_to_terms": False}, "agree_to_terms"),
            ({"agree_to_terms": "maybe"}, "agree_to_terms"),
            ({"agree_to_terms": True, "seller": "someone-else"}, "seller"),
            ({"agree_to_terms": True, "terms_version": "one"}, "terms_version"),
            ({"agree_to_terms": True, "terms_version": 0}, "terms_version"),
        ],
    )
    def test_bad_input_is_400_and_stores_nothing(self, api_client, campaign, body, field):
        response = api_client.post(register_url("bonus"), body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not Registration.objects.exists()

    @pytest.mark.parametrize(
        ("raw", "content_type"),
        [
            ("[1, 2]", "application/json"),
            ("not json", "application/json"),
            ('"a string"', "application/json"),
            ("agree_to_terms=true", "application/x-www-form-urlencoded"),
        ],
    )
    def test_malformed_bodies_are_4xx(self, api_client, campaign, raw, content_type):
        response = api_client.post(register_url("bonus"), raw, content_type=content_type)
        assert response.status_code in (400, 415)
        assert not Registration.objects.exists()

    def test_twice_is_409_and_changes_nothing(self, api_client, campaign, registered):
        response = api_client.post(register_url("bonus"), {"agree_to_terms": True}, format="json")
        assert response.status_code == 409
        assert "already registered" in response.json()["detail"]
        assert Registration.objects.count() == 1

    def test_stale_terms_are_409(self, api_client, campaign):
        response = api_client.post(
            register_url("bonus"), {"agree_to_terms": True, "terms_version": 7}, format="json"
        )
        assert response.status_code == 409

    def test_a_closed_window_is_409(self, api_client):
        from datetime import timedelta

        from django.utils import timezone

        now = timezone.now()
        make_campaign(
            slug="closed",
            registration_opens_at=now - timedelta(days=9),
            registration_closes_at=now - timedelta(days=1),
        )
        response = api_client.post(register_url("closed"), {"agree_to_terms": True}, format="json")
        assert response.status_code == 409 and "closed on" in response.json()["detail"]

    def test_an_unpublished_campaign_is_404(self, api_client):
        make_campaign(slug="draft", is_published=False)
        response = api_client.post(register_url("draft"), {"agree_to_terms": True}, format="json")
        assert response.status_code == 404


class TestRegistrations:
    def test_list_holds_only_the_callers(
        self, api_client, other_client, other_seller, campaign, registered
    ):
        other_client.post(register_url("bonus"), {"agree_to_terms": True}, format="json")
        mine = api_client.get(REGISTRATIONS).json()["results"]
        assert [r["id"] for r in mine] == [registered["id"]]
        theirs = other_client.get(REGISTRATIONS).json()["results"]
        assert len(theirs) == 1 and theirs[0]["id"] != registered["id"]

    def test_filters(self, api_client, campaign, registered):
        assert len(api_client.get(REGISTRATIONS, {"status": "approved"}).json()["results"]) == 1
        assert api_client.get(REGISTRATIONS, {"status": "expired"}).json()["results"] == []
        assert len(api_client.get(REGISTRATIONS, {"campaign": "bonus"}).json()["results"]) == 1
        assert api_client.get(REGISTRATIONS, {"campaign": "other"}).json()["results"] == []

    def test_an_unknown_status_filter_is_400(self, api_client):
        response = api_client.get(REGISTRATIONS, {"status": "paused"})
        assert response.status_code == 400 and "status" in response.json()

    def test_withdraw_and_cancel(self, api_client, registered):
        pk = registered["id"]
        withdrawn = api_client.post(action_url("withdraw", pk))
        assert withdrawn.status_code == 200
        assert withdrawn.json()["status"] == "withdraw_under_review"
        assert withdrawn.json()["previous_status"] == "approved"

        again = api_client.post(action_url("withdraw", pk))
        assert again.status_code == 409
        assert "Withdraw Under Review" in again.json()["detail"]

        cancelled = api_client.post(action_url("cancel-withdraw", pk))
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "approved"
        assert api_client.post(action_url("cancel-withdraw", pk)).status_code == 409
        assert len(api_client.get(action_url("detail", pk)).json()["history"]) == 3

    @pytest.mark.parametrize("name", ["detail", "withdraw", "cancel-withdraw"])
    def test_another_sellers_registration_is_404(self, other_client, registered, name):
        url = action_url(name, registered["id"])
        response = other_client.get(url) if name == "detail" else other_client.post(url)
        assert response.status_code == 404
        assert Registration.objects.get(pk=registered["id"]).status == "approved"

    def test_an_ended_registration_cannot_be_withdrawn(self, api_client, seller, staff, registered):
        from cashback.services import registration_transition

        pk = registered["id"]
        api_client.post(action_url("withdraw", pk))
        registration_transition(
            registration_id=pk, action="approve_withdrawal", actor=Actor.admin(staff)
        )
        response = api_client.post(action_url("withdraw", pk))
        assert response.status_code == 409 and "Expired" in response.json()["detail"]
        # ...and the seller may register again: a new registration.
        again = api_client.post(register_url("bonus"), {"agree_to_terms": True}, format="json")
        assert again.status_code == 201 and again.json()["id"] != pk

    def test_the_seller_always_comes_from_the_key(self, api_client, seller, other_seller, campaign):
        registration_create(
            seller=other_seller,
            campaign=make_campaign(slug="theirs"),
            agree_to_terms=True,
            actor=Actor.seller_api_key(
                ApiKey.objects.create(seller=other_seller, name="k", prefix="p", key_hash="h" * 64)
            ),
        )
        response = api_client.get(REGISTRATIONS, {"seller": other_seller.slug})
        assert response.json()["results"] == []
