"""The seller-scoped base of every API view, and the caller's own seller."""

from collections.abc import Mapping
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, pagination, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sellers.models import Plan, Seller
from sellers.selectors import seller_plan_at


class Conflict(exceptions.APIException):
    """The request is well formed but the state of the object does not allow it."""

    status_code = 409
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class CursorPagination(pagination.CursorPagination):
    """Every list: {"results", "next", "previous"}, newest first, stable under inserts."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-pk"

    def decode_cursor(self, request):
        # A forged cursor is a 404, not a query with a string where a number goes.
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                self.parse_position(cursor.position)
            except (TypeError, ValueError) as exc:
                raise exceptions.NotFound(self.invalid_cursor_message) from exc
        return cursor

    def parse_position(self, position: str):
        """The ordering field's value a cursor holds; raises ValueError if it is not one."""
        return int(position)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class StrictSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know, instead of ignoring them,
    nested ones included."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            unknown = {
                str(name)[:100]: ["This field is not known."]
                for name in sorted(set(map(str, data)) - set(self.fields))
            }
            # Valid JSON, but not text: neither the database nor an answer could hold it.
            unknown.update(
                {
                    name: ["This text holds an unpaired surrogate, which is not valid Unicode."]
                    for name, value in data.items()
                    if name in self.fields and isinstance(value, str) and not _is_text(value)
                }
            )
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class OffsetDateTimeField(serializers.DateTimeField):
    """An instant in ISO 8601 with its offset ("2026-11-01T10:00:00Z"); a time without an
    offset is ambiguous and refused."""

    default_error_messages = {
        "naive": "Give the time with its offset, such as 2026-11-01T10:00:00Z.",
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well formed but impossible: February 30th, +25:00
                self.fail("invalid", format="ISO 8601 with an offset")
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


class AmountField(serializers.DecimalField):
    """Money: at most 2 decimals, 0 or more, written as a string with 2 decimals."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(**kwargs)


class SellerScopedMixin:
    """The seller of an API request comes from its key, never from the request's data.

    Views over a seller's objects subclass `SellerScopedGenericAPIView` (or one of the
    generic views below) and set `queryset` or override `get_base_queryset()`;
    `get_queryset()` always filters by the caller's seller, so another seller's object is
    answered as if it did not exist (404) and never appears in a list.
    """

    seller_field = "seller"
    request: Request

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset(), which would drop the seller scope: "
                "override get_base_queryset() instead."
            )

    @property
    def seller(self) -> Seller:
        return self.request.user.seller

    def get_base_queryset(self) -> QuerySet:
        return super().get_queryset()

    def get_queryset(self) -> QuerySet:
        return self.get_base_queryset().filter(**{self.seller_field: self.seller})


class SellerScopedGenericAPIView(SellerScopedMixin, generics.GenericAPIView):
    pass


class SellerScopedListAPIView(SellerScopedMixin, generics.ListAPIView):
    pass


class SellerScopedRetrieveAPIView(SellerScopedMixin, generics.RetrieveAPIView):
    pass


class ErrorSerializer(serializers.Serializer):
    """401, 403, 404, 409 and 413 answers: {"detail": "message"}."""

    detail = serializers.CharField()


VALIDATION_ERROR = OpenApiResponse(
    response={
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "example": {"field": ["What is wrong with it."]},
    },
    description="Bad input: a list of messages for each field (non_field_errors for the whole).",
)


class MeSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    plan = serializers.ChoiceField(choices=Plan.choices, help_text="The plan in force now.")


class MeView(APIView):
    """The seller that the key belongs to."""

    @extend_schema(
        responses={200: MeSerializer, 401: ErrorSerializer}, summary="The caller's seller"
    )
    def get(self, request: Request) -> Response:
        seller = request.user.seller
        plan = seller_plan_at(seller=seller, at=timezone.now())
        return Response(MeSerializer({"slug": seller.slug, "name": seller.name, "plan": plan}).data)
