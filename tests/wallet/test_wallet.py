"""The wallet: admins' adjustments (the service and the admin page), read-only entries, and
`manage.py reconcile` on wallets."""

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cashback.order_cashback import close_months, credit_cashback
from tests.cashback.test_crediting import deliver_orders
from tests.factories import StaffUserFactory
from wallet.models import EntryKind, Wallet, WalletEntry
from wallet.selectors import wallet_latest
from wallet.services import WalletError, wallet_adjust

pytestmark = pytest.mark.django_db

D = Decimal


def reconcile() -> tuple[str, str]:
    """(stdout, stderr) of `manage.py reconcile`; raises CommandError on a mismatch."""
    out, err = StringIO(), StringIO()
    try:
        call_command("reconcile", stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{err.getvalue()}") from exc
    return out.getvalue(), err.getvalue()


# 8. wallet_adjust ---------------------------------------------------------------------------


class TestWalletAdjust:
    def test_an_adjustment_names_the_staff_user_and_keeps_the_reason(self, seller, staff):
        entry = wallet_adjust(
            seller_id=seller.pk,
            amount=D("12.34"),
            reason="  Goodwill for a late payout ",
            staff=staff,
        )
        entry.refresh_from_db()
        assert (entry.kind, entry.amount, entry.balance_after) == (
            EntryKind.ADJUSTMENT,
            D("12.34"),
            D("12.34"),
        )
        assert entry.created_by == staff
        assert entry.reason == "Goodwill for a late payout"
        assert Wallet.objects.get(seller=seller).balance == D("12.34")

        debit = wallet_adjust(seller_id=seller.pk, amount=D("-2.34"), reason="Fix", staff=staff)
        assert debit.balance_after == D("10.00")
        assert Wallet.objects.get(seller=seller).balance == D("10.00")

    @pytest.mark.parametrize("reason", ["", "   ", None])
    def test_an_adjustment_needs_a_reason(self, seller, staff, reason):
        with pytest.raises(WalletError, match="needs a reason"):
            wallet_adjust(seller_id=seller.pk, amount=D("1.00"), reason=reason, staff=staff)
        assert not WalletEntry.objects.exists()

    @pytest.mark.parametrize(
        ("amount", "message"),
        [
            (D("0.00"), "0.00 changes nothing"),
            (D("0"), "0.00 changes nothing"),
            (D("1.001"), "at most 2 decimal places"),
            (D("-0.005"), "at most 2 decimal places"),
        ],
    )
    def test_refused_amounts(self, seller, staff, amount, message):
        with pytest.raises(WalletError, match=message):
            wallet_adjust(seller_id=seller.pk, amount=amount, reason="Because", staff=staff)
        assert not WalletEntry.objects.exists()

    def test_an_adjustment_below_zero_is_refused(self, wallet, seller, staff):
        with pytest.raises(WalletError, match="never goes below zero"):
            wallet_adjust(seller_id=seller.pk, amount=D("-10.01"), reason="Too much", staff=staff)
        wallet.refresh_from_db()
        assert wallet.balance == D("10.00")
        assert WalletEntry.objects.count() == 1


# 8. The admin's adjustment page ---------------------------------------------------------------


class TestAdjustmentPage:
    @pytest.fixture
    def staff_client(self, client, staff):
        client.force_login(staff)
        return client

    @pytest.fixture
    def url(self, wallet):
        return reverse("admin:wallet_wallet_adjust", args=[wallet.pk])

    def test_after_posting_a_user_who_may_view_wallets_sees_the_wallet(
        self, staff_client, staff, url, wallet
    ):
        staff.user_permissions.add(Permission.objects.get(codename="view_wallet"))
        response = staff_client.post(url, {"amount": "1.00", "reason": "Goodwill"})
        assert response.url == reverse("admin:wallet_wallet_change", args=[wallet.pk])

    def test_get_shows_the_form(self, staff_client, url, wallet):
        response = staff_client.get(url)
        assert response.status_code == 200
        text = response.content.decode()
        assert "Adjust the wallet of Acme Gadgets" in text
        assert 'name="amount"' in text and 'name="reason"' in text
        assert "Balance now: <strong>10.00 USD</strong>" in text

    def test_post_without_a_reason_shows_an_error_and_stores_nothing(
        self, staff_client, url, wallet
    ):
        response = staff_client.post(url, {"amount": "5.00", "reason": ""})
        assert response.status_code == 200
        assert "This field is required." in response.content.decode()
        assert WalletEntry.objects.count() == 1
        wallet.refresh_from_db()
        assert wallet.balance == D("10.00")

    @pytest.mark.parametrize(
        ("amount", "message"),
        [
            ("1.005", "Ensure that there are no more than 2 decimal places."),
            ("0", "An adjustment of 0.00 changes nothing."),
            ("-10.01", "a wallet never goes below zero"),
        ],
    )
    def test_post_of_a_refused_amount_shows_why_and_stores_nothing(
        self, staff_client, url, wallet, amount, message
    ):
        response = staff_client.post(url, {"amount": amount, "reason": "Because"})
        assert response.status_code == 200
        assert message in response.content.decode()
        assert WalletEntry.objects.count() == 1
        wallet.refresh_from_db()
        assert wallet.balance == D("10.00")

    def test_post_with_amount_and_reason_posts_it_and_redirects(
        self, staff_client, url, wallet, staff
    ):
        response = staff_client.post(url, {"amount": "-2.50", "reason": "Duplicate payout"})

        # This user may post adjustments but not view wallets: back to the admin's index.
        assert response.status_code == 302
        assert response.url == reverse("admin:index")
        entry = WalletEntry.objects.latest("pk")
        assert (entry.kind, entry.amount, entry.balance_after) == (
            EntryKind.ADJUSTMENT,
            D("-2.50"),
            D("7.50"),
        )
        assert entry.created_by == staff
        assert entry.reason == "Duplicate payout"
        wallet.refresh_from_db()
        assert wallet.balance == D("7.50")

    def test_a_staff_user_without_the_permission_gets_403(self, client, url, wallet):
        client.force_login(StaffUserFactory())
        assert client.get(url).status_code == 403
        assert client.post(url, {"amount": "5.00", "reason": "Because"}).status_code == 403
        assert WalletEntry.objects.count() == 1

    def test_a_user_who_is_not_staff_is_sent_to_the_login(self, seller_client, url):
        response = seller_client.get(url)
        assert response.status_code == 302
        assert "/login/" in response.url

    def test_the_wallet_page_links_to_the_adjustment(self, client, url, wallet):
        client.force_login(StaffUserFactory(is_superuser=True))
        response = client.get(reverse("admin:wallet_wallet_change", args=[wallet.pk]))
        assert response.status_code == 200
        assert url in response.content.decode()


class TestEntriesAreReadOnly:
    @pytest.fixture
    def superuser_client(self, client):
        client.force_login(StaffUserFactory(is_superuser=True))
        return client

    def test_no_add_change_or_delete_even_for_a_superuser(self, superuser_client, wallet):
        entry = WalletEntry.objects.get()
        request = RequestFactory().get("/")
        request.user = StaffUserFactory(is_superuser=True)
        model_admin = site._registry[WalletEntry]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, entry)
        assert not model_admin.has_delete_permission(request, entry)

        add = superuser_client.get(reverse("admin:wallet_walletentry_add"))
        assert add.status_code == 403
        change_url = reverse("admin:wallet_walletentry_change", args=[entry.pk])
        page = superuser_client.get(change_url)
        assert page.status_code == 200  # viewed, not edited
        assert 'name="_save"' not in page.content.decode()
        edit = superuser_client.post(change_url, {"amount": "1000.00", "reason": "x"})
        assert edit.status_code == 403
        delete = superuser_client.post(
            reverse("admin:wallet_walletentry_delete", args=[entry.pk]), {"post": "yes"}
        )
        assert delete.status_code == 403
        entry.refresh_from_db()
        assert entry.amount == D("10.00")
        assert WalletEntry.objects.count() == 1

    def test_the_wallets_entries_inline_is_read_only(self, wallet):
        request = RequestFactory().get("/")
        request.user = StaffUserFactory(is_superuser=True)
        wallet_admin = site._registry[Wallet]
        assert not wallet_admin.has_add_permission(request)
        assert not wallet_admin.has_delete_permission(request, wallet)
        (inline,) = wallet_admin.get_inline_instances(request, wallet)
        assert not inline.has_add_permission(request, wallet)
        assert not inline.has_change_permission(request, wallet)
        assert inline.can_delete is False
        assert "balance" in wallet_admin.get_readonly_fields(request, wallet)

    def test_the_wallet_page_offers_no_way_to_edit_or_delete_an_entry(self, client, wallet):
        client.force_login(StaffUserFactory(is_superuser=True))
        text = client.get(reverse("admin:wallet_wallet_change", args=[wallet.pk])).content.decode()
        assert "Opening balance" in text
        assert "-DELETE" not in text and 'name="entries-0-amount"' not in text


# 9. reconcile ---------------------------------------------------------------------------------


class TestReconcile:
    def test_consistent_wallets_pass(self, wallet, seller, other_seller, staff):
        wallet_adjust(seller_id=other_seller.pk, amount=D("1.00"), reason="Hello", staff=staff)
        out, err = reconcile()
        assert "All consistent" in out and err == ""

    def test_a_balance_that_differs_from_its_entries_is_caught_and_named(
        self, wallet, seller, other_seller, staff
    ):
        wallet_adjust(seller_id=other_seller.pk, amount=D("1.00"), reason="Hello", staff=staff)
        Wallet.objects.filter(pk=wallet.pk).update(balance=D("12.00"))

        with pytest.raises(CommandError) as caught:
            reconcile()

        message = str(caught.value)
        assert f"wallet of seller {seller.pk}: balance 12.00, entries sum to 10.00" in message
        assert f"wallet of seller {seller.pk}: balance 12.00, last entry says 10.00" in message
        assert f"wallet of seller {other_seller.pk}" not in message

    def test_crediting_as_of_an_earlier_instant_than_an_adjustment_is_consistent(
        self, seller, staff
    ):
        # An adjustment posted now, then a catch-up run (or a queued chunk) crediting as of an
        # instant before it: the ledger is right, each balance_after follows the one before.
        deliver_orders(seller)
        close_months(as_of=datetime(2026, 11, 1, 1, tzinfo=UTC))
        wallet_adjust(seller_id=seller.pk, amount=D("10.00"), reason="Goodwill", staff=staff)
        credit_cashback(as_of=datetime(2026, 11, 4, tzinfo=UTC))
        entries = list(WalletEntry.objects.order_by("pk"))
        assert [e.balance_after for e in entries][-1] == D("15.00")
        assert Wallet.objects.get(seller=seller).balance == D("15.00")

        out, _ = reconcile()  # raises: "balance 15.00, last entry says 10.00"
        assert "All consistent" in out


# Reads -----------------------------------------------------------------------------------


class TestWalletLatest:
    def test_no_wallet_yet_is_a_zero_balance_and_no_entries(self, seller):
        assert wallet_latest(seller=seller, count=20) == (D("0.00"), [])

    def test_the_balance_is_the_wallets_and_the_entries_newest_first(
        self, seller, other_seller, staff
    ):
        for amount in ("10.00", "-2.50", "7.25"):
            wallet_adjust(seller_id=seller.pk, amount=D(amount), reason="Fix", staff=staff)
        wallet_adjust(seller_id=other_seller.pk, amount=D("99.00"), reason="Fix", staff=staff)

        balance, entries = wallet_latest(seller=seller, count=2)

        assert balance == Wallet.objects.get(seller=seller).balance == D("14.75")
        assert [e.amount for e in entries] == [D("7.25"), D("-2.50")]

    def test_the_api_reads_the_wallet_by_a_subquery_not_a_join(
        self, seller, other_seller, staff, api_client
    ):
        """A join to the seller makes PostgreSQL sort all of a large wallet's entries."""
        for owner in (seller, other_seller):
            wallet_adjust(seller_id=owner.pk, amount=D("1.00"), reason="Fix", staff=staff)
        with CaptureQueriesContext(connection) as captured:
            response = api_client.get(reverse("api:wallet-entries"))

        assert response.status_code == 200
        assert [r["amount"] for r in response.json()["results"]] == ["1.00"]
        (listing,) = [q["sql"] for q in captured if 'FROM "wallet_walletentry"' in q["sql"]]
        assert "JOIN" not in listing
        assert '"wallet_walletentry"."wallet_id" = (SELECT' in listing
