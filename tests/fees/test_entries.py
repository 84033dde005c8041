"""Which orders pay, and the entries that say so, through the real order steps."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from cashback.services import Actor, campaign_add_rate, registration_transition
from fees.models import FeeEntry
from orders.models import OrderEvent
from orders.services import EventInput, order_apply_event
from tests.factories import make_campaign
from tests.fees.conftest import REGISTERED_AT, deliver
from tests.orders.conftest import T0
from tests.tampering import tampering

pytestmark = pytest.mark.django_db

D = Decimal


def entries(order):
    return list(
        FeeEntry.objects.filter(order=order)
        .order_by("occurred_at", "pk")
        .values_list("kind", "amount")
    )


def refund(seller, at, amount=None, external_id="A-1", **kwargs):
    return order_apply_event(
        seller=seller,
        external_id=external_id,
        event=EventInput(type="refunded", occurred_at=at, amount=amount, **kwargs),
    )


def refund_entry(order) -> dict:
    """A refund entry of the order (by attname), on a refund event of its own, under its
    charge's seller, campaign and registration: what the keys of a fee entry hold."""
    charge = FeeEntry.objects.get(order=order, kind="charge")
    event = OrderEvent.objects.create(
        order=order, type="refunded", occurred_at=T0, amount=D("0.00"), received_at=T0
    )
    return {
        "order_id": order.pk,
        "order_event_id": event.pk,
        "kind": "refund",
        "amount": D("1.00"),
        "currency": "USD",
        "rate": D("3"),
        "fee_base": D("100"),
        "occurred_at": T0,
        "seller_id": charge.seller_id,
        "campaign_id": charge.campaign_id,
        "registration_id": charge.registration_id,
    }


def check_keys_now() -> None:
    """The deferred foreign keys checked now, not at the commit."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class TestEligibility:
    def test_a_voucher_order_of_a_registered_seller_pays_on_delivery(self, seller, registered):
        order = deliver(seller)
        charge = FeeEntry.objects.get(order=order)
        assert (charge.kind, charge.amount, charge.currency) == ("charge", D("3.00"), "USD")
        assert (charge.rate, charge.fee_base) == (D("3"), D("100.00"))
        assert charge.occurred_at == order.delivered_at
        assert charge.registration == registered

    def test_without_the_voucher_nothing(self, seller, registered):
        assert entries(deliver(seller, bonus_cashback_voucher=False)) == []

    def test_placed_before_registering_nothing(self, seller, registered):
        assert (
            entries(
                deliver(seller, placed_at=REGISTERED_AT - timedelta(hours=1), paid_at=REGISTERED_AT)
            )
            == []
        )

    def test_placed_while_suspended_nothing(self, seller, registered, staff_user):
        registration_transition(
            registration_id=registered.pk,
            action="suspend",
            actor=Actor.admin(staff_user),
            reason="r",
            now=T0 - timedelta(days=1),
        )
        assert entries(deliver(seller)) == []

    def test_placed_while_a_withdrawal_from_approved_is_reviewed_pays(
        self, seller, seller_user, registered
    ):
        registration_transition(
            registration_id=registered.pk,
            action="withdraw",
            actor=Actor.seller_user(seller_user),
            now=T0 - timedelta(days=1),
        )
        assert entries(deliver(seller)) == [("charge", D("3.00"))]

    def test_placed_after_expiry_nothing_but_before_it_pays_even_if_ingested_late(
        self, seller, seller_user, registered, staff_user
    ):
        registration_transition(
            registration_id=registered.pk,
            action="withdraw",
            actor=Actor.seller_user(seller_user),
            now=T0 + timedelta(days=1),
        )
        registration_transition(
            registration_id=registered.pk,
            action="approve_withdrawal",
            actor=Actor.admin(staff_user),
            now=T0 + timedelta(days=2),
        )
        assert entries(deliver(seller, external_id="BEFORE")) == [("charge", D("3.00"))]
        late = T0 + timedelta(days=3)
        after = deliver(
            seller,
            external_id="AFTER",
            placed_at=late,
            paid_at=late,
            shipped_at=late + timedelta(days=1),
            delivered_at=late + timedelta(days=2),
        )
        assert entries(after) == []

    def test_naming_a_campaign_it_is_not_registered_in_pays_nothing(self, seller, registered):
        make_campaign(slug="other")
        assert entries(deliver(seller, campaign="other")) == []
        assert entries(deliver(seller, external_id="UNKNOWN", campaign="nope")) == []
        assert entries(deliver(seller, external_id="NAMED", campaign="bonus")) == [
            ("charge", D("3.00"))
        ]

    def test_the_rate_in_force_when_it_was_placed(self, seller, registered, campaign):
        campaign_add_rate(
            campaign=campaign, rate="5", effective_from=T0 + timedelta(hours=1), now=T0
        )
        assert entries(deliver(seller, external_id="OLD")) == [("charge", D("3.00"))]
        later = T0 + timedelta(hours=2)
        assert entries(deliver(seller, external_id="NEW", placed_at=later, paid_at=later)) == [
            ("charge", D("5.00"))
        ]

    def test_in_the_orders_currency(self, seller, registered):
        order = deliver(seller, currency="EUR")
        assert FeeEntry.objects.get(order=order).currency == "EUR"


class TestLifecycle:
    def test_never_charged_when_cancelled_or_unpaid(self, seller, registered):
        deliver(
            seller,
            external_id="C",
            status="cancelled",
            shipped_at=None,
            delivered_at=None,
            cancelled_at=T0 + timedelta(hours=2),
        )
        deliver(
            seller,
            external_id="U",
            status="unpaid",
            paid_at=None,
            shipped_at=None,
            delivered_at=None,
            tracking_number="",
        )
        deliver(seller, external_id="S", status="shipped", delivered_at=None)
        assert not FeeEntry.objects.exists()

    def test_charged_when_the_delivered_event_comes(self, seller, registered):
        deliver(seller, status="shipped", delivered_at=None)
        order, _ = order_apply_event(
            seller=seller,
            external_id="A-1",
            event=EventInput(type="delivered", occurred_at=T0 + timedelta(days=3)),
        )
        assert entries(order) == [("charge", D("3.00"))]

    def test_partial_refunds_then_the_return_net_to_zero(self, seller, registered):
        order = deliver(seller)
        refund(seller, T0 + timedelta(days=5), D("30.00"))
        refund(seller, T0 + timedelta(days=6), D("33.33"))
        refund(seller, T0 + timedelta(days=7))
        assert entries(order) == [
            ("charge", D("3.00")),
            ("refund", D("0.90")),
            ("refund", D("1.00")),  # 3.00 x 33.33 / 100.00 = 0.9999
            ("refund", D("1.10")),  # what remains
        ]

    def test_a_return_in_one_go_refunds_the_whole_fee(self, seller, registered):
        order = deliver(seller, status="returned", returned_at=T0 + timedelta(days=6))
        assert entries(order) == [("charge", D("3.00")), ("refund", D("3.00"))]

    def test_a_refund_of_an_order_that_paid_no_fee_adds_nothing(self, seller, registered):
        deliver(seller, bonus_cashback_voucher=False)
        refund(seller, T0 + timedelta(days=5), D("10.00"))
        assert not FeeEntry.objects.exists()

    def test_replayed_events_add_nothing(self, seller, registered):
        order = deliver(seller, status="shipped", delivered_at=None)
        delivered = EventInput(type="delivered", occurred_at=T0 + timedelta(days=3), event_id="d")
        for _ in range(3):
            order_apply_event(seller=seller, external_id="A-1", event=delivered)
        for _ in range(3):
            refund(seller, T0 + timedelta(days=5), D("30.00"), event_id="r1")
            refund(seller, T0 + timedelta(days=6), D("10.00"))
        assert entries(order) == [
            ("charge", D("3.00")),
            ("refund", D("0.90")),
            ("refund", D("0.30")),
        ]

    def test_a_bulk_batch_charges_and_refunds_like_single_orders(self, seller, registered):
        from orders.services import orders_create
        from tests.orders.conftest import order_input

        orders_create(
            seller=seller,
            inputs=[
                order_input(external_id="B-1"),
                order_input(
                    external_id="B-2", status="returned", returned_at=T0 + timedelta(days=6)
                ),
                order_input(
                    external_id="B-3",
                    refunded_amount=D("50.00"),
                    refunded_at=T0 + timedelta(days=6),
                ),
                order_input(external_id="B-4", bonus_cashback_voucher=False),
            ],
        )
        rows = sorted(FeeEntry.objects.values_list("order__external_id", "kind", "amount"))
        assert rows == [
            ("B-1", "charge", D("3.00")),
            ("B-2", "charge", D("3.00")),
            ("B-2", "refund", D("3.00")),
            ("B-3", "charge", D("3.00")),
            ("B-3", "refund", D("1.50")),
        ]


class TestConstraints:
    def test_one_charge_per_order(self, seller, registered):
        order = deliver(seller)
        charge = FeeEntry.objects.get(order=order)
        other_event = OrderEvent.objects.create(
            order=order, type="refunded", occurred_at=T0, amount=D("0.00"), received_at=T0
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            FeeEntry.objects.create(
                seller=seller,
                order=order,
                order_event=other_event,
                kind="charge",
                amount=D("1.00"),
                currency="USD",
                campaign=charge.campaign,
                registration=charge.registration,
                rate=D("3"),
                fee_base=D("100"),
                occurred_at=T0,
            )

    def test_one_entry_per_event(self, seller, registered):
        order = deliver(seller)
        charge = FeeEntry.objects.get(order=order)
        with pytest.raises(IntegrityError), transaction.atomic():
            FeeEntry.objects.create(
                seller=seller,
                order=order,
                order_event=charge.order_event,
                kind="refund",
                amount=D("1.00"),
                currency="USD",
                campaign=charge.campaign,
                registration=charge.registration,
                rate=D("3"),
                fee_base=D("100"),
                occurred_at=T0,
            )

    @pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a foreign key of PostgreSQL's (fees/0007)"
    )
    @pytest.mark.parametrize("changed", ["seller", "campaign", "registration"])
    def test_a_fee_is_for_the_seller_and_campaign_of_its_registration(
        self, seller, registered, other_seller, changed
    ):
        entry = refund_entry(deliver(seller))
        wrong = {
            "seller": other_seller.pk,
            "campaign": make_campaign(slug="another").pk,
            "registration": entry["registration_id"] + 1000,
        }[changed]
        with (
            pytest.raises(IntegrityError, match="fee_entry_of_its_registration"),
            transaction.atomic(),
        ):
            FeeEntry.objects.create(**{**entry, f"{changed}_id": wrong})
            check_keys_now()
        # The same entry under its own registration's seller and campaign is written.
        FeeEntry.objects.create(**entry)
        check_keys_now()

    @pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a foreign key of PostgreSQL's (fees/0008)"
    )
    @pytest.mark.parametrize("changed", ["order", "order_event", "missing_event"])
    def test_a_fees_event_is_one_of_its_orders(self, seller, registered, changed):
        entry = refund_entry(deliver(seller))
        other = refund_entry(deliver(seller, external_id="ORD-2"))
        wrong = {
            "order": {"order_id": other["order_id"]},  # the event is of another order
            "order_event": {"order_event_id": other["order_event_id"]},  # another order's
            "missing_event": {"order_event_id": other["order_event_id"] + 1000},
        }[changed]
        with (
            pytest.raises(IntegrityError, match="fee_entry_of_its_event"),
            transaction.atomic(),
        ):
            FeeEntry.objects.create(**{**entry, **wrong})
            check_keys_now()
        # The entry with its own order's event is written.
        FeeEntry.objects.create(**entry)
        check_keys_now()

    def test_amounts_are_never_negative(self, seller, registered):
        order = deliver(seller)
        # the append-only guard lifted, so that the check constraint itself is what refuses
        with (
            tampering("fees_feeentry"),
            pytest.raises(IntegrityError, match=r"(?i)check constraint"),
            transaction.atomic(),
        ):
            FeeEntry.objects.filter(order=order).update(amount=D("-1.00"))
