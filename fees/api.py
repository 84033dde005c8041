"""The integrators' API for settled records."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers

from core.api.errors import VALIDATION_ERROR, ErrorSerializer
from core.api.pagination import CursorPagination
from core.api.serializers import AmountField
from core.money import format_rate
from fees.models import SettledRecord
from fees.selectors import RecordLine, settled_record_lines
from sellers.api import SellerScopedListAPIView, SellerScopedRetrieveAPIView


class SettledRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = SettledRecord
        fields = [
            "id",
            "period_start",
            "period_end",
            "currency",
            "orders_count",
            "fees_charged",
            "fees_refunded",
            "net",
            "created_at",
        ]


class RecordLineSerializer(serializers.Serializer):
    external_id = serializers.CharField(source="order.external_id")
    placed_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    net_product_price = AmountField(source="order.net_product_price")
    seller_funded_discount = AmountField(source="order.seller_funded_discount")
    fee_base = AmountField()
    rate = serializers.SerializerMethodField()
    fee_charged = AmountField(source="charged")
    fee_refunded = AmountField(source="refunded")
    net = AmountField(min_value=None)
    explanation = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(help_text='Percent, such as "3".'))
    def get_rate(self, line: RecordLine) -> str:
        return format_rate(line.rate)

    def get_explanation(self, line: RecordLine) -> str:
        return "; ".join(line.explanations)


class SettledRecordDetailSerializer(SettledRecordSerializer):
    lines = serializers.SerializerMethodField()

    class Meta(SettledRecordSerializer.Meta):
        fields = [*SettledRecordSerializer.Meta.fields, "lines"]

    @extend_schema_field(RecordLineSerializer(many=True))
    def get_lines(self, record: SettledRecord) -> list[dict]:
        return RecordLineSerializer(settled_record_lines(record=record), many=True).data


@extend_schema(
    summary="Your settled records",
    # 400: a page_size out of range; 404: a cursor that is not one of ours (CursorPagination)
    responses={
        200: SettledRecordSerializer(many=True),
        400: VALIDATION_ERROR,
        401: ErrorSerializer,
        404: ErrorSerializer,
    },
)
class SettlementList(SellerScopedListAPIView):
    serializer_class = SettledRecordSerializer
    pagination_class = CursorPagination

    def get_base_queryset(self) -> QuerySet[SettledRecord]:
        return SettledRecord.objects.all()


@extend_schema(
    summary="A settled record, with its breakdown by order",
    responses={200: SettledRecordDetailSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
)
class SettlementDetail(SellerScopedRetrieveAPIView):
    serializer_class = SettledRecordDetailSerializer

    def get_base_queryset(self) -> QuerySet[SettledRecord]:
        return SettledRecord.objects.all()
