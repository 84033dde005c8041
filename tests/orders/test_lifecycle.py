from datetime import timedelta
from decimal import Decimal

import pytest

from orders import steps
from orders.models import Order, OrderEvent
from orders.services import (
    TIME_FIELDS,
    EventInput,
    OrderConflict,
    OrderInvalid,
    order_apply_event,
    order_create,
    orders_create,
)
from tests.orders.conftest import T0, handlers_kept, order_input

pytestmark = pytest.mark.django_db


def events(order):
    return list(
        OrderEvent.objects.filter(order=order)
        .order_by("occurred_at", "pk")
        .values_list("type", "amount")
    )


def apply(seller, type, at, **kwargs):
    return order_apply_event(
        seller=seller,
        external_id="A-1",
        event=EventInput(type=type, occurred_at=at, **kwargs),
    )


class TestCreateInAnyStatus:
    @pytest.mark.parametrize(
        ("overrides", "status", "expected_steps"),
        [
            (
                {
                    "status": "unpaid",
                    "paid_at": None,
                    "shipped_at": None,
                    "delivered_at": None,
                    "tracking_number": "",
                },
                "unpaid",
                ["created"],
            ),
            (
                {"status": "paid", "shipped_at": None, "delivered_at": None},
                "paid",
                ["created", "paid"],
            ),
            (
                {"status": "shipped", "delivered_at": None},
                "shipped",
                ["created", "paid", "shipped"],
            ),
            ({}, "delivered", ["created", "paid", "shipped", "delivered"]),
            (
                {"status": "returned", "returned_at": T0 + timedelta(days=5)},
                "returned",
                ["created", "paid", "shipped", "delivered", "refunded"],
            ),
            (
                {
                    "status": "cancelled",
                    "shipped_at": None,
                    "delivered_at": None,
                    "cancelled_at": T0 + timedelta(hours=2),
                },
                "cancelled",
                ["created", "paid", "cancelled"],
            ),
            (
                {
                    "status": "payment_failed",
                    "paid_at": None,
                    "shipped_at": None,
                    "delivered_at": None,
                    "payment_failed_at": T0 + timedelta(minutes=5),
                },
                "payment_failed",
                ["created", "payment_failed"],
            ),
        ],
    )
    def test_passes_each_step_it_has_passed(
        self, seller, recorded_steps, overrides, status, expected_steps
    ):
        """Each step's effects run, told by the created event (a refund by its own)."""
        result = order_create(seller=seller, data=order_input(**overrides))
        assert result.result == "created"
        order = Order.objects.get(pk=result.order.pk)
        assert order.status == status
        assert [step for step, _ in recorded_steps] == expected_steps[1:]
        told_by = [event_type for _, applied in recorded_steps for _, event_type in applied]
        refunds = ["refunded"] if status == "returned" else []
        assert told_by == ["created"] * (len(expected_steps) - 1 - len(refunds)) + refunds
        assert [t for t, _ in events(order)] == ["created", *refunds]
        for step in expected_steps[1:]:
            if step != "refunded":
                assert getattr(order, f"{step}_at") is not None

    def test_a_returned_order_has_refunded_all_it_was_paid(self, seller):
        result = order_create(
            seller=seller, data=order_input(status="returned", returned_at=T0 + timedelta(days=5))
        )
        order = Order.objects.get(pk=result.order.pk)
        assert order.refunded_amount == Decimal("100.00")
        assert events(order)[-1] == ("refunded", Decimal("100.00"))

    def test_a_delivered_order_with_a_partial_refund(self, seller):
        result = order_create(
            seller=seller,
            data=order_input(refunded_amount=Decimal("30.00"), refunded_at=T0 + timedelta(days=6)),
        )
        order = Order.objects.get(pk=result.order.pk)
        assert (order.status, order.refunded_amount) == ("delivered", Decimal("30.00"))

    def test_items_are_kept_in_order(self, seller):
        from orders.services import ItemInput

        items = (
            ItemInput(sku="B", quantity=2, unit_price=Decimal("40.00"), name="Bee"),
            ItemInput(sku="A", quantity=1, unit_price=Decimal("40.00")),
        )
        result = order_create(seller=seller, data=order_input(items=items))
        stored = list(result.order.items.order_by("position").values_list("sku", "quantity"))
        assert stored == [("B", 2), ("A", 1)]


CREATED_PAST = [
    {"status": "paid", "shipped_at": None, "delivered_at": None, "tracking_number": " TRK-1 "},
    {"status": "shipped", "delivered_at": None, "tracking_number": " TRK-1 "},
    {},
    {"status": "returned", "returned_at": T0 + timedelta(days=5)},
    {"refunded_amount": Decimal("30.00"), "refunded_at": T0 + timedelta(days=6)},
    {
        "status": "cancelled",
        "delivered_at": None,
        "cancelled_at": T0 + timedelta(days=2),
        "tracking_number": " TRK-1 ",
    },
    {
        "status": "cancelled",
        "shipped_at": None,
        "delivered_at": None,
        "cancelled_at": T0 + timedelta(hours=2),
    },
    {
        "status": "payment_failed",
        "paid_at": None,
        "shipped_at": None,
        "delivered_at": None,
        "payment_failed_at": T0 + timedelta(minutes=5),
    },
]


@pytest.mark.parametrize("overrides", CREATED_PAST)
def test_an_order_created_past_steps_is_the_order_its_events_make(seller, overrides):
    """Creation sets the status and times it was given (the rules checked them first); the
    same order created unpaid and sent each step as an event ends the same."""
    data = order_input(**overrides)
    created = Order.objects.get(pk=order_create(seller=seller, data=data).order.pk)
    stepped = order_input(
        external_id="B-1",
        status="unpaid",
        **dict.fromkeys(("paid_at", "shipped_at", "delivered_at")),
        tracking_number="" if data.shipped_at else data.tracking_number,
    )
    order_create(seller=seller, data=stepped)
    steps_of = [
        ("paid", data.paid_at, {}),
        ("payment_failed", data.payment_failed_at, {}),
        ("shipped", data.shipped_at, {"tracking_number": data.tracking_number}),
        ("delivered", data.delivered_at, {}),
        ("cancelled", data.cancelled_at, {}),
        ("refunded", data.refunded_at or data.returned_at, {}),
    ]
    for type, at, extra in steps_of:
        if at is None:
            continue
        if type == "refunded" and data.status != "returned":
            extra = {"amount": data.refunded_amount}
        order_apply_event(
            seller=seller,
            external_id="B-1",
            event=EventInput(type=type, occurred_at=at, **extra),
        )
    fields = ("status", "tracking_number", "refunded_amount", *TIME_FIELDS)
    expected = Order.objects.filter(external_id="B-1").values(*fields).get()
    assert {name: getattr(created, name) for name in fields} == expected


class TestSameExternalId:
    def test_the_same_data_again_is_unchanged(self, seller):
        first = order_create(seller=seller, data=order_input())
        again = order_create(seller=seller, data=order_input())
        assert (again.result, again.order.pk) == ("unchanged", first.order.pk)
        assert Order.objects.count() == 1 and OrderEvent.objects.count() == 1

    def test_the_same_creation_after_later_events_is_still_unchanged(self, seller):
        order_create(seller=seller, data=order_input())
        apply(seller, "refunded", T0 + timedelta(days=9))
        assert order_create(seller=seller, data=order_input()).result == "unchanged"

    def test_other_data_is_a_conflict_naming_what_differs(self, seller):
        order_create(seller=seller, data=order_input())
        result = order_create(seller=seller, data=order_input(net_product_price=Decimal("121")))
        assert result.result == "error" and result.conflict
        assert "net_product_price" in result.errors["external_id"][0]
        assert Order.objects.get().net_product_price == Decimal("120.00")

    def test_another_seller_may_use_the_same_external_id(self, seller, other_seller):
        order_create(seller=seller, data=order_input())
        theirs = order_create(
            seller=other_seller,
            data=order_input(net_product_price=Decimal("5"), seller_funded_discount=0),
        )
        assert theirs.result == "created"
        assert Order.objects.filter(external_id="A-1").count() == 2


class TestEvents:
    @pytest.fixture
    def paid(self, seller):
        return order_create(
            seller=seller,
            data=order_input(status="paid", shipped_at=None, delivered_at=None, tracking_number=""),
        ).order

    def test_walk_the_lifecycle(self, seller, paid):
        order, changed = apply(seller, "shipped", T0 + timedelta(days=1), tracking_number="TRK")
        assert changed and order.status == "shipped" and order.tracking_number == "TRK"
        order, _ = apply(seller, "delivered", T0 + timedelta(days=2))
        assert order.status == "delivered"
        order, _ = apply(seller, "refunded", T0 + timedelta(days=3), amount=Decimal("40"))
        assert (order.status, order.refunded_amount) == ("delivered", Decimal("40.00"))
        order, _ = apply(seller, "refunded", T0 + timedelta(days=4))
        assert (order.status, order.refunded_amount) == ("returned", Decimal("100.00"))
        assert order.returned_at == T0 + timedelta(days=4)

    def test_the_same_event_id_again_changes_nothing(self, seller, paid):
        at = T0 + timedelta(days=1)
        apply(seller, "shipped", at, tracking_number="TRK", event_id="e-1")
        _order, changed = apply(seller, "shipped", at, tracking_number="TRK", event_id="e-1")
        assert not changed and OrderEvent.objects.filter(event_id="e-1").count() == 1

    def test_an_event_id_with_other_data_is_a_conflict(self, seller, paid):
        apply(seller, "shipped", T0 + timedelta(days=1), tracking_number="TRK", event_id="e-1")
        with pytest.raises(OrderConflict, match="other data"):
            apply(seller, "delivered", T0 + timedelta(days=2), event_id="e-1")
        assert Order.objects.get().status == "shipped"

    def test_the_same_step_with_the_same_data_changes_nothing(self, seller, paid):
        at = T0 + timedelta(days=1)
        apply(seller, "shipped", at, tracking_number="TRK")
        _order, changed = apply(seller, "shipped", at, tracking_number="TRK")
        assert not changed
        assert OrderEvent.objects.filter(type="shipped").count() == 1

    def test_the_same_step_with_other_data_is_a_conflict(self, seller, paid):
        apply(seller, "shipped", T0 + timedelta(days=1), tracking_number="TRK")
        with pytest.raises(OrderConflict, match="already"):
            apply(seller, "shipped", T0 + timedelta(days=2), tracking_number="TRK")

    def test_a_repeated_partial_refund_changes_nothing(self, seller):
        order_create(seller=seller, data=order_input())
        at = T0 + timedelta(days=5)
        apply(seller, "refunded", at, amount=Decimal("10"))
        order, changed = apply(seller, "refunded", at, amount=Decimal("10"))
        assert not changed and order.refunded_amount == Decimal("10.00")
        order, changed = apply(seller, "refunded", at, amount=Decimal("10"), event_id="second")
        assert changed and order.refunded_amount == Decimal("20.00")

    @pytest.mark.parametrize(
        ("type", "hours"),
        [("delivered", 30), ("refunded", 30)],
    )
    def test_a_step_its_status_does_not_allow_is_a_conflict(self, seller, paid, type, hours):
        with pytest.raises(OrderConflict, match="The order is paid"):
            apply(seller, type, T0 + timedelta(hours=hours))
        assert Order.objects.get().status == "paid"

    def test_paid_after_cancelled_is_a_conflict(self, seller):
        order_create(
            seller=seller,
            data=order_input(
                status="cancelled",
                paid_at=None,
                shipped_at=None,
                delivered_at=None,
                tracking_number="",
                cancelled_at=T0 + timedelta(hours=1),
            ),
        )
        with pytest.raises(OrderConflict):
            apply(seller, "paid", T0 + timedelta(hours=2))

    def test_a_refund_beyond_what_remains_is_a_conflict(self, seller):
        order_create(seller=seller, data=order_input())
        with pytest.raises(OrderConflict, match="more than what remains"):
            apply(seller, "refunded", T0 + timedelta(days=5), amount=Decimal("100.01"))
        assert Order.objects.get().refunded_amount == 0

    def test_a_step_before_the_one_it_follows_is_invalid(self, seller, paid):
        with pytest.raises(OrderInvalid) as refused:
            apply(seller, "shipped", T0 + timedelta(minutes=30), tracking_number="TRK")
        assert "paid_at" in refused.value.errors["occurred_at"][0]

    def test_a_step_in_the_future_is_invalid(self, seller, paid):
        from django.utils import timezone

        with pytest.raises(OrderInvalid):
            apply(seller, "shipped", timezone.now() + timedelta(hours=1), tracking_number="T")

    def test_shipping_needs_a_tracking_number(self, seller, paid):
        with pytest.raises(OrderInvalid) as refused:
            apply(seller, "shipped", T0 + timedelta(days=1))
        assert "tracking_number" in refused.value.errors

    def test_an_unknown_order_is_not_found(self, seller):
        with pytest.raises(Order.DoesNotExist):
            apply(seller, "paid", T0)

    def test_another_sellers_order_is_not_found(self, seller, other_seller, paid):
        with pytest.raises(Order.DoesNotExist):
            order_apply_event(
                seller=other_seller,
                external_id="A-1",
                event=EventInput(type="shipped", occurred_at=T0 + timedelta(days=1)),
            )


class TestHandlers:
    def test_handlers_run_in_the_order_they_subscribed(self, seller):
        calls = []
        with handlers_kept():

            def first(applied):
                calls.append("first")

            def second(applied):
                calls.append("second")

            steps.subscribe("delivered", first)
            steps.subscribe("delivered", second)
            steps.subscribe("delivered", first)  # again: still once
            order_create(seller=seller, data=order_input())
        assert calls == ["first", "second"]

    def test_a_failing_handler_rolls_the_step_back(self, seller):
        order_create(
            seller=seller,
            data=order_input(status="shipped", delivered_at=None),
        )
        with handlers_kept():

            def explode(applied):
                raise RuntimeError("fee service down")

            steps.subscribe("delivered", explode)
            with pytest.raises(RuntimeError):
                apply(seller, "delivered", T0 + timedelta(days=3))
        order = Order.objects.get()
        assert order.status == "shipped" and order.delivered_at is None
        assert not OrderEvent.objects.filter(type="delivered").exists()

    def test_a_batch_runs_each_handler_once_with_all_its_steps(self, seller, recorded_steps):
        inputs = [order_input(external_id=f"B-{n}") for n in range(5)]
        orders_create(seller=seller, inputs=inputs)
        delivered = [batch for step, batch in recorded_steps if step == "delivered"]
        assert len(delivered) == 1 and len(delivered[0]) == 5

    def test_a_failing_handler_in_a_batch_holds_back_only_its_order(self, seller):
        with handlers_kept():
            handled = []

            def refuse_b2(applied):
                handled.append(len(applied))
                if any(a.order.external_id == "B-2" for a in applied):
                    raise RuntimeError("cannot handle B-2")

            steps.subscribe("delivered", refuse_b2)
            results = orders_create(
                seller=seller, inputs=[order_input(external_id=f"B-{n}") for n in range(4)]
            )
        assert [r.result for r in results] == ["created", "created", "error", "created"]
        assert sorted(Order.objects.values_list("external_id", flat=True)) == ["B-0", "B-1", "B-3"]
        # The batch once (none of its ids existed, so not again), then each order alone.
        assert handled == [4, 1, 1, 1, 1]

    def test_an_order_the_database_refuses_is_an_error_result(self, seller):
        """A write refused for another reason than an existing order (a handler's, here)
        holds back its order alone, as any failure does."""
        from django.db import IntegrityError

        with handlers_kept():

            def refuse_b1(applied):
                if any(a.order.external_id == "B-1" for a in applied):
                    raise IntegrityError("refused")

            steps.subscribe("delivered", refuse_b1)
            results = orders_create(
                seller=seller, inputs=[order_input(external_id=f"B-{n}") for n in range(3)]
            )
        assert [r.result for r in results] == ["created", "error", "created"]
        assert results[1].errors == {
            "non_field_errors": ["The order could not be processed; nothing was stored."]
        }
        assert sorted(Order.objects.values_list("external_id", flat=True)) == ["B-0", "B-2"]

    def test_an_unknown_step_cannot_be_subscribed(self):
        with pytest.raises(ValueError):
            steps.subscribe("teleported", lambda applied: None)


def test_the_database_keeps_the_lifecycle_invariants(seller):
    from django.db import IntegrityError, transaction

    order = order_create(seller=seller, data=order_input()).order
    for change in (
        {"status": "delivered", "delivered_at": None},
        {"refunded_amount": Decimal("100.01")},
        {"seller_funded_discount": Decimal("130")},
        {"tracking_number": ""},
        {"status": "teleported"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Order.objects.filter(pk=order.pk).update(**change)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"net_product_price": Decimal("-1.00"), "seller_funded_discount": Decimal("-2.00")},
            "net_product_price",
        ),
        ({"seller_funded_discount": Decimal("-1.00")}, "seller_funded_discount"),
        (
            {"refunded_amount": Decimal("-5.00"), "refunded_at": T0 + timedelta(days=4)},
            "refunded_amount",
        ),
    ],
)
def test_a_negative_amount_is_an_error_result(seller, overrides, field):
    """The API takes no negative amount; the service refuses one from any caller."""
    result = order_create(seller=seller, data=order_input(**overrides))
    assert result.result == "error"
    assert "An amount is 0.00 or more." in result.errors[field]
    assert not Order.objects.exists()


def test_an_item_of_no_quantity_or_a_negative_price_is_an_error_result(seller):
    from orders.services import ItemInput

    for item in (
        ItemInput(sku="A", quantity=0, unit_price=Decimal("100.00")),
        ItemInput(sku="A", quantity=1, unit_price=Decimal("-1.00")),
    ):
        result = order_create(
            seller=seller, data=order_input(items=(item,), net_product_price=item.unit_price)
        )
        assert result.result == "error" and "items" in result.errors
    assert not Order.objects.exists()
