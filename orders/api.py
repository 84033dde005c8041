"""The integrators' API for orders: create (one or in bulk), read, and apply events."""

import gc
import threading
from contextlib import contextmanager

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.errors import (
    VALIDATION_ERROR,
    Conflict,
    ErrorSerializer,
    FieldErrorsField,
    PayloadTooLarge,
)
from core.api.pagination import CursorPagination
from core.api.serializers import AmountField, OffsetDateTimeField, StrictSerializer
from core.dates import EARLIEST
from core.money import MAX_AMOUNT
from orders import sections
from orders.models import EventType, FulfillmentChannel, Order, OrderItem, OrderStatus
from orders.services import (
    ITEMS_ABOVE_MAX,
    MAX_ITEMS,
    MAX_QUANTITY,
    STEPS,
    EventInput,
    ItemInput,
    OrderConflict,
    OrderInput,
    OrderInvalid,
    earliest_error,
    order_apply_event,
    order_create,
    orders_create,
)
from sellers.api import SellerScopedGenericAPIView
from sellers.models import Seller

BULK_LIMIT = 1000
STEP_TIMES = (
    "paid_at",
    "shipped_at",
    "delivered_at",
    "returned_at",
    "cancelled_at",
    "payment_failed_at",
)


# Input ------------------------------------------------------------------------------------


def order_amount(**kwargs) -> AmountField:
    """An amount of an order: at most MAX_AMOUNT, whose digits its pattern allows and no
    more."""
    return AmountField(max_digits=len(MAX_AMOUNT.as_tuple().digits), max_value=MAX_AMOUNT, **kwargs)


WINDOW = f"From {EARLIEST:%Y-%m-%d} on, and not in the future."


class ItemInputSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price = order_amount()


class OrderInputSerializer(StrictSerializer):
    external_id = serializers.CharField(
        max_length=64,
        trim_whitespace=False,
        help_text=(
            "Your id of the order, read back at /api/v1/orders/{external_id}/: no white space "
            "at either end, no control or invisible characters; it may hold slashes, but no "
            '"." or ".." between them, it does not end in "/events", and it is not "bulk".'
        ),
    )
    placed_at = OffsetDateTimeField(help_text=WINDOW)
    currency = serializers.CharField(max_length=3, help_text="ISO 4217, such as USD.")
    net_product_price = order_amount(help_text="The products' price.")
    seller_funded_discount = order_amount(required=False, help_text="0 unless given.")
    bonus_cashback_voucher = serializers.BooleanField(
        required=False, help_text="The buyer used the Bonus Cashback Voucher."
    )
    campaign = serializers.SlugField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="The slug of the campaign whose voucher was used, if the order knows it.",
    )
    fulfillment_channel = serializers.ChoiceField(choices=FulfillmentChannel.choices)
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    items = ItemInputSerializer(
        many=True,
        required=False,
        max_length=MAX_ITEMS,
        error_messages={"max_length": ITEMS_ABOVE_MAX},
    )
    status = serializers.ChoiceField(
        choices=OrderStatus.choices,
        required=False,
        help_text="The status to create it in (backfills); unpaid unless given.",
    )
    paid_at = OffsetDateTimeField(required=False, allow_null=True)
    shipped_at = OffsetDateTimeField(required=False, allow_null=True)
    delivered_at = OffsetDateTimeField(required=False, allow_null=True)
    returned_at = OffsetDateTimeField(required=False, allow_null=True)
    cancelled_at = OffsetDateTimeField(required=False, allow_null=True)
    payment_failed_at = OffsetDateTimeField(required=False, allow_null=True)
    refunded_amount = order_amount(
        required=False, help_text="Refunded so far: a delivered order's partial refunds."
    )
    refunded_at = OffsetDateTimeField(
        required=False, allow_null=True, help_text="When a partial refund of it was made."
    )

    @staticmethod
    def to_input(validated: dict) -> OrderInput:
        if "items" in validated:
            validated = {**validated, "items": tuple(ItemInput(**i) for i in validated["items"])}
        return OrderInput.of(validated)


class EventInputSerializer(StrictSerializer):
    event_id = serializers.CharField(
        max_length=100, required=False, help_text="Your id of the event: a retry with it is safe."
    )
    type = serializers.ChoiceField(choices=[(t, EventType(t).label) for t in STEPS])
    occurred_at = OffsetDateTimeField(help_text=WINDOW)
    tracking_number = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="With shipped."
    )
    amount = order_amount(
        required=False,
        help_text="With refunded: the amount refunded; without it, all that remains.",
    )

    def validate(self, attrs):
        if (too_early := earliest_error("occurred_at", attrs["occurred_at"])) is not None:
            raise ValidationError({"occurred_at": [too_early]})
        if "amount" in attrs and attrs["type"] != EventType.REFUNDED:
            raise ValidationError({"amount": ["Only a refunded event has an amount."]})
        if attrs.get("tracking_number") and attrs["type"] != EventType.SHIPPED:
            raise ValidationError({"tracking_number": ["Only a shipped event has one."]})
        return attrs

    @staticmethod
    def to_input(validated: dict) -> EventInput:
        return EventInput(**validated)


# Output -----------------------------------------------------------------------------------


class ItemSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = AmountField()


class ServiceFeeSerializer(serializers.Serializer):
    currency = serializers.CharField()
    charged = serializers.CharField(help_text='"0.00" when the order pays no fee.')
    refunded = serializers.CharField()
    net = serializers.CharField()


class CashbackSerializer(serializers.Serializer):
    amount = serializers.CharField(allow_null=True, help_text="null until its month closes.")
    status = serializers.ChoiceField(choices=["none", "waiting", "pending", "credited", "voided"])
    due_at = serializers.DateTimeField(allow_null=True)


class OrderSerializer(serializers.ModelSerializer):
    campaign = serializers.CharField(source="campaign_slug")
    items = ItemSerializer(many=True, read_only=True)
    service_fee = serializers.SerializerMethodField()
    cashback = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "external_id",
            "status",
            "placed_at",
            "currency",
            "net_product_price",
            "seller_funded_discount",
            "refunded_amount",
            "bonus_cashback_voucher",
            "campaign",
            "fulfillment_channel",
            "tracking_number",
            *STEP_TIMES,
            "items",
            "service_fee",
            "cashback",
            "created_at",
            "updated_at",
        ]

    def _sections(self, order: Order) -> dict:
        known = self.context.get("sections")
        if known is None or order.pk not in known:
            return sections.sections_for([order])[order.pk]
        return known[order.pk]

    @extend_schema_field(ServiceFeeSerializer)
    def get_service_fee(self, order: Order) -> dict:
        section = self._sections(order)["service_fee"]
        return {key: section[key] for key in ("currency", "charged", "refunded", "net")}

    @extend_schema_field(CashbackSerializer)
    def get_cashback(self, order: Order) -> dict:
        return self._sections(order)["cashback"]


def serialize(orders: list[Order]) -> list[dict]:
    """Orders with their fee and cashback sections, in a fixed number of queries."""
    # A ModelSerializer builds its fields anew for every instance of it, which took longer
    # than writing an order out: each thread keeps one and gives it the sections.
    serializer = getattr(_output, "serializer", None)
    if serializer is None:
        serializer = _output.serializer = OrderSerializer()
    serializer._context = {"sections": sections.sections_for(orders)}
    try:
        return [serializer.to_representation(order) for order in orders]
    finally:
        serializer._context = {}


_output = threading.local()


def _without_items(order: Order) -> None:
    """Tell an order it has no items, as prefetch_related would, when that is known."""
    order._prefetched_objects_cache = {"items": OrderItem.objects.none()}


def _items() -> Prefetch:
    # By position alone: the model's ordering starts with the order, which joins the orders
    # table to sort by its own ordering; the prefetch groups the items by order anyway.
    return Prefetch("items", queryset=OrderItem.objects.order_by("position"))


def _orders() -> QuerySet[Order]:
    return Order.objects.prefetch_related(_items())


def _order_or_404(seller, external_id: str) -> Order:
    order = _orders().filter(seller=seller, external_id=external_id).first()
    if order is None:
        raise Http404("No order of yours has this external_id.")
    return order


class OrderFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    updated_since = OffsetDateTimeField(required=False)


class OrderListCreate(SellerScopedGenericAPIView):
    serializer_class = OrderSerializer
    pagination_class = CursorPagination

    def get_base_queryset(self) -> QuerySet[Order]:
        # A plain dict: from a QueryDict, DRF takes an empty value for none at all, where
        # the schema says a status or a date-time.
        filters = OrderFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        orders = _orders()
        if "status" in filters.validated_data:
            orders = orders.filter(status=filters.validated_data["status"])
        if "updated_since" in filters.validated_data:
            orders = orders.filter(updated_at__gte=filters.validated_data["updated_since"])
        return orders

    @extend_schema(
        summary="Your orders",
        parameters=[
            OpenApiParameter("status", enum=OrderStatus.values, required=False),
            OpenApiParameter(
                "updated_since",
                OpenApiTypes.DATETIME,
                required=False,
                description="ISO 8601 with an offset.",
            ),
        ],
        responses={
            200: OrderSerializer(many=True),
            400: VALIDATION_ERROR,
            401: ErrorSerializer,
            404: ErrorSerializer,  # a cursor that is not one of ours (CursorPagination)
        },
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(serialize(page))

    @extend_schema(
        summary="Create an order",
        description=(
            "Creates an order in any status, with the times of the steps it has passed "
            "(backfills); every effect of those steps happens. 201 when created; 200 with "
            "the order when the same data comes again; 409 when the external_id exists "
            "with other data."
        ),
        request=OrderInputSerializer,
        responses={
            201: OrderSerializer,
            200: OrderSerializer,
            400: VALIDATION_ERROR,
            401: ErrorSerializer,
            409: ErrorSerializer,
            413: ErrorSerializer,  # a body above the size limit
        },
    )
    def post(self, request: Request) -> Response:
        data = OrderInputSerializer.to_input(OrderInputSerializer.parse(request.data))
        result = order_create(seller=self.seller, data=data)
        if result.result == "error":
            if result.conflict:
                raise Conflict(" ".join(m for ms in result.errors.values() for m in ms))
            raise ValidationError(result.errors)
        order = result.order
        if result.result == "created" and not data.items:
            _without_items(order)  # it was just written without any
        else:
            prefetch_related_objects([order], _items())
        code = status.HTTP_201_CREATED if result.result == "created" else status.HTTP_200_OK
        return Response(serialize([order])[0], status=code)


class BulkResultSerializer(serializers.Serializer):
    external_id = serializers.CharField(allow_null=True)
    result = serializers.ChoiceField(choices=["created", "unchanged", "error"])
    errors = FieldErrorsField(allow_null=True, help_text="null unless the result is error.")


# The body of a bulk request, for the schema: OrderBulk takes each order on its own.
class BulkOrdersSerializer(StrictSerializer):
    """Up to 1,000 orders; each is created, or refused, on its own."""

    orders = OrderInputSerializer(many=True, max_length=BULK_LIMIT)


class OrderBulk(SellerScopedGenericAPIView):
    serializer_class = BulkResultSerializer

    @extend_schema(
        summary="Create up to 1,000 orders",
        description=(
            "Each order is created (or found unchanged) on its own: one bad order does not "
            "stop the others. The results come in the order of the request."
        ),
        request=BulkOrdersSerializer,
        responses={
            200: inline_serializer(
                "BulkOrdersResponse", {"results": BulkResultSerializer(many=True)}
            ),
            400: VALIDATION_ERROR,
            401: ErrorSerializer,
            413: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict) or set(body) != {"orders"}:
            raise ValidationError({"orders": ['Send {"orders": [...]}, and nothing else.']})
        raw = body["orders"]
        if not isinstance(raw, list):
            raise ValidationError({"orders": ["A list of orders."]})
        if len(raw) > BULK_LIMIT:
            raise PayloadTooLarge(f"{len(raw)} orders: at most {BULK_LIMIT} a request.")
        with _collector_paused():
            return Response({"results": _bulk_results(self.seller, raw)})


def _bulk_results(seller: Seller, raw: list) -> list[dict]:
    results: list[dict | None] = [None] * len(raw)
    inputs, positions = [], []
    for i, (item, (validated, errors)) in enumerate(
        zip(raw, OrderInputSerializer.parse_many(raw), strict=True)
    ):
        if errors is None:
            inputs.append(OrderInputSerializer.to_input(validated))
            positions.append(i)
        else:
            external_id = item.get("external_id") if isinstance(item, dict) else None
            results[i] = {
                "external_id": external_id if isinstance(external_id, str) else None,
                "result": "error",
                "errors": errors,
            }
    for i, result in zip(positions, orders_create(seller=seller, inputs=inputs), strict=True):
        results[i] = {
            "external_id": result.external_id,
            "result": result.result,
            "errors": result.errors,
        }
    return results


@contextmanager
def _collector_paused():
    """Python's cycle collector off for a batch. A batch of 1,000 orders allocates some
    200,000 objects, which trigger dozens of collections, some scanning the whole heap of
    the process: 15% of the request's time, measured, for almost no cycles (reference
    counting frees the rest as usual). The collector runs again after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@extend_schema(
    summary="One of your orders",
    responses={200: OrderSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
)
class OrderDetail(SellerScopedGenericAPIView):
    serializer_class = OrderSerializer

    def get(self, request: Request, external_id: str) -> Response:
        return Response(serialize([_order_or_404(self.seller, external_id)])[0])


class OrderEvents(SellerScopedGenericAPIView):
    serializer_class = EventInputSerializer

    @extend_schema(
        summary="Apply an event to an order",
        description=(
            "Moves the order one step: paid, payment_failed, cancelled, shipped, delivered "
            "or refunded. An event applied already (the same event_id, or the same step with "
            "the same data) answers 200 and changes nothing. A step the order's status does "
            "not allow, or a refund beyond what remains, is 409."
        ),
        request=EventInputSerializer,
        responses={
            200: OrderSerializer,
            400: VALIDATION_ERROR,
            401: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            413: ErrorSerializer,  # a body above the size limit
        },
    )
    def post(self, request: Request, external_id: str) -> Response:
        try:
            event = EventInputSerializer.to_input(EventInputSerializer.parse(request.data))
        except APIException:
            # Another seller's order, or none, is a 404 whatever the body. It is looked for
            # only when the body is refused: a good event finds it (locked) in the service,
            # and pays no query more.
            if not Order.objects.filter(seller=self.seller, external_id=external_id).exists():
                raise Http404("No order of yours has this external_id.") from None
            raise
        try:
            order, _ = order_apply_event(
                seller=self.seller, external_id=external_id, event=event, now=timezone.now()
            )
        except Order.DoesNotExist as exc:
            raise Http404("No order of yours has this external_id.") from exc
        except OrderInvalid as exc:
            raise ValidationError(exc.errors) from exc
        except OrderConflict as exc:
            raise Conflict(str(exc)) from exc
        # The order as the event left it, locked until then: no need to read it again.
        if order.has_items:
            prefetch_related_objects([order], _items())
        else:
            _without_items(order)
        return Response(serialize([order])[0])
