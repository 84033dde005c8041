"""The integrators' API for the wallet."""

from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import VALIDATION_ERROR, ErrorSerializer
from core.api.pagination import CursorPagination
from sellers.api import SellerScopedListAPIView
from wallet.models import WalletEntry
from wallet.selectors import wallet_balance, wallet_of


class WalletSerializer(serializers.Serializer):
    balance = serializers.DecimalField(max_digits=16, decimal_places=2)
    currency = serializers.CharField()


class WalletEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = WalletEntry
        fields = ["id", "kind", "amount", "balance_after", "description", "reason", "created_at"]


class WalletView(APIView):
    @extend_schema(
        summary="Your wallet's balance",
        responses={200: WalletSerializer, 401: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        balance = wallet_balance(seller=request.user.seller)
        return Response(WalletSerializer({"balance": balance, "currency": "USD"}).data)


@extend_schema(
    summary="Your wallet's entries, newest first",
    # 400: a page_size out of range; 404: a cursor that is not one of ours (CursorPagination)
    responses={
        200: WalletEntrySerializer(many=True),
        400: VALIDATION_ERROR,
        401: ErrorSerializer,
        404: ErrorSerializer,
    },
)
class WalletEntries(SellerScopedListAPIView):
    serializer_class = WalletEntrySerializer
    pagination_class = CursorPagination

    def get_base_queryset(self) -> QuerySet[WalletEntry]:
        return WalletEntry.objects.all()

    def seller_scope(self) -> Q:
        # By the wallet's id, from a subquery: the newest entries of a large wallet are read
        # from its end of the index, not sorted (wallet.selectors.wallet_of).
        return Q(wallet_id=wallet_of(seller=self.seller))
