"""The Bonus Cashback Program in the browser: find a campaign, register, withdraw, and the
admin's approval of a withdrawal as the seller then sees it."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from cashback.models import Registration, RegistrationStatus
from cashback.services import Action, Actor, registration_create, registration_transition
from tests.factories import PASSWORD, SellerUserFactory, StaffUserFactory, make_campaign

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AGREE = "I have read and agree to the Terms and Conditions"


def log_in(page: Page, username: str = "acme-owner") -> None:
    """Fill in the Seller Center login form the page is on."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def answer_next_dialog(page: Page, *, accept: bool) -> list[str]:
    """Accept or dismiss the next `window.confirm`; the list receives its question, so that a
    test can tell the question was asked at all."""
    questions: list[str] = []

    def answer(dialog) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", answer)
    return questions


def register_and_withdraw(seller_user, campaign) -> Registration:
    actor = Actor.seller_user(seller_user)
    registration = registration_create(
        seller=seller_user.seller, campaign=campaign, agree_to_terms=True, actor=actor
    )
    return registration_transition(
        registration_id=registration.pk, action=Action.WITHDRAW, actor=actor
    )


def test_find_a_campaign_register_withdraw_and_cancel_the_withdrawal(
    page: Page, live_server, seller_user
):
    make_campaign(
        slug="bonus", name="Bonus Cashback Program", summary="Offer the Bonus Cashback Voucher"
    )
    make_campaign(slug="flash", name="Flash Sale Boost", summary="Other things")

    page.goto(f"{live_server.url}/seller/login/")
    log_in(page)
    page.get_by_role("navigation", name="Seller Center").get_by_role(
        "link", name="Campaigns"
    ).click()
    expect(page).to_have_url(f"{live_server.url}/seller/campaigns/")
    rows = page.get_by_test_id("campaigns").locator("tbody tr")
    expect(rows).to_have_count(2)

    # The search matches the summary, whatever its case.
    page.get_by_label("Search campaigns").fill("voucher")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/seller/campaigns/\?q=voucher$"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bonus Cashback Program")
    expect(rows.first).to_contain_text("3 %")
    expect(rows.first).to_contain_text("Not registered")
    expect(page.get_by_test_id("campaigns")).not_to_contain_text("Flash Sale Boost")

    rows.first.get_by_role("link", name="Bonus Cashback Program").click()
    expect(page).to_have_url(f"{live_server.url}/seller/campaigns/bonus/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonus Cashback Program")
    expect(page.get_by_test_id("fee-formula")).to_contain_text("3 %")
    expect(page.get_by_role("heading", name="Terms and Conditions")).to_be_visible()
    expect(page.get_by_test_id("terms")).to_contain_text(
        "Pay the service fee on delivered voucher orders."
    )
    record = page.get_by_test_id("registration-record")
    expect(record).to_contain_text("You have not registered")

    # Without the box ticked, nothing is registered.
    register = page.get_by_role("button", name="Register", exact=True)
    register.click()
    expect(page.get_by_test_id("register-error")).to_contain_text(AGREE)
    expect(record).to_contain_text("You have not registered")
    expect(page.get_by_label(AGREE)).not_to_be_checked()
    assert not Registration.objects.exists()

    page.get_by_label(AGREE).check()
    register.click()
    expect(page).to_have_url(f"{live_server.url}/seller/campaigns/bonus/")
    expect(page.get_by_role("status")).to_contain_text("You are registered")
    record_rows = record.locator("tbody tr")
    expect(record_rows).to_have_count(1)
    expect(record_rows.first).to_contain_text("Approved")
    withdraw = record.get_by_role("button", name="Withdraw", exact=True)
    cancel_withdraw = record.get_by_role("button", name="Cancel Withdraw", exact=True)
    expect(withdraw).to_be_visible()
    expect(page.get_by_role("button", name="Register", exact=True)).to_have_count(0)

    questions = answer_next_dialog(page, accept=True)
    withdraw.click()
    expect(page.get_by_role("status")).to_contain_text("Your withdrawal is with our team")
    expect(record_rows.first).to_contain_text("Withdraw Under Review")
    expect(cancel_withdraw).to_be_visible()
    expect(withdraw).to_have_count(0)
    assert questions and questions[0].startswith("Withdraw from “Bonus Cashback Program”?")

    questions = answer_next_dialog(page, accept=True)
    cancel_withdraw.click()
    expect(page.get_by_role("status")).to_contain_text("Your withdrawal request is cancelled.")
    expect(record_rows.first).to_contain_text("Approved")
    expect(record_rows.first).not_to_contain_text("Withdraw Under Review")
    expect(withdraw).to_be_visible()
    assert questions and questions[0].startswith("Cancel your withdrawal")

    # Dismissing the question sends nothing.
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )
    questions = answer_next_dialog(page, accept=False)
    withdraw.click()
    assert questions, "Withdraw did not ask for confirmation"
    assert posts == [], "a dismissed confirmation still sent the form"
    page.reload()
    expect(record_rows).to_have_count(1)
    expect(record_rows.first).to_contain_text("Approved")
    expect(withdraw).to_be_visible()
    assert posts == []
    assert Registration.objects.get().status == RegistrationStatus.APPROVED


def test_the_registration_link_goes_through_the_login_page(page: Page, live_server, seller_user):
    make_campaign(slug="bonus", name="Bonus Cashback Program")

    page.goto(f"{live_server.url}/seller/campaigns/bonus/register/")
    expect(page).to_have_url(re.compile(r"/seller/login/\?next=/seller/campaigns/bonus/register/$"))
    log_in(page)
    expect(page).to_have_url(f"{live_server.url}/seller/campaigns/bonus/register/")
    expect(page.get_by_test_id("ready")).to_be_visible()
    expect(page.get_by_label(AGREE)).to_be_focused()
    expect(page.get_by_test_id("registration-record")).to_contain_text("You have not registered")

    page.get_by_label(AGREE).check()
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/seller/campaigns/bonus/")
    expect(page.get_by_role("status")).to_contain_text(
        "You are registered for “Bonus Cashback Program”: Approved."
    )
    record_rows = page.get_by_test_id("registration-record").locator("tbody tr")
    expect(record_rows).to_have_count(1)
    expect(record_rows.first).to_contain_text("Approved")
    expect(page.get_by_test_id("ready")).to_have_count(0)


def test_admin_approves_the_withdrawal_and_the_seller_registers_again(
    page: Page, browser: Browser, live_server, seller_user, other_seller
):
    campaign = make_campaign(slug="bonus", name="Bonus Cashback Program")
    withdrawn = register_and_withdraw(seller_user, campaign)
    # Another shop's withdrawal in the same list, not selected, stays as it is.
    others = register_and_withdraw(SellerUserFactory(seller=other_seller), campaign)
    StaffUserFactory(username="reviewer", is_superuser=True)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/cashback/registration/")
    page.locator("#id_username").fill("reviewer")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/admin/cashback/registration/")

    results = page.locator("#result_list tbody tr")
    expect(results).to_have_count(2)
    acme_row = results.filter(has_text="Acme Gadgets")
    expect(acme_row.locator("td.field-status")).to_have_text("Withdraw Under Review")
    acme_row.locator("input[name=_selected_action]").check()
    page.locator("select[name=action]").select_option("approve_withdrawal")
    page.get_by_role("button", name="Go").click()
    # every admin change asks for the reason the seller will read
    page.locator("textarea[name=reason]").fill("Your withdrawal is accepted.")
    page.locator("input[type=submit].default").click()

    expect(page.locator("ul.messagelist")).to_contain_text(
        "Approve withdrawal: changed 1: Acme Gadgets in Bonus Cashback Program."
    )
    expect(acme_row.locator("td.field-status")).to_have_text("Expired")
    rival_row = results.filter(has_text="Rival Goods")
    expect(rival_row.locator("td.field-status")).to_have_text("Withdraw Under Review")
    withdrawn.refresh_from_db()
    others.refresh_from_db()
    assert withdrawn.status == RegistrationStatus.EXPIRED
    assert others.status == RegistrationStatus.WITHDRAW_UNDER_REVIEW

    # The seller, in a browser of its own, sees the expiry and registers again.
    context = browser.new_context()
    try:
        seller_page = context.new_page()
        seller_page.goto(f"{live_server.url}/seller/campaigns/bonus/")
        log_in(seller_page)
        expect(seller_page).to_have_url(f"{live_server.url}/seller/campaigns/bonus/")
        record_rows = seller_page.get_by_test_id("registration-record").locator("tbody tr")
        expect(record_rows).to_have_count(1)
        expect(record_rows.first).to_contain_text("Expired")
        expect(record_rows.first.get_by_role("button")).to_have_count(0)

        seller_page.get_by_label(AGREE).check()
        seller_page.get_by_role("button", name="Register", exact=True).click()
        expect(seller_page.get_by_role("status")).to_contain_text("You are registered")
        expect(record_rows).to_have_count(2)
        expect(record_rows.nth(0)).to_contain_text("Approved")
        expect(
            record_rows.nth(0).get_by_role("button", name="Withdraw", exact=True)
        ).to_be_visible()
        expect(record_rows.nth(1)).to_contain_text("Expired")
        expect(record_rows.nth(1)).to_have_attribute("data-registration", str(withdrawn.pk))
    finally:
        context.close()
    assert list(
        Registration.objects.filter(seller=seller_user.seller).values_list("status", flat=True)
    ) == [RegistrationStatus.APPROVED, RegistrationStatus.EXPIRED]


def test_another_sellers_registration_is_not_in_the_record(
    page: Page, live_server, seller_user, other_seller
):
    campaign = make_campaign(slug="bonus", name="Bonus Cashback Program")
    others = register_and_withdraw(SellerUserFactory(seller=other_seller), campaign)

    page.goto(f"{live_server.url}/seller/campaigns/")
    log_in(page)
    expect(page).to_have_url(f"{live_server.url}/seller/campaigns/")
    expect(page.get_by_test_id("campaigns").locator("tbody tr").first).to_contain_text(
        "Not registered"
    )

    page.get_by_role("link", name="Bonus Cashback Program").click()
    record = page.get_by_test_id("registration-record")
    expect(record).to_contain_text("You have not registered")
    expect(record.locator("tr[data-registration]")).to_have_count(0)
    expect(record).not_to_contain_text("Withdraw Under Review")
    expect(page.get_by_role("button", name="Register", exact=True)).to_be_visible()

    # Registering shows this shop's registration alone.
    page.get_by_label(AGREE).check()
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("You are registered")
    ours = Registration.objects.get(seller=seller_user.seller)
    expect(record.locator("tr[data-registration]")).to_have_count(1)
    expect(record.locator("tr[data-registration]")).to_have_attribute(
        "data-registration", str(ours.pk)
    )
    expect(record).not_to_contain_text("Withdraw Under Review")
    expect(record.locator(f'tr[data-registration="{others.pk}"]')).to_have_count(0)
