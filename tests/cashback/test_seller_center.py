import pytest
from django.urls import reverse

from cashback.models import Registration
from cashback.services import Actor, registration_create, registration_transition
from tests.factories import make_campaign

pytestmark = pytest.mark.django_db


def campaign_page(client, slug="bonus"):
    return client.get(reverse("seller:campaign", args=[slug]))


def register(client, slug="bonus", **data):
    return client.post(reverse("seller:campaign-register", args=[slug]), data)


class TestCampaignList:
    def test_lists_published_campaigns_with_the_sellers_status(
        self, seller_client, seller, campaign, seller_user
    ):
        make_campaign(slug="draft", name="Hidden Draft", is_published=False)
        other = make_campaign(slug="flash", name="Flash Sale Boost", summary="Other things")
        registration_create(
            seller=seller, campaign=other, agree_to_terms=True, actor=Actor.seller_user(seller_user)
        )
        html = seller_client.get(reverse("seller:campaigns")).content.decode()
        assert "Bonus Cashback Program" in html and "Flash Sale Boost" in html
        assert "Hidden Draft" not in html
        assert "Not registered" in html and "Approved" in html
        assert "3 %" in html

    @pytest.mark.parametrize(
        ("query", "expected"),
        [("FLASH", {"Flash Sale Boost"}), ("voucher", {"Bonus Cashback Program"}), ("zzz", set())],
    )
    def test_search_over_name_and_summary(self, seller_client, campaign, query, expected):
        make_campaign(slug="flash", name="Flash Sale Boost", summary="Other things")
        response = seller_client.get(reverse("seller:campaigns"), {"q": query})
        names = {c.name for c in response.context["page"]}
        assert names == expected
        if not expected:
            assert f"No campaign matches “{query}”" in response.content.decode()

    def test_status_is_this_sellers_own(self, seller_client, campaign, other_seller, other_actor):
        registration_create(
            seller=other_seller, campaign=campaign, agree_to_terms=True, actor=other_actor
        )
        assert "Not registered" in seller_client.get(reverse("seller:campaigns")).content.decode()

    def test_a_fixed_number_of_queries_however_many_campaigns(
        self, seller_client, django_assert_max_num_queries
    ):
        for n in range(15):
            make_campaign(slug=f"c{n}")
        with django_assert_max_num_queries(8):
            assert seller_client.get(reverse("seller:campaigns")).status_code == 200

    def test_a_long_or_odd_search_is_harmless(self, seller_client, campaign):
        for query in ("x" * 5000, "%_\\'\"<script>", "\x00"):
            assert seller_client.get(reverse("seller:campaigns"), {"q": query}).status_code == 200


class TestCampaignPage:
    def test_shows_details_fee_scheme_terms_and_the_checkbox(self, seller_client, campaign):
        html = campaign_page(seller_client).content.decode()
        assert "(net product price − seller-funded discount) ×" in html
        assert "3 %" in html
        assert "Pay the service fee on delivered voucher orders." in html
        assert "I have read and agree to the Terms and Conditions" in html
        assert "version 1" in html
        assert "You have not registered for this campaign." in html

    def test_an_unpublished_campaign_is_404(self, seller_client):
        make_campaign(slug="draft", is_published=False)
        assert campaign_page(seller_client, "draft").status_code == 404

    def test_an_unpublished_campaign_stays_reachable_to_its_registered_sellers(
        self, seller_client, seller, campaign, seller_user
    ):
        registration_create(
            seller=seller,
            campaign=campaign,
            agree_to_terms=True,
            actor=Actor.seller_user(seller_user),
        )
        campaign.is_published = False
        campaign.save()
        response = campaign_page(seller_client)
        assert response.status_code == 200 and "Withdraw" in response.content.decode()


class TestRegister:
    def test_without_the_checkbox_is_refused_with_a_message(self, seller_client, campaign):
        response = register(seller_client, terms_version=1)
        assert response.status_code == 400
        assert "Tick “I have read and agree to the Terms and Conditions”" in (
            response.content.decode()
        )
        assert not Registration.objects.exists()

    def test_with_the_checkbox(self, seller_client, seller, seller_user, campaign):
        response = register(seller_client, agree_to_terms="on", terms_version=1)
        assert response.status_code == 302
        registration = Registration.objects.get(seller=seller)
        assert registration.status == "approved" and registration.agreed_by == seller_user
        html = seller_client.get(response["Location"]).content.decode()
        assert "You are registered for “Bonus Cashback Program”: Approved." in html

    def test_terms_changed_since_the_page_was_read(self, seller_client, campaign):
        from cashback.services import campaign_save

        campaign.terms = "New terms."
        campaign_save(campaign=campaign)
        response = register(seller_client, agree_to_terms="on", terms_version=1)
        assert response.status_code == 400
        assert "read them again" in response.content.decode()
        assert not Registration.objects.exists()

    def test_the_registration_link_needs_a_login_and_opens_the_page_ready(
        self, client, seller_user, campaign
    ):
        url = reverse("seller:campaign-register", args=["bonus"])
        response = client.get(url)
        assert response["Location"] == f"{reverse('seller:login')}?next={url}"
        client.force_login(seller_user)
        response = client.get(url)
        assert response.status_code == 200 and response.context["ready"] is True
        assert 'data-testid="ready"' in response.content.decode()

    def test_an_unknown_campaign_is_404(self, seller_client):
        assert register(seller_client, "nothing", agree_to_terms="on").status_code == 404

    def test_a_bad_terms_version_is_400_not_500(self, seller_client, campaign):
        response = register(seller_client, agree_to_terms="on", terms_version="x")
        assert response.status_code == 400
        assert "The form was out of date" in response.content.decode()
        assert not Registration.objects.exists()


class TestRegistrationRecord:
    @pytest.fixture
    def registration(self, seller, seller_user, campaign):
        return registration_create(
            seller=seller,
            campaign=campaign,
            agree_to_terms=True,
            actor=Actor.seller_user(seller_user),
        )

    def test_withdraw_then_cancel(self, seller_client, registration):
        response = seller_client.post(
            reverse("seller:registration-withdraw", args=[registration.pk]), follow=True
        )
        html = response.content.decode()
        assert "Withdraw Under Review" in html and "Cancel Withdraw" in html
        registration.refresh_from_db()
        assert registration.status == "withdraw_under_review"

        response = seller_client.post(
            reverse("seller:registration-cancel-withdraw", args=[registration.pk]), follow=True
        )
        assert "Your withdrawal request is cancelled. Status: Approved." in (
            response.content.decode()
        )

    def test_a_refused_transition_says_why_and_changes_nothing(self, seller_client, registration):
        response = seller_client.post(
            reverse("seller:registration-cancel-withdraw", args=[registration.pk]), follow=True
        )
        assert "Cancel Withdraw is not possible" in response.content.decode()
        registration.refresh_from_db()
        assert registration.status == "approved"

    def test_another_sellers_registration_is_404(self, client, other_seller, registration):
        from tests.factories import SellerUserFactory

        client.force_login(SellerUserFactory(seller=other_seller))
        for name in ("registration-withdraw", "registration-cancel-withdraw"):
            assert client.post(reverse(f"seller:{name}", args=[registration.pk])).status_code == 404
        registration.refresh_from_db()
        assert registration.status == "approved"
        assert (
            "Withdraw" not in campaign_page(client).content.decode().split("Registration Record")[1]
        )

    def test_actions_are_posts(self, seller_client, registration):
        url = reverse("seller:registration-withdraw", args=[registration.pk])
        assert seller_client.get(url).status_code == 405

    def test_shows_the_admins_reason(self, seller_client, registration, admin_actor):
        registration_transition(
            registration_id=registration.pk,
            action="suspend",
            actor=admin_actor,
            reason="Too many late shipments",
        )
        html = campaign_page(seller_client).content.decode()
        assert "Suspended" in html and "Too many late shipments" in html
