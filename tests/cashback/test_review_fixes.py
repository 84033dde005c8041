"""What a review of the money found: each a rule with its test."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.urls import reverse

import cashback.order_cashback as oc
from cashback.models import Accrual, CashbackMonth
from orders.services import EventInput, order_apply_event, orders_create
from tests.factories import StaffUserFactory
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db

D = Decimal
AFTER_OCTOBER = datetime(2026, 11, 1, 1, tzinfo=UTC)
T = datetime(2026, 10, 10, 10, tzinfo=UTC)


def deliver(seller, external_id, price, **overrides):
    values = {
        "external_id": external_id,
        "placed_at": T,
        "net_product_price": D(price),
        "seller_funded_discount": D("0"),
        "paid_at": T,
        "shipped_at": T,
        "delivered_at": T + timedelta(days=1),
    }
    values.update(overrides)
    (result,) = orders_create(seller=seller, inputs=[order_input(**values)])
    assert result.result == "created"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second connection's commit")
def test_a_month_whose_orders_move_during_the_close_is_done_again(seller, monkeypatch):
    """An order returned by another request between the total and the shares must not
    leave its share to the others: the close notices and does the month again."""
    _default_tiers()  # a transactional test before may have emptied the tables
    deliver(seller, "A", "2000.00")
    deliver(seller, "B", "1500.00")
    real = oc._insert_shares
    calls = []

    def return_b_meanwhile(params, seller_ids, month_ids):
        if not calls:  # the first time only: another connection returns B and commits

            def refund():
                try:
                    order_apply_event(
                        seller=seller,
                        external_id="B",
                        event=EventInput(type="refunded", occurred_at=T + timedelta(days=2)),
                    )
                finally:
                    connections.close_all()

            worker = threading.Thread(target=refund)
            worker.start()
            worker.join(timeout=30)
        calls.append(1)
        return real(params, seller_ids, month_ids)

    monkeypatch.setattr(oc, "_insert_shares", return_b_meanwhile)
    counts = oc.close_months(as_of=AFTER_OCTOBER)
    month = CashbackMonth.objects.get(seller=seller)
    # Done again without B: 2,000.00 at 0.5 % = 10.00, all of it A's.
    assert (month.gmv_usd, month.total) == (D("2000.00"), D("10.00"))
    assert list(Accrual.objects.values_list("order__external_id", "amount")) == [("A", D("10.00"))]
    assert counts["close_retries"] == 1


def _default_tiers():
    from cashback.models import Tier, TierSchedule

    if not TierSchedule.objects.exists():
        schedule = TierSchedule.objects.create(effective_month=datetime(2000, 1, 1).date())
        for threshold, rate in (("0", "0"), ("1000", "0.5"), ("3000", "1"), ("10000", "2")):
            Tier.objects.create(schedule=schedule, threshold_usd=D(threshold), rate=D(rate))


def test_a_waiting_month_is_sent_to_the_workers_even_with_no_order_left(seller):
    deliver(seller, "EUR-1", "100.00", currency="EUR")
    oc.close_months(as_of=AFTER_OCTOBER)
    assert CashbackMonth.objects.get(seller=seller).status == "waiting_fx"
    order_apply_event(
        seller=seller,
        external_id="EUR-1",
        event=EventInput(type="refunded", occurred_at=T + timedelta(days=3)),
    )
    assert oc.sellers_to_close(as_of=AFTER_OCTOBER) == [seller.pk]


def test_the_admin_refuses_a_backdated_rate(client, seller):
    from tests.factories import make_campaign

    campaign = make_campaign(slug="r")
    client.force_login(StaffUserFactory(is_superuser=True))
    past = datetime(2026, 1, 1, tzinfo=UTC)
    data = {
        "name": campaign.name,
        "slug": campaign.slug,
        "summary": "",
        "details": "",
        "is_published": "on",
        "terms": campaign.terms,
        "registration_opens_at_0": campaign.registration_opens_at.strftime("%Y-%m-%d"),
        "registration_opens_at_1": campaign.registration_opens_at.strftime("%H:%M:%S"),
        "rates-TOTAL_FORMS": "1",
        "rates-INITIAL_FORMS": "0",
        "rates-MIN_NUM_FORMS": "0",
        "rates-MAX_NUM_FORMS": "1000",
        "rates-0-rate": "5",
        "rates-0-effective_from_0": past.strftime("%Y-%m-%d"),
        "rates-0-effective_from_1": "00:00:00",
        "rates-0-campaign": campaign.pk,
        "terms_versions-TOTAL_FORMS": "0",
        "terms_versions-INITIAL_FORMS": "0",
        "terms_versions-MIN_NUM_FORMS": "0",
        "terms_versions-MAX_NUM_FORMS": "1000",
    }
    response = client.post(reverse("admin:cashback_campaign_change", args=[campaign.pk]), data)
    assert response.status_code == 200 and "from now on" in response.content.decode()
    assert campaign.rates.count() == 1


def test_a_late_order_waiting_for_its_fx_rate_is_shown_not_dropped(seller):
    from cashback.models import FxRate

    deliver(seller, "USD-1", "1000.00")
    oc.close_months(as_of=AFTER_OCTOBER)
    deliver(seller, "LATE-EUR", "100.00", currency="EUR")
    counts = oc.close_months(as_of=AFTER_OCTOBER + timedelta(days=2))
    month = CashbackMonth.objects.get(seller=seller)
    assert counts["late_orders_waiting_fx"] == 1
    assert month.status == "closed" and "EUR on 2026-10-11" in month.waiting_for
    FxRate.objects.create(currency="EUR", date=datetime(2026, 10, 11).date(), rate_to_usd="1.1")
    counts = oc.close_months(as_of=AFTER_OCTOBER + timedelta(days=3))
    month.refresh_from_db()
    assert counts["late_accruals"] == 1 and month.waiting_for == ""
    late = Accrual.objects.get(order__external_id="LATE-EUR")
    assert (late.late, late.gmv_usd, late.amount) == (True, D("110.00"), D("0.55"))
