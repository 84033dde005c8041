"""FX rates (import command, admin) and the GMV tier versions (rules, versions, admin)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from cashback.models import Accrual, CashbackMonth, FxRate, Tier, TierSchedule
from cashback.order_cashback import close_months, tier_table_for, validate_tiers
from core.dates import month_start
from orders.services import orders_create
from tests.factories import SellerFactory, StaffUserFactory
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db

D = Decimal
DEFAULT_TIERS = [(D("0"), D("0")), (D("1000"), D("0.5")), (D("3000"), D("1")), (D("10000"), D("2"))]


def place(seller, external_id, gmv, *, at, now=None):
    """A delivered Order Center order of exactly `gmv` USD, delivered `at`."""
    placed = at - timedelta(days=3)
    data = order_input(
        external_id=external_id,
        net_product_price=D(gmv),
        seller_funded_discount=D("0.00"),
        bonus_cashback_voucher=False,
        tracking_number=f"TRK-{external_id}",
        placed_at=placed,
        paid_at=placed + timedelta(hours=1),
        shipped_at=placed + timedelta(days=1),
        delivered_at=at,
    )
    (result,) = orders_create(seller=seller, inputs=[data], now=now)
    assert result.result == "created", result.errors
    return result.order


def schedule(month: date, tiers, yearly_bonus="0.5") -> TierSchedule:
    version = TierSchedule.objects.create(effective_month=month, yearly_bonus=D(yearly_bonus))
    Tier.objects.bulk_create(
        Tier(schedule=version, threshold_usd=D(t), rate=D(r)) for t, r in tiers
    )
    return version


def tiers_of(version: TierSchedule) -> list[tuple[Decimal, Decimal]]:
    return list(version.tiers.order_by("threshold_usd").values_list("threshold_usd", "rate"))


# 12. import_fx_rates ------------------------------------------------------------------------


def write(tmp_path, text: str, name="rates.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run_import(path) -> str:
    out = StringIO()
    call_command("import_fx_rates", path, stdout=out)
    return out.getvalue()


def rates() -> set[tuple[str, date, Decimal]]:
    return set(FxRate.objects.values_list("currency", "date", "rate_to_usd"))


def test_import_stores_every_line_and_replaces_a_known_rate(tmp_path):
    FxRate.objects.create(currency="EUR", date=date(2026, 10, 4), rate_to_usd=D("9.99"))
    FxRate.objects.create(currency="GBP", date=date(2026, 10, 4), rate_to_usd=D("1.30"))
    path = write(
        tmp_path,
        "\ufeffdate,currency,rate_to_usd\n"  # a byte order mark, as spreadsheets write it
        "2026-10-04,EUR,1.10\n"
        "\n"
        " 2026-10-05 , EUR , 1.12345678 \n"
        "2026-10-04,JPY,0.0067\n",
    )

    out = run_import(path)

    assert "Imported 3 FX rates." in out
    assert rates() == {
        ("EUR", date(2026, 10, 4), D("1.10")),  # replaced, not added
        ("EUR", date(2026, 10, 5), D("1.12345678")),
        ("JPY", date(2026, 10, 4), D("0.0067")),
        ("GBP", date(2026, 10, 4), D("1.30")),  # untouched
    }
    assert FxRate.objects.count() == 4


GOOD = "2026-10-04,EUR,1.10\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("date,currency,rate_to_usd\n" + GOOD + "2026-13-01,EUR,1.10\n", "Line 3"),
        ("date,currency,rate_to_usd\n" + GOOD + "04/10/2026,EUR,1.10\n", "Line 3"),
        ("date,currency,rate_to_usd\n" + GOOD + "2026-10-05,EUX,1.10\n", "Line 3"),
        ("date,currency,rate_to_usd\n" + GOOD + "2026-10-05,,1.10\n", "Line 3"),
        ("date,currency,rate_to_usd\n" + GOOD + "2026-10-05,GBP,0\n", "Line 3"),
        ("date,currency,rate_to_usd\n" + GOOD + "2026-10-05,GBP,-1.2\n", "Line 3"),
        ("date,currency,rate_to_usd\n" + GOOD + "2026-10-05,GBP,abc\n", "Line 3"),
        ("date,currency,rate_to_usd\n" + GOOD + "2026-10-05,GBP,NaN\n", "Line 3"),
        ("date,currency,rate_to_usd\n" + GOOD + "2026-10-05,GBP,1.123456789\n", "Line 3"),
        ("date,currency,rate_to_usd\n" + GOOD + "2026-10-06,EUR,1.11\n2026-10-05,GBP\n", "Line 4"),
        ("date,currency,rate_to_usd\n" + GOOD + "2026-10-05,GBP,1.3,x\n", "Line 3"),
        ("day,currency,rate\n" + GOOD, "Line 1"),
        ("2026-10-04,EUR,1.10\n" + GOOD, "Line 1"),
        ("", "Line 1"),
    ],
    ids=[
        "bad-date",
        "not-iso-date",
        "unknown-currency",
        "no-currency",
        "rate-0",
        "negative-rate",
        "rate-abc",
        "rate-nan",
        "nine-decimals",
        "two-columns",
        "four-columns",
        "wrong-header",
        "no-header",
        "empty-file",
    ],
)
def test_a_bad_line_stores_nothing_of_the_file_and_names_its_line(tmp_path, text, line):
    FxRate.objects.create(currency="EUR", date=date(2026, 10, 4), rate_to_usd=D("9.99"))
    before = rates()

    with pytest.raises(CommandError, match=rf"{line}\b.*Nothing of the file was stored"):
        run_import(write(tmp_path, text))

    assert rates() == before
    assert FxRate.objects.count() == 1


def test_a_file_that_is_not_there_or_not_utf8_is_refused(tmp_path):
    with pytest.raises(CommandError, match="No file"):
        run_import(str(tmp_path / "missing.csv"))
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "date,currency,rate_to_usd\n2026-10-04,EUR,1.10\n2026-10-05,EUR,1,1\xe9\n".encode("latin-1")
    )
    with pytest.raises(CommandError):
        run_import(str(path))
    assert not FxRate.objects.exists()


def test_a_day_given_twice_in_one_file_is_refused_or_the_last_line_wins(tmp_path):
    path = write(tmp_path, "date,currency,rate_to_usd\n2026-10-04,EUR,1.10\n2026-10-04,EUR,1.20\n")
    try:
        run_import(path)
    except CommandError as exc:
        assert "Line 3" in str(exc)
        assert not FxRate.objects.exists()
    else:
        assert rates() == {("EUR", date(2026, 10, 4), D("1.20"))}


# 13. validate_tiers -------------------------------------------------------------------------


def test_the_default_tiers_and_equal_rates_are_valid():
    assert validate_tiers(DEFAULT_TIERS) == []
    assert validate_tiers([(D("0"), D("1")), (D("500"), D("1"))]) == []
    assert validate_tiers([(D("0"), D("0"))]) == []


def test_a_table_needs_a_tier():
    assert validate_tiers([]) == ["A schedule needs at least one tier, starting at 0."]


def test_the_first_tier_starts_at_0():
    assert validate_tiers([(D("100"), D("0")), (D("1000"), D("1"))]) == [
        "The first tier starts at 0.00 USD."
    ]


@pytest.mark.parametrize("second", ["1000", "999.99"])
def test_thresholds_rise(second):
    problems = validate_tiers([(D("0"), D("0")), (D("1000"), D("1")), (D(second), D("2"))])
    assert problems == [f"Thresholds rise: {second} does not come after 1000."]


def test_rates_do_not_fall():
    problems = validate_tiers([(D("0"), D("1")), (D("1000"), D("0.5")), (D("3000"), D("2"))])
    assert problems == ["Rates do not fall: 0.5 % comes after 1 %."]


def test_each_violation_is_named():
    problems = validate_tiers([(D("50"), D("2")), (D("40"), D("1"))])
    assert problems == [
        "The first tier starts at 0.00 USD.",
        "Thresholds rise: 40 does not come after 50.",
        "Rates do not fall: 1 % comes after 2 %.",
    ]


# 14. Tier versions --------------------------------------------------------------------------


def test_the_default_table_is_in_every_database():
    table = tier_table_for(date(2026, 10, 1))
    assert table.tiers == tuple(DEFAULT_TIERS)
    assert table.yearly_bonus == D("0.5")


def test_a_version_applies_from_its_month_on_not_before():
    schedule(date(2026, 12, 1), [("0", "0"), ("500", "1"), ("2000", "3")], yearly_bonus="1.0")

    november = tier_table_for(date(2026, 11, 1))
    assert november.tiers == tuple(DEFAULT_TIERS) and november.yearly_bonus == D("0.5")
    for month in (date(2026, 12, 1), date(2027, 6, 1)):
        table = tier_table_for(month)
        assert table.tiers == ((D("0"), D("0")), (D("500"), D("1")), (D("2000"), D("3")))
        assert table.yearly_bonus == D("1.0")
    assert tier_table_for(date(2026, 12, 1)).rates(D("1000.00"), "yearly") == (D("1"), D("1.0"))
    assert tier_table_for(date(2026, 12, 1)).rates(D("499.99"), "yearly") == (D("0"), D("0"))


def test_november_closes_with_the_old_tiers_and_december_with_the_new():
    schedule(date(2026, 12, 1), [("0", "0"), ("500", "1"), ("2000", "3")], yearly_bonus="1.0")
    yearly = SellerFactory(name="Yearly Shop", plan="yearly")
    monthly = SellerFactory(name="Monthly Shop", plan="monthly")
    small = SellerFactory(name="Small Yearly Shop", plan="yearly")
    in_december = datetime(2026, 12, 20, tzinfo=UTC)  # the orders' clock, a month from now
    place(yearly, "Y-NOV", "1000.00", at=datetime(2026, 11, 10, 9, tzinfo=UTC))
    place(yearly, "Y-DEC", "1000.00", at=datetime(2026, 12, 10, 9, tzinfo=UTC), now=in_december)
    place(monthly, "M-NOV", "2500.00", at=datetime(2026, 11, 10, 9, tzinfo=UTC))
    place(monthly, "M-DEC", "2500.00", at=datetime(2026, 12, 1, 0, tzinfo=UTC), now=in_december)
    place(small, "S-DEC", "499.99", at=datetime(2026, 12, 10, 9, tzinfo=UTC), now=in_december)

    close_months(as_of=datetime(2027, 1, 1, 1, tzinfo=UTC))

    def closed(seller, month):
        m = CashbackMonth.objects.get(seller=seller, month=month)
        assert m.status == "closed"
        return m.gmv_usd, m.tier_rate, m.bonus_rate, m.total

    nov, dec = date(2026, 11, 1), date(2026, 12, 1)
    assert closed(yearly, nov) == (D("1000.00"), D("0.5"), D("0.5"), D("10.00"))
    assert closed(yearly, dec) == (D("1000.00"), D("1"), D("1.0"), D("20.00"))
    assert closed(monthly, nov) == (D("2500.00"), D("0.5"), D("0"), D("12.50"))
    assert closed(monthly, dec) == (D("2500.00"), D("3"), D("0"), D("75.00"))
    # Below the new first threshold: 0 %, and no yearly bonus either.
    assert closed(small, dec) == (D("499.99"), D("0"), D("0"), D("0.00"))
    assert Accrual.objects.get(order__external_id="Y-DEC").amount == D("20.00")


def test_a_past_version_made_in_the_database_applies_to_its_months():
    """Service level: a version from September 2026 (the admin refuses new past versions)."""
    schedule(date(2026, 9, 1), [("0", "0.25")], yearly_bonus="0")
    seller = SellerFactory(name="Everyone Shop", plan="yearly")
    place(seller, "AUG", "100.00", at=datetime(2026, 8, 31, 23, tzinfo=UTC))
    place(seller, "SEP", "100.00", at=datetime(2026, 9, 1, 0, tzinfo=UTC))

    close_months(as_of=datetime(2026, 10, 1, 1, tzinfo=UTC))

    august = CashbackMonth.objects.get(seller=seller, month=date(2026, 8, 1))
    september = CashbackMonth.objects.get(seller=seller, month=date(2026, 9, 1))
    assert (august.rate, august.total) == (D("0"), D("0.00"))
    assert (september.tier_rate, september.bonus_rate, september.total) == (
        D("0.25"),
        D("0"),
        D("0.25"),
    )


# 15. Admin ----------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, db):
    user = StaffUserFactory(username="tier-admin", is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


def tier_post(tiers, *, initial=(), **fields) -> dict:
    """The admin's POST of a tier schedule: `initial` are the stored tiers shown (as ids)."""
    data = {
        "tiers-TOTAL_FORMS": str(len(initial) + len(tiers)),
        "tiers-INITIAL_FORMS": str(len(initial)),
        "tiers-MIN_NUM_FORMS": "1",
        "tiers-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for n, tier in enumerate(initial):
        data[f"tiers-{n}-id"] = str(tier.pk)
        data[f"tiers-{n}-schedule"] = str(tier.schedule_id)
        data[f"tiers-{n}-threshold_usd"] = str(tier.threshold_usd)
        data[f"tiers-{n}-rate"] = str(tier.rate)
    for n, (threshold, rate) in enumerate(tiers, start=len(initial)):
        data[f"tiers-{n}-threshold_usd"] = threshold
        data[f"tiers-{n}-rate"] = rate
    return data


ADD = "admin:cashback_tierschedule_add"


def test_the_admin_adds_a_valid_version(admin_client):
    data = tier_post(
        [("0", "0"), ("2000", "1"), ("8000", "2.5")],
        effective_month="2027-01-01",
        yearly_bonus="1",
    )
    response = admin_client.post(reverse(ADD), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    version = TierSchedule.objects.get(effective_month=date(2027, 1, 1))
    assert tiers_of(version) == [(D("0"), D("0")), (D("2000"), D("1")), (D("8000"), D("2.5"))]
    assert version.yearly_bonus == D("1") and version.created_by == admin_client.user


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([("100", "0"), ("1000", "1")], "The first tier starts at 0.00 USD."),
        ([("0", "1"), ("1000", "0.5")], "Rates do not fall: 0.5 % comes after 1 %."),
        ([("0", "0"), ("1000", "1"), ("1000", "2")], "Please correct the duplicate data"),
    ],
    ids=["first-not-0", "rate-falls", "threshold-twice"],
)
def test_the_admin_refuses_tiers_that_break_the_rules(admin_client, tiers, message):
    response = admin_client.post(
        reverse(ADD), tier_post(tiers, effective_month="2027-01-01", yearly_bonus="0.5")
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert TierSchedule.objects.count() == 1  # the default only
    assert Tier.objects.count() == 4


def test_the_admin_answers_a_tier_row_without_threshold_with_a_field_error(admin_client):
    data = tier_post([("0", "0"), ("", "2")], effective_month="2027-01-01", yearly_bonus="0.5")

    response = admin_client.post(reverse(ADD), data)

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert TierSchedule.objects.count() == 1


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-10-01", "A new version takes effect from this month on"),
        ("2027-01-15", "A version takes effect on the first day of a month."),
    ],
)
def test_the_admin_refuses_a_new_version_before_this_month_or_mid_month(
    admin_client, month, message
):
    response = admin_client.post(
        reverse(ADD), tier_post([("0", "0")], effective_month=month, yearly_bonus="0.5")
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert TierSchedule.objects.count() == 1


def test_the_admin_adds_a_version_from_this_month(admin_client):
    this_month = month_start(timezone.now()).date()
    response = admin_client.post(
        reverse(ADD),
        tier_post([("0", "0")], effective_month=this_month.isoformat(), yearly_bonus="0.5"),
    )
    assert response.status_code == 302
    assert TierSchedule.objects.filter(effective_month=this_month).exists()


@pytest.fixture
def closed_default_version(db):
    """The default version, used by a closed month (October 2026)."""
    seller = SellerFactory(name="Closed Shop")
    place(seller, "OCT", "1000.00", at=datetime(2026, 10, 4, 10, tzinfo=UTC))
    close_months(as_of=datetime(2026, 11, 1, 1, tzinfo=UTC))
    assert CashbackMonth.objects.get(seller=seller).status == "closed"
    return TierSchedule.objects.get(effective_month=date(2000, 1, 1))


def change_url(version) -> str:
    return reverse("admin:cashback_tierschedule_change", args=[version.pk])


def test_a_version_a_closed_month_used_is_shown_read_only(admin_client, closed_default_version):
    text = admin_client.get(change_url(closed_default_version)).content.decode()
    assert 'name="tiers-0-rate"' not in text
    assert 'name="yearly_bonus"' not in text
    delete = reverse("admin:cashback_tierschedule_delete", args=[closed_default_version.pk])
    assert admin_client.get(delete).status_code == 403


def test_a_version_a_closed_month_used_does_not_change_when_posted(
    admin_client, closed_default_version
):
    version = closed_default_version
    stored = list(version.tiers.order_by("threshold_usd"))
    data = tier_post([], initial=stored, effective_month="2000-01-01", yearly_bonus="3")
    for n in range(len(stored)):
        data[f"tiers-{n}-rate"] = "9"
    data["tiers-1-DELETE"] = "on"

    response = admin_client.post(change_url(version), data)

    assert response.status_code in (200, 302)
    version.refresh_from_db()
    assert tiers_of(version) == DEFAULT_TIERS
    assert version.yearly_bonus == D("0.5")


def test_no_tier_can_be_added_to_a_version_a_closed_month_used(
    admin_client, closed_default_version
):
    version = closed_default_version
    stored = list(version.tiers.order_by("threshold_usd"))
    data = tier_post([("20000", "5")], initial=stored)

    admin_client.post(change_url(version), data)

    assert tiers_of(version) == DEFAULT_TIERS


def test_a_version_no_closed_month_used_can_be_changed(admin_client, closed_default_version):
    version = schedule(date(2027, 1, 1), [("0", "0"), ("1000", "1")])
    stored = list(version.tiers.order_by("threshold_usd"))
    data = tier_post([], initial=stored, effective_month="2027-01-01", yearly_bonus="0.75")
    data["tiers-1-rate"] = "1.25"

    response = admin_client.post(change_url(version), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    version.refresh_from_db()
    assert tiers_of(version) == [(D("0"), D("0")), (D("1000"), D("1.25"))]
    assert version.yearly_bonus == D("0.75")


def test_fx_rates_are_added_in_the_admin(admin_client):
    response = admin_client.post(
        reverse("admin:cashback_fxrate_add"),
        {"currency": "EUR", "date": "2026-10-04", "rate_to_usd": "1.10"},
    )

    assert response.status_code == 302
    assert rates() == {("EUR", date(2026, 10, 4), D("1.10"))}


@pytest.mark.parametrize(
    "fields",
    [
        {"currency": "EUR", "date": "2026-10-04", "rate_to_usd": "0"},
        {"currency": "EUR", "date": "2026-10-04", "rate_to_usd": "abc"},
        {"currency": "EUR", "date": "2026-13-04", "rate_to_usd": "1.1"},
    ],
)
def test_the_admin_refuses_a_bad_fx_rate(admin_client, fields):
    response = admin_client.post(reverse("admin:cashback_fxrate_add"), fields)
    assert response.status_code == 200
    assert not FxRate.objects.exists()


@pytest.mark.parametrize("currency", ["EUX", "eur"])
def test_the_admin_refuses_an_unknown_currency(admin_client, currency):
    admin_client.post(
        reverse("admin:cashback_fxrate_add"),
        {"currency": currency, "date": "2026-10-04", "rate_to_usd": "1.10"},
    )
    assert not FxRate.objects.exists()
