"""SPEC section 4's state table, written out here on its own (not read from the code)."""

import pytest

from cashback.models import Registration, RegistrationEvent
from cashback.services import (
    RegistrationInvalid,
    RegistrationRefused,
    registration_transition,
)

pytestmark = pytest.mark.django_db

# States, with where a withdrawal came from: "withdraw_under_review<approved".
STATES = [
    "under_review",
    "approved",
    "rejected",
    "suspended",
    "withdraw_under_review<approved",
    "withdraw_under_review<suspended",
    "expired",
]
ACTIONS = {
    # action: who may do it
    "approve_registration": "admin",
    "reject_registration": "admin",
    "suspend": "admin",
    "unsuspend": "admin",
    "withdraw": "seller",
    "cancel_withdraw": "seller",
    "approve_withdrawal": "admin",
    "reject_withdrawal": "admin",
}
# (state, action) -> state after; every pair not listed is refused.
ALLOWED = {
    ("under_review", "approve_registration"): "approved",
    ("under_review", "reject_registration"): "rejected",
    ("approved", "suspend"): "suspended",
    ("suspended", "unsuspend"): "approved",
    ("approved", "withdraw"): "withdraw_under_review<approved",
    ("suspended", "withdraw"): "withdraw_under_review<suspended",
    ("withdraw_under_review<approved", "cancel_withdraw"): "approved",
    ("withdraw_under_review<suspended", "cancel_withdraw"): "suspended",
    ("withdraw_under_review<approved", "approve_withdrawal"): "expired",
    ("withdraw_under_review<suspended", "approve_withdrawal"): "expired",
    ("withdraw_under_review<approved", "reject_withdrawal"): "approved",
    ("withdraw_under_review<suspended", "reject_withdrawal"): "suspended",
}
# How each state is reached, from a campaign without review or with it.
PATHS = {
    "under_review": ("reviewed", []),
    "approved": ("open", []),
    "rejected": ("reviewed", ["reject_registration"]),
    "suspended": ("open", ["suspend"]),
    "withdraw_under_review<approved": ("open", ["withdraw"]),
    "withdraw_under_review<suspended": ("open", ["suspend", "withdraw"]),
    "expired": ("open", ["withdraw", "approve_withdrawal"]),
}


def state_of(registration: Registration) -> str:
    registration.refresh_from_db()
    if registration.previous_status:
        return f"{registration.status}<{registration.previous_status}"
    return registration.status


def reach(state, steps, campaign, review_campaign) -> Registration:
    which, actions = PATHS[state]
    registration = steps.register(review_campaign if which == "reviewed" else campaign)
    for action in actions:
        steps.do(registration, action)
    assert state_of(registration) == state
    return registration


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("state", STATES)
def test_the_state_table(state, action, steps, campaign, review_campaign, staff, seller_user):
    registration = reach(state, steps, campaign, review_campaign)
    events_before = RegistrationEvent.objects.filter(registration=registration).count()

    if (state, action) in ALLOWED:
        steps.do(registration, action, reason="Checked by the team")
        assert state_of(registration) == ALLOWED[(state, action)]
        event = RegistrationEvent.objects.filter(registration=registration).latest("pk")
        assert event.from_status == state.split("<")[0]
        assert event.to_status == registration.status
        assert event.reason == "Checked by the team"
        assert event.actor_role == ACTIONS[action]
        assert event.actor_user == (staff if ACTIONS[action] == "admin" else seller_user)
        assert event.occurred_at == registration.status_changed_at == steps.now
        assert RegistrationEvent.objects.filter(registration=registration).count() == (
            events_before + 1
        )
    else:
        with pytest.raises(RegistrationRefused, match="is not possible"):
            steps.do(registration, action, reason="Checked by the team")
        assert state_of(registration) == state
        assert RegistrationEvent.objects.filter(registration=registration).count() == events_before


@pytest.mark.parametrize(("state", "action"), list(ALLOWED))
def test_only_the_party_the_table_names_can_act(
    state, action, steps, campaign, review_campaign, seller_actor, admin_actor
):
    registration = reach(state, steps, campaign, review_campaign)
    wrong = seller_actor if ACTIONS[action] == "admin" else admin_actor
    with pytest.raises(RegistrationRefused, match="is done by"):
        registration_transition(
            registration_id=registration.pk, action=action, actor=wrong, reason="r"
        )
    assert state_of(registration) == state


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("under_review", "reject_registration"),
        ("approved", "suspend"),
        ("withdraw_under_review<approved", "reject_withdrawal"),
    ],
)
def test_these_need_a_reason(state, action, steps, campaign, review_campaign, admin_actor):
    registration = reach(state, steps, campaign, review_campaign)
    with pytest.raises(RegistrationInvalid, match="needs a reason"):
        registration_transition(
            registration_id=registration.pk, action=action, actor=admin_actor, reason="   "
        )
    assert state_of(registration) == state


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("under_review", "approve_registration"),
        ("suspended", "unsuspend"),
        ("approved", "withdraw"),
        ("withdraw_under_review<approved", "cancel_withdraw"),
        ("withdraw_under_review<approved", "approve_withdrawal"),
    ],
)
def test_these_need_no_reason(state, action, steps, campaign, review_campaign):
    registration = reach(state, steps, campaign, review_campaign)
    steps.do(registration, action, reason="")
    assert state_of(registration) == ALLOWED[(state, action)]


def test_another_seller_cannot_touch_a_registration(steps, campaign, other_actor):
    registration = steps.register(campaign)
    with pytest.raises(Registration.DoesNotExist):
        registration_transition(
            registration_id=registration.pk, action="withdraw", actor=other_actor
        )
    assert state_of(registration) == "approved"


def test_the_history_tells_the_whole_story(steps, review_campaign, staff, seller_user):
    registration = steps.register(review_campaign)
    steps.do(registration, "approve_registration", reason="")
    steps.do(registration, "withdraw", reason="")
    steps.do(registration, "reject_withdrawal", reason="Contract runs to December")
    rows = list(
        RegistrationEvent.objects.filter(registration=registration)
        .order_by("occurred_at")
        .values_list("from_status", "to_status", "actor_role", "reason")
    )
    assert rows == [
        ("", "under_review", "seller", ""),
        ("under_review", "approved", "admin", ""),
        ("approved", "withdraw_under_review", "seller", ""),
        ("withdraw_under_review", "approved", "admin", "Contract runs to December"),
    ]
