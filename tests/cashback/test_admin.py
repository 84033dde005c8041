import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from cashback.models import CampaignRate, CampaignTermsVersion, RegistrationEvent
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:cashback_registration_changelist"


@pytest.fixture
def admin_client(client, staff):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    return client


def run_action(client, action, registrations, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [r.pk for r in registrations], **extra}
    return client.post(reverse(CHANGELIST), data, follow=True)


def status(registration):
    registration.refresh_from_db()
    return registration.status


def test_approve_withdrawal_reports_changed_and_skipped(admin_client, steps, campaign, staff):
    from tests.factories import make_campaign

    withdrawing = steps.register(campaign)
    steps.do(withdrawing, "withdraw")
    approved = steps.register(make_campaign(slug="second"))
    response = run_action(
        admin_client, "approve_withdrawal", [withdrawing, approved], apply="1", reason="Ended"
    )
    text = response.content.decode()
    assert "Approve withdrawal: changed 1" in text
    assert "Approve withdrawal: skipped 1" in text and "needs “Withdraw Under Review”" in text
    assert (status(withdrawing), status(approved)) == ("expired", "approved")
    event = RegistrationEvent.objects.filter(registration=withdrawing).latest("pk")
    assert (event.actor_user, event.actor_role, event.reason) == (staff, "admin", "Ended")


@pytest.mark.parametrize(
    ("action", "path", "expected"),
    [
        ("reject_withdrawal", ["withdraw"], "approved"),
        ("approve_withdrawal", ["withdraw"], "expired"),
        ("suspend", [], "suspended"),
        ("unsuspend", ["suspend"], "approved"),
        ("approve_registration", [], "approved"),
        ("reject_registration", [], "rejected"),
    ],
)
def test_every_action_asks_for_a_reason_and_records_it(
    admin_client, steps, campaign, review_campaign, action, path, expected
):
    """Every change an admin makes is audited with the staff user and the reason."""
    reviewed = action in ("approve_registration", "reject_registration")
    registration = steps.register(review_campaign if reviewed else campaign)
    for step in path:
        steps.do(registration, step)
    before = status(registration)
    asked = run_action(admin_client, action, [registration])
    assert "give a reason" in asked.content.decode()
    assert status(registration) == before

    empty = run_action(admin_client, action, [registration], apply="1", reason="  ")
    assert status(registration) == before
    assert "Give a reason" in empty.content.decode()

    run_action(admin_client, action, [registration], apply="1", reason="Seen the contract")
    assert status(registration) == expected
    event = RegistrationEvent.objects.filter(registration=registration).latest("pk")
    assert (event.reason, event.actor_role) == ("Seen the contract", "admin")
    assert event.actor_user.is_staff


def test_approve_and_reject_registrations(admin_client, steps, review_campaign):
    from tests.factories import make_campaign

    one = steps.register(review_campaign)
    two = steps.register(make_campaign(slug="r2", requires_review=True))
    run_action(admin_client, "approve_registration", [one], apply="1", reason="Checked")
    run_action(admin_client, "reject_registration", [two], apply="1", reason="Incomplete shop")
    assert (status(one), status(two)) == ("approved", "rejected")


def test_unsuspend(admin_client, steps, campaign):
    registration = steps.register(campaign)
    steps.do(registration, "suspend")
    run_action(admin_client, "unsuspend", [registration], apply="1", reason="Resolved")
    assert status(registration) == "approved"


def test_the_list_filters_by_status_and_campaign_and_searches_sellers(
    admin_client, steps, campaign, seller
):
    registration = steps.register(campaign)
    url = reverse(CHANGELIST)
    assert admin_client.get(url, {"status__exact": "approved"}).context["cl"].result_count == 1
    assert admin_client.get(url, {"status__exact": "expired"}).context["cl"].result_count == 0
    assert (
        admin_client.get(url, {"campaign__id__exact": campaign.pk}).context["cl"].result_count == 1
    )
    assert admin_client.get(url, {"q": seller.name[:4]}).context["cl"].result_count == 1
    page = admin_client.get(reverse("admin:cashback_registration_change", args=[registration.pk]))
    assert page.status_code == 200 and "History (never edited)" in page.content.decode()


def test_status_cannot_be_edited_in_the_form(admin_client, steps, campaign):
    registration = steps.register(campaign)
    url = reverse("admin:cashback_registration_change", args=[registration.pk])
    admin_client.post(
        url, {"status": "expired", "history-TOTAL_FORMS": "0", "history-INITIAL_FORMS": "0"}
    )
    assert status(registration) == "approved"


def test_registrations_cannot_be_added_or_deleted(admin_client, steps, campaign):
    registration = steps.register(campaign)
    assert admin_client.get(reverse("admin:cashback_registration_add")).status_code == 403
    delete = reverse("admin:cashback_registration_delete", args=[registration.pk])
    assert admin_client.get(delete).status_code == 403


def test_staff_without_permission_cannot_run_actions(client, steps, campaign):
    registration = steps.register(campaign)
    steps.do(registration, "withdraw")
    viewer = StaffUserFactory(username="viewer")
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_registration"))
    client.force_login(viewer)
    run_action(client, "approve_withdrawal", [registration], apply="1", reason="Ended")
    assert status(registration) == "withdraw_under_review"


class TestCampaignAdmin:
    def form(self, campaign, **changes):
        data = {
            "name": campaign.name,
            "slug": campaign.slug,
            "summary": campaign.summary,
            "details": campaign.details,
            "is_published": "on",
            "terms": campaign.terms,
            "registration_opens_at_0": campaign.registration_opens_at.strftime("%Y-%m-%d"),
            "registration_opens_at_1": campaign.registration_opens_at.strftime("%H:%M:%S"),
            "rates-TOTAL_FORMS": "0",
            "rates-INITIAL_FORMS": "0",
            "rates-MIN_NUM_FORMS": "0",
            "rates-MAX_NUM_FORMS": "1000",
            "terms_versions-TOTAL_FORMS": "0",
            "terms_versions-INITIAL_FORMS": "0",
            "terms_versions-MIN_NUM_FORMS": "0",
            "terms_versions-MAX_NUM_FORMS": "1000",
        }
        data.update(changes)
        return data

    def test_changing_the_terms_raises_the_version(self, admin_client, campaign):
        url = reverse("admin:cashback_campaign_change", args=[campaign.pk])
        response = admin_client.post(url, self.form(campaign, name="Renamed"))
        assert response.status_code == 302
        campaign.refresh_from_db()
        assert campaign.terms_version == 1
        admin_client.post(url, self.form(campaign, terms="Better terms."))
        campaign.refresh_from_db()
        assert campaign.terms_version == 2
        assert CampaignTermsVersion.objects.get(campaign=campaign, version=2).text == (
            "Better terms."
        )

    def test_adding_a_rate(self, admin_client, campaign, staff):
        url = reverse("admin:cashback_campaign_change", args=[campaign.pk])
        data = self.form(
            campaign,
            **{
                "rates-TOTAL_FORMS": "1",
                "rates-0-rate": "2.75",
                "rates-0-effective_from_0": "2030-01-01",
                "rates-0-effective_from_1": "00:00:00",
                "rates-0-campaign": campaign.pk,
            },
        )
        assert admin_client.post(url, data).status_code == 302
        rate = CampaignRate.objects.get(campaign=campaign, rate="2.75")
        assert rate.created_by == staff

    @pytest.mark.parametrize("rate", ["101", "-1", "1.23456"])
    def test_a_bad_rate_is_refused_in_the_form(self, admin_client, campaign, rate):
        url = reverse("admin:cashback_campaign_change", args=[campaign.pk])
        data = self.form(
            campaign,
            **{
                "rates-TOTAL_FORMS": "1",
                "rates-0-rate": rate,
                "rates-0-effective_from_0": "2030-01-01",
                "rates-0-effective_from_1": "00:00:00",
                "rates-0-campaign": campaign.pk,
            },
        )
        assert admin_client.post(url, data).status_code == 200
        assert CampaignRate.objects.filter(campaign=campaign).count() == 1

    def test_a_new_campaign_needs_a_rate(self, admin_client):
        from cashback.models import Campaign

        data = {
            "name": "No rate",
            "slug": "no-rate",
            "terms": "T",
            "registration_opens_at_0": "2030-01-01",
            "registration_opens_at_1": "00:00:00",
            "rates-TOTAL_FORMS": "0",
            "rates-INITIAL_FORMS": "0",
            "rates-MIN_NUM_FORMS": "0",
            "rates-MAX_NUM_FORMS": "1000",
            "terms_versions-TOTAL_FORMS": "0",
            "terms_versions-INITIAL_FORMS": "0",
            "terms_versions-MIN_NUM_FORMS": "0",
            "terms_versions-MAX_NUM_FORMS": "1000",
        }
        assert admin_client.post(reverse("admin:cashback_campaign_add"), data).status_code == 200
        assert not Campaign.objects.filter(slug="no-rate").exists()
