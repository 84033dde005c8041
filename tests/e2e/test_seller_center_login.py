import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_log_in_create_a_key_see_it_once_use_it_and_revoke_it(page: Page, live_server, seller_user):
    # A deep link goes through the login page and back.
    page.goto(f"{live_server.url}/seller/api-keys/")
    expect(page).to_have_url(re.compile(r"/seller/login/\?next=/seller/api-keys/"))
    page.get_by_label("Username").fill("acme-owner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/seller/api-keys/")

    expect(page.get_by_test_id("shop-name")).to_have_text("Acme Gadgets")
    manager = page.get_by_test_id("account-manager")
    expect(manager).to_contain_text("Alex Morgan")
    expect(manager.get_by_role("link", name="alex@cashback.example")).to_be_visible()

    page.get_by_label("Name").fill("ERP")
    page.get_by_role("button", name="Create key").click()
    raw_key = page.get_by_test_id("raw-key").inner_text().strip()
    assert raw_key.startswith("cbc_")
    expect(page.get_by_test_id("new-key")).to_contain_text("shown only this once")

    # Shown once: the next visit of the page lists the key by its prefix only.
    page.goto(f"{live_server.url}/seller/api-keys/")
    expect(page.get_by_test_id("raw-key")).to_have_count(0)
    expect(page.get_by_role("cell", name="ERP", exact=True)).to_be_visible()
    assert raw_key not in page.content()

    api = page.request
    me = api.get(f"{live_server.url}/api/v1/me/", headers={"Authorization": f"Bearer {raw_key}"})
    assert me.status == 200
    assert me.json() == {"slug": "acme-gadgets", "name": "Acme Gadgets", "plan": "monthly"}

    # Revoking asks first; the key stops working at once.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    again = api.get(f"{live_server.url}/api/v1/me/", headers={"Authorization": f"Bearer {raw_key}"})
    assert again.status == 401


def test_dismissing_the_confirmation_keeps_the_key(page: Page, live_server, seller_user, api_key):
    page.goto(f"{live_server.url}/seller/login/")
    page.get_by_label("Username").fill("acme-owner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Seller Center").get_by_role(
        "link", name="API keys"
    ).click()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("cell", name="Active")).to_be_visible()
    me = page.request.get(
        f"{live_server.url}/api/v1/me/", headers={"Authorization": f"Bearer {api_key}"}
    )
    assert me.status == 200
