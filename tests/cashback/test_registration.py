from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from cashback.models import (
    CampaignTermsVersion,
    Registration,
    RegistrationEvent,
)
from cashback.selectors import campaign_rate_at
from cashback.services import (
    Actor,
    CampaignError,
    RegistrationInvalid,
    RegistrationRefused,
    campaign_add_rate,
    campaign_save,
    registration_create,
)
from tests.factories import make_campaign

pytestmark = pytest.mark.django_db


def register(seller, campaign, actor, **kwargs):
    kwargs.setdefault("agree_to_terms", True)
    return registration_create(seller=seller, campaign=campaign, actor=actor, **kwargs)


class TestRegister:
    def test_registers_approved_and_records_who_agreed_to_which_terms_when(
        self, seller, campaign, seller_actor, seller_user
    ):
        now = timezone.now()
        registration = register(seller, campaign, seller_actor, now=now)
        assert registration.status == "approved"
        assert registration.agreed_by == seller_user and registration.agreed_via_api_key is None
        assert registration.terms_version == campaign.terms_version == 1
        assert registration.registered_at == now
        event = RegistrationEvent.objects.get(registration=registration)
        assert (event.from_status, event.to_status, event.actor_user) == (
            "",
            "approved",
            seller_user,
        )

    def test_a_campaign_that_requires_review_starts_under_review(
        self, seller, review_campaign, seller_actor
    ):
        assert register(seller, review_campaign, seller_actor).status == "under_review"

    @pytest.mark.parametrize("agreed", [False, None, "yes", 1])
    def test_without_agreeing_to_the_terms_nothing_is_stored(
        self, seller, campaign, seller_actor, agreed
    ):
        with pytest.raises(RegistrationInvalid, match="I have read and agree") as refused:
            register(seller, campaign, seller_actor, agree_to_terms=agreed)
        assert refused.value.field == "agree_to_terms"
        assert not Registration.objects.exists() and not RegistrationEvent.objects.exists()

    def test_the_window(self, seller, seller_actor):
        opens = timezone.now() + timedelta(days=1)
        closes = opens + timedelta(days=10)
        campaign = make_campaign(registration_opens_at=opens, registration_closes_at=closes)
        with pytest.raises(RegistrationRefused, match="opens on"):
            register(seller, campaign, seller_actor, now=opens - timedelta(seconds=1))
        with pytest.raises(RegistrationRefused, match="closed on"):
            register(seller, campaign, seller_actor, now=closes)
        assert not Registration.objects.exists()
        assert register(seller, campaign, seller_actor, now=opens).status == "approved"

    def test_an_unpublished_campaign_is_refused(self, seller, seller_actor):
        draft = make_campaign(is_published=False)
        with pytest.raises(RegistrationRefused, match="not open"):
            register(seller, draft, seller_actor)

    @pytest.mark.parametrize(
        "path",
        [[], ["suspend"], ["withdraw"]],
        ids=["approved", "suspended", "withdraw_under_review"],
    )
    def test_one_live_registration_per_seller_and_campaign(self, steps, campaign, path):
        registration = steps.register(campaign)
        for action in path:
            steps.do(registration, action)
        with pytest.raises(RegistrationRefused, match="already registered"):
            steps.register(campaign)
        assert Registration.objects.count() == 1

    def test_under_review_is_live_too(self, steps, review_campaign):
        steps.register(review_campaign)
        with pytest.raises(RegistrationRefused, match="already registered"):
            steps.register(review_campaign)

    @pytest.mark.parametrize(
        ("which", "path"),
        [("open", ["withdraw", "approve_withdrawal"]), ("reviewed", ["reject_registration"])],
        ids=["after expiry", "after rejection"],
    )
    def test_registering_again_makes_a_new_registration(
        self, steps, campaign, review_campaign, which, path
    ):
        chosen = campaign if which == "open" else review_campaign
        first = steps.register(chosen)
        for action in path:
            steps.do(first, action)
        second = steps.register(chosen)
        assert second.pk != first.pk
        first.refresh_from_db()
        assert first.status in ("expired", "rejected")

    def test_another_sellers_live_registration_does_not_count(
        self, seller, other_seller, campaign, seller_actor, other_actor
    ):
        register(other_seller, campaign, other_actor)
        assert register(seller, campaign, seller_actor).status == "approved"

    def test_a_seller_registers_only_itself(self, seller, other_seller, campaign, seller_actor):
        with pytest.raises(RegistrationRefused):
            register(other_seller, campaign, seller_actor)
        assert not Registration.objects.exists()

    def test_an_admin_does_not_register_a_seller(self, seller, campaign, admin_actor):
        with pytest.raises(RegistrationRefused):
            register(seller, campaign, admin_actor)

    def test_terms_changed_since_they_were_read(self, seller, campaign, seller_actor):
        campaign.terms = "New terms."
        campaign_save(campaign=campaign)
        with pytest.raises(RegistrationRefused, match="changed to version 2"):
            register(seller, campaign, seller_actor, terms_version=1)
        assert register(seller, campaign, seller_actor, terms_version=2).terms_version == 2

    def test_through_an_api_key(self, seller, campaign, api_key):
        from sellers.models import ApiKey

        key = ApiKey.objects.get(seller=seller)
        registration = register(seller, campaign, Actor.seller_api_key(key))
        assert registration.agreed_via_api_key == key and registration.agreed_by is None
        assert RegistrationEvent.objects.get(registration=registration).actor_api_key == key


class TestConstraints:
    def test_the_database_refuses_a_second_live_registration(self, steps, campaign):
        first = steps.register(campaign)
        with pytest.raises(IntegrityError), transaction.atomic():
            Registration.objects.create(
                seller=first.seller,
                campaign=campaign,
                status="suspended",
                terms_version=1,
                registered_at=first.registered_at,
                status_changed_at=first.registered_at,
            )

    def test_the_database_allows_many_ended_registrations(self, steps, campaign):
        first = steps.register(campaign)
        for status in ("expired", "rejected", "expired"):
            Registration.objects.create(
                seller=first.seller,
                campaign=campaign,
                status=status,
                terms_version=1,
                registered_at=first.registered_at,
                status_changed_at=first.registered_at,
            )
        assert Registration.objects.count() == 4

    @pytest.mark.parametrize(
        ("status", "previous"),
        [
            ("withdraw_under_review", ""),
            ("approved", "approved"),
            ("withdraw_under_review", "expired"),
        ],
    )
    def test_previous_status_only_while_a_withdrawal_is_reviewed(
        self, steps, campaign, status, previous
    ):
        registration = steps.register(campaign)
        with pytest.raises(IntegrityError), transaction.atomic():
            Registration.objects.filter(pk=registration.pk).update(
                status=status, previous_status=previous
            )

    def test_status_within_its_choices(self, steps, campaign):
        registration = steps.register(campaign)
        with pytest.raises(IntegrityError), transaction.atomic():
            Registration.objects.filter(pk=registration.pk).update(status="paused")


class TestCampaign:
    def test_terms_version_rises_only_when_the_terms_change(self, campaign):
        assert campaign.terms_version == 1
        campaign.name = "Renamed"
        campaign_save(campaign=campaign)
        assert campaign.terms_version == 1
        campaign.terms = "Second terms."
        campaign_save(campaign=campaign)
        campaign.terms = "Third terms."
        campaign_save(campaign=campaign)
        campaign.refresh_from_db()
        assert campaign.terms_version == 3
        versions = CampaignTermsVersion.objects.filter(campaign=campaign).order_by("version")
        assert [(v.version, v.text) for v in versions][1:] == [
            (2, "Second terms."),
            (3, "Third terms."),
        ]

    def test_a_rate_change_never_rewrites_the_past(self, campaign):
        first_rate_from = campaign.registration_opens_at
        change = first_rate_from + timedelta(days=100)
        campaign_add_rate(campaign=campaign, rate="2.5", effective_from=change, now=change)
        assert campaign_rate_at(campaign=campaign, at=change - timedelta(seconds=1)) == Decimal("3")
        assert campaign_rate_at(campaign=campaign, at=change) == Decimal("2.5")
        assert campaign_rate_at(campaign=campaign, at=first_rate_from - timedelta(days=9)) == 3

    @pytest.mark.parametrize(
        ("rate", "message"),
        [
            ("-1", "between 0 and 100"),
            ("100.01", "between 0 and 100"),
            ("1.23456", "4 decimal places"),
            ("abc", "not a number"),
            ("NaN", "not a number"),
        ],
    )
    def test_bad_rates_are_refused(self, campaign, rate, message):
        with pytest.raises(CampaignError, match=message):
            campaign_add_rate(campaign=campaign, rate=rate, effective_from=timezone.now())

    def test_two_rates_at_one_instant_are_refused(self, campaign):
        with pytest.raises(CampaignError, match="already takes effect"):
            campaign_add_rate(
                campaign=campaign,
                rate="4",
                effective_from=campaign.registration_opens_at,
                now=campaign.registration_opens_at,
            )

    def test_a_new_rate_never_takes_effect_in_the_past(self, campaign):
        with pytest.raises(CampaignError, match="from now on"):
            campaign_add_rate(
                campaign=campaign, rate="5", effective_from=timezone.now() - timedelta(days=1)
            )
        assert campaign.rates.count() == 1
        campaign_add_rate(campaign=campaign, rate="5", effective_from=timezone.now())
        assert campaign.rates.count() == 2

    def test_the_window_closes_after_it_opens(self):
        now = timezone.now()
        with pytest.raises(CampaignError, match="close after"):
            make_campaign(registration_opens_at=now, registration_closes_at=now)
