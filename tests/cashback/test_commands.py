from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from cashback.models import Campaign, CampaignRate, Registration, RegistrationEvent
from cashback.selectors import campaign_is_open, campaign_rate_at

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


class TestCreateCampaign:
    def test_creates_a_published_campaign_open_now(self):
        run("create_campaign", "--slug", "summer", "--name", "Summer Boost", "--fee-rate", "2.5")
        campaign = Campaign.objects.get(slug="summer")
        assert campaign.name == "Summer Boost" and campaign.is_published
        assert campaign.requires_review is False and campaign.terms_version == 1
        assert campaign_rate_at(campaign=campaign, at=timezone.now()) == Decimal("2.5")
        assert campaign_is_open(campaign=campaign, at=timezone.now())

    def test_requires_review(self):
        run("create_campaign", "--slug", "s", "--name", "S", "--fee-rate", "3", "--requires-review")
        assert Campaign.objects.get(slug="s").requires_review is True

    @pytest.mark.parametrize("rate", ["abc", "-2", "100.5", "1.00001"])
    def test_a_bad_rate_creates_nothing(self, rate):
        with pytest.raises(CommandError):
            run("create_campaign", "--slug", "s", "--name", "S", "--fee-rate", rate)
        assert not Campaign.objects.exists() and not CampaignRate.objects.exists()

    def test_a_taken_slug_is_refused(self):
        run("create_campaign", "--slug", "s", "--name", "S", "--fee-rate", "3")
        with pytest.raises(CommandError, match="exists already"):
            run("create_campaign", "--slug", "s", "--name", "Other", "--fee-rate", "4")
        assert Campaign.objects.get(slug="s").name == "S"

    def test_window_and_draft(self):
        run(
            "create_campaign",
            "--slug",
            "s",
            "--name",
            "S",
            "--fee-rate",
            "3",
            "--draft",
            "--opens",
            "2030-01-01T00:00:00Z",
            "--closes",
            "2030-02-01T00:00:00+07:00",
        )
        campaign = Campaign.objects.get(slug="s")
        assert not campaign.is_published
        assert campaign.registration_opens_at.isoformat() == "2030-01-01T00:00:00+00:00"
        assert campaign.registration_closes_at.isoformat() == "2030-01-31T17:00:00+00:00"

    @pytest.mark.parametrize("opens", ["tomorrow", "2030-01-01T00:00:00"])
    def test_a_bad_instant_is_refused(self, opens):
        with pytest.raises(CommandError, match="ISO 8601 with an offset"):
            run(
                "create_campaign", "--slug", "s", "--name", "S", "--fee-rate", "3", "--opens", opens
            )
        assert not Campaign.objects.exists()


def test_seed_demo_registers_the_demo_shop_for_a_3_percent_campaign():
    run("seed_demo")
    run("seed_demo")
    campaign = Campaign.objects.get(slug="bonus-cashback-program")
    assert campaign.name == "Bonus Cashback Program" and campaign.is_published
    assert campaign_rate_at(campaign=campaign, at=timezone.now()) == Decimal("3")
    registration = Registration.objects.get(campaign=campaign, seller__slug="demo-shop")
    assert registration.status == "approved"
    assert registration.agreed_by.username == "demo"
    assert RegistrationEvent.objects.filter(registration=registration).count() == 1
