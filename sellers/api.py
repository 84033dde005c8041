"""The seller-scoped base of every API view, and the caller's own seller (the rest of the
API kit is in core/api/)."""

from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import ErrorSerializer
from sellers.models import Plan, Seller
from sellers.selectors import seller_plan_at


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
        return self.get_base_queryset().filter(self.seller_scope())

    def seller_scope(self) -> Q:
        """The caller's own objects: those whose `seller_field` is the caller's seller."""
        return Q(**{self.seller_field: self.seller})


class SellerScopedGenericAPIView(SellerScopedMixin, generics.GenericAPIView):
    pass


class SellerScopedListAPIView(SellerScopedMixin, generics.ListAPIView):
    pass


class SellerScopedRetrieveAPIView(SellerScopedMixin, generics.RetrieveAPIView):
    pass


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
