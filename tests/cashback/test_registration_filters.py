"""GET /api/v1/registrations/ filters as strictly as the orders list: an empty or bad filter
value is 400, never every registration; a good one filters."""

import pytest
from django.urls import reverse

from cashback.services import Actor, registration_create
from tests.factories import make_campaign

pytestmark = pytest.mark.django_db

REGISTRATIONS = reverse("api:registration-list")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("status=", "status", id="status-empty"),
        pytest.param("status=bogus", "status", id="status-bogus"),
        pytest.param("campaign=", "campaign", id="campaign-empty"),
        pytest.param("campaign=not%20a%20slug", "campaign", id="campaign-not-a-slug"),
        pytest.param("campaign=bonus%0A", "campaign", id="campaign-newline"),
    ],
)
def test_a_bad_filter_answers_400(api_client, query, field):
    response = api_client.get(f"{REGISTRATIONS}?{query}")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


def test_good_filters_are_taken(api_client, seller, seller_user):
    actor = Actor.seller_user(seller_user)
    bonus = registration_create(
        seller=seller, campaign=make_campaign(slug="bonus"), agree_to_terms=True, actor=actor
    )
    registration_create(
        seller=seller,
        campaign=make_campaign(slug="reviewed", requires_review=True),
        agree_to_terms=True,
        actor=actor,
    )

    def ids(**query) -> list[int]:
        response = api_client.get(REGISTRATIONS, query)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert ids(status="approved", campaign="bonus") == [bonus.pk]
    assert ids(status="approved", campaign="reviewed") == []
    assert ids(status="under_review") != [] and bonus.pk not in ids(status="under_review")


def test_the_schema_says_a_campaign_filter_is_not_empty():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    parameters = schema["paths"]["/api/v1/registrations/"]["get"]["parameters"]
    (campaign,) = [p for p in parameters if p["name"] == "campaign"]
    assert campaign["schema"]["pattern"] == "^[-a-zA-Z0-9_]+$"
