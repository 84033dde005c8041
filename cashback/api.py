"""The integrators' API of the cashback programs: campaigns and registrations (Bonus
Cashback Program), monthly statements and progress (Order Cashback)."""

from datetime import date

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from cashback.models import Campaign, Registration, RegistrationEvent, RegistrationStatus
from cashback.selectors import (
    campaign_is_open,
    campaigns_for_seller,
    cashback_month_orders,
    cashback_months,
    cashback_progress,
    cashback_statement,
    rate_in_force,
    statement_of,
)
from cashback.services import (
    Action,
    Actor,
    RegistrationInvalid,
    RegistrationRefused,
    registration_create,
    registration_transition,
)
from core.api.errors import VALIDATION_ERROR, Conflict, ErrorSerializer
from core.api.pagination import CursorPagination
from core.api.serializers import AmountField, StrictSerializer
from core.money import format_rate
from sellers.api import (
    SellerScopedGenericAPIView,
    SellerScopedListAPIView,
    SellerScopedRetrieveAPIView,
)

ERRORS = {401: ErrorSerializer, 404: ErrorSerializer}


class MonthPagination(CursorPagination):
    ordering = "-month"

    def parse_position(self, position: str):
        return date.fromisoformat(position)


class CampaignSerializer(serializers.ModelSerializer):
    fee_rate = serializers.SerializerMethodField(
        help_text='The service fee rate in force now, in percent ("3" = 3 %).'
    )
    registration_open = serializers.SerializerMethodField(help_text="Whether you can register now.")
    registration_status = serializers.SerializerMethodField(
        help_text="The status of your latest registration for it; null if you have none."
    )

    class Meta:
        model = Campaign
        fields = [
            "slug",
            "name",
            "summary",
            "details",
            "terms",
            "terms_version",
            "fee_rate",
            "requires_review",
            "registration_opens_at",
            "registration_closes_at",
            "registration_open",
            "registration_status",
        ]

    def get_fee_rate(self, campaign: Campaign) -> str:
        return format_rate(rate_in_force(campaign.rate_history, self.context["now"]))

    def get_registration_open(self, campaign: Campaign) -> bool:
        return campaign_is_open(campaign=campaign, at=self.context["now"])

    @extend_schema_field(
        serializers.ChoiceField(choices=RegistrationStatus.choices, allow_null=True)
    )
    def get_registration_status(self, campaign: Campaign) -> str | None:
        return campaign.seller_status or None


class RegistrationEventSerializer(serializers.ModelSerializer):
    from_status = serializers.SerializerMethodField()
    actor = serializers.CharField(source="actor_role")

    class Meta:
        model = RegistrationEvent
        fields = ["from_status", "to_status", "actor", "reason", "occurred_at"]

    @extend_schema_field(
        serializers.ChoiceField(choices=RegistrationStatus.choices, allow_null=True)
    )
    def get_from_status(self, event: RegistrationEvent) -> str | None:
        return event.from_status or None


class RegistrationSerializer(serializers.ModelSerializer):
    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    previous_status = serializers.SerializerMethodField(
        help_text="While a withdrawal is under review: the status it came from."
    )
    history = RegistrationEventSerializer(many=True, read_only=True)

    class Meta:
        model = Registration
        fields = [
            "id",
            "campaign",
            "status",
            "previous_status",
            "registered_at",
            "terms_version",
            "status_changed_at",
            "history",
        ]

    @extend_schema_field(
        serializers.ChoiceField(choices=RegistrationStatus.choices, allow_null=True)
    )
    def get_previous_status(self, registration: Registration) -> str | None:
        return registration.previous_status or None


# Only true registers; false is refused (400) with the reason, so the schema takes true alone.
@extend_schema_field(
    {
        "type": "boolean",
        "enum": [True],
        "description": "true: you have read and agree to the campaign's terms and conditions.",
    }
)
class AgreeField(serializers.BooleanField):
    pass


class RegisterSerializer(StrictSerializer):
    agree_to_terms = AgreeField()
    terms_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The terms version you read; refused (409) if the terms changed since.",
    )


def _registrations() -> QuerySet[Registration]:
    history = Prefetch("history", queryset=RegistrationEvent.objects.order_by("occurred_at", "pk"))
    return Registration.objects.select_related("campaign").prefetch_related(history)


class CampaignViewMixin:
    serializer_class = CampaignSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Campaign]:
        return campaigns_for_seller(seller=self.request.user.seller, at=timezone.now())

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "now": timezone.now()}


# 400: a page_size out of range; 404: a cursor that is not one of ours (CursorPagination)
@extend_schema(
    summary="Published campaigns",
    responses={200: CampaignSerializer, 400: VALIDATION_ERROR, **ERRORS},
)
class CampaignList(CampaignViewMixin, generics.ListAPIView):
    pagination_class = CursorPagination


@extend_schema(summary="A published campaign", responses={200: CampaignSerializer, **ERRORS})
class CampaignDetail(CampaignViewMixin, generics.RetrieveAPIView):
    pass


def _refusal_to_http(exc: Exception) -> Exception:
    if isinstance(exc, RegistrationInvalid):
        return ValidationError({exc.field: [str(exc)]})
    return Conflict(str(exc))


class CampaignRegister(generics.GenericAPIView):
    serializer_class = RegisterSerializer

    @extend_schema(
        summary="Register for a campaign",
        request=RegisterSerializer,
        responses={
            201: RegistrationSerializer,
            400: VALIDATION_ERROR,
            409: ErrorSerializer,
            413: ErrorSerializer,  # a body above the size limit
            **ERRORS,
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        campaign = Campaign.objects.filter(slug=slug, is_published=True).first()
        if campaign is None:
            raise Http404("No published campaign has this slug.")
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            registration = registration_create(
                seller=request.user.seller,
                campaign=campaign,
                agree_to_terms=data.validated_data["agree_to_terms"],
                terms_version=data.validated_data.get("terms_version"),
                actor=Actor.seller_api_key(request.auth),
            )
        except (RegistrationInvalid, RegistrationRefused) as exc:
            raise _refusal_to_http(exc) from exc
        return Response(
            RegistrationSerializer(_registrations().get(pk=registration.pk)).data, status=201
        )


class RegistrationFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RegistrationStatus.choices, required=False)
    # Exactly a slug, as the schema's pattern says: no surrounding space trimmed away, and no
    # trailing newline let through, as Python's "$" would.
    campaign = serializers.RegexField(
        r"\A[-a-zA-Z0-9_]+\Z",
        required=False,
        trim_whitespace=False,
        error_messages={"invalid": "A campaign's slug: letters, digits, hyphens, underscores."},
    )


@extend_schema(
    summary="Your registrations",
    parameters=[
        OpenApiParameter("status", enum=RegistrationStatus.values, required=False),
        OpenApiParameter(
            "campaign",
            str,
            description="A campaign's slug.",
            pattern=r"^[-a-zA-Z0-9_]+$",
            required=False,
        ),
    ],
    # 400: a filter or page_size out of range; 404: a cursor that is not one of ours
    responses={200: RegistrationSerializer, 400: VALIDATION_ERROR, **ERRORS},
)
class RegistrationList(SellerScopedListAPIView):
    serializer_class = RegistrationSerializer
    pagination_class = CursorPagination

    def get_base_queryset(self) -> QuerySet[Registration]:
        # A plain dict, as for orders: from a QueryDict, DRF takes an empty value for none.
        filters = RegistrationFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        registrations = _registrations()
        if "status" in filters.validated_data:
            registrations = registrations.filter(status=filters.validated_data["status"])
        if "campaign" in filters.validated_data:
            registrations = registrations.filter(campaign__slug=filters.validated_data["campaign"])
        return registrations


@extend_schema(
    summary="One of your registrations", responses={200: RegistrationSerializer, **ERRORS}
)
class RegistrationDetail(SellerScopedRetrieveAPIView):
    serializer_class = RegistrationSerializer

    def get_base_queryset(self) -> QuerySet[Registration]:
        return _registrations()


class RegistrationActionView(SellerScopedGenericAPIView):
    transition: Action
    serializer_class = RegistrationSerializer

    def get_base_queryset(self) -> QuerySet[Registration]:
        return _registrations()

    def post(self, request: Request, pk: int) -> Response:
        registration = self.get_object()  # another seller's is a 404
        try:
            registration_transition(
                registration_id=registration.pk,
                action=self.transition,
                actor=Actor.seller_api_key(request.auth),
            )
        except (RegistrationInvalid, RegistrationRefused) as exc:
            raise _refusal_to_http(exc) from exc
        return Response(RegistrationSerializer(_registrations().get(pk=registration.pk)).data)


@extend_schema(
    summary="Withdraw from a campaign",
    description=(
        "Asks to leave the campaign: the registration becomes `withdraw_under_review` until "
        "an admin approves the withdrawal (`expired`) or rejects it. 409 unless `approved` "
        "or `suspended`."
    ),
    request=None,
    responses={200: RegistrationSerializer, 409: ErrorSerializer, **ERRORS},
)
class RegistrationWithdraw(RegistrationActionView):
    transition = Action.WITHDRAW


@extend_schema(
    summary="Cancel a withdrawal",
    description=(
        "Takes a withdrawal back: the registration returns to the status it came from. "
        "409 unless `withdraw_under_review`."
    ),
    request=None,
    responses={200: RegistrationSerializer, 409: ErrorSerializer, **ERRORS},
)
class RegistrationCancelWithdraw(RegistrationActionView):
    transition = Action.CANCEL_WITHDRAW


# Order Cashback -------------------------------------------------------------------------


class RateField(serializers.Field):
    """A percentage as a string: "1.5"."""

    def to_representation(self, value) -> str:
        return format_rate(value)


@extend_schema_field(serializers.CharField(help_text='Percent, such as "1.5".'))
class _Rate(RateField):
    pass


class SummarySerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    gmv_usd = AmountField()
    orders = serializers.IntegerField()
    plan = serializers.CharField()
    tier_rate = _Rate()
    bonus_rate = _Rate()
    rate = _Rate()
    next_tier_rate = _Rate(allow_null=True, source="next_rate")
    gmv_to_next_tier = AmountField(allow_null=True)
    projected_cashback = AmountField()
    waiting_for = serializers.CharField(help_text="An FX rate the month waits for, if any.")


class MonthSerializer(serializers.Serializer):
    month = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=["open", "waiting_fx", "closed"])
    orders_count = serializers.IntegerField(source="orders")
    gmv_usd = AmountField()
    tier_rate = _Rate()
    bonus_rate = _Rate()
    rate = _Rate()
    total = AmountField()
    credited = AmountField()
    pending = AmountField()
    voided = AmountField()
    late_additions = AmountField(source="late")
    waiting_for = serializers.CharField()

    def get_month(self, statement) -> str:
        return f"{statement.month:%Y-%m}"


class MonthOrderSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    gmv_usd = AmountField(allow_null=True)
    amount = AmountField(allow_null=True)
    status = serializers.ChoiceField(choices=["none", "waiting", "pending", "credited", "voided"])
    due_at = serializers.DateTimeField(allow_null=True)
    late = serializers.BooleanField()


class MonthDetailSerializer(MonthSerializer):
    orders = MonthOrderSerializer(many=True, source="lines")


class CashbackSummary(generics.GenericAPIView):
    serializer_class = SummarySerializer

    @extend_schema(
        summary="This month's Order Cashback so far",
        description=(
            "The counting orders delivered this month: those of the last hour as they are "
            "now, the earlier ones as of the hourly roll-up (a refund or a late order of an "
            "earlier day shows within the hour)."
        ),
        responses={200: SummarySerializer, 401: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        progress = cashback_progress(seller=request.user.seller, at=timezone.now())
        data = SummarySerializer(progress).data
        data["month"] = f"{progress.month:%Y-%m}"
        return Response(data)


class CashbackMonths(SellerScopedListAPIView):
    """Closed months and months waiting for an FX rate, newest first (this month is in the
    summary)."""

    serializer_class = MonthSerializer
    pagination_class = MonthPagination

    def get_base_queryset(self) -> QuerySet:
        return cashback_months(seller=self.seller)

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        statements = [statement_of(month) for month in page]
        return self.get_paginated_response(MonthSerializer(statements, many=True).data)

    @extend_schema(
        summary="Your monthly Order Cashback statements",
        # 400: a page_size out of range; 404: a cursor that is not one of ours (MonthPagination)
        responses={200: MonthSerializer(many=True), 400: VALIDATION_ERROR, **ERRORS},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class CashbackMonthDetail(generics.GenericAPIView):
    serializer_class = MonthDetailSerializer

    @extend_schema(
        summary="A month's statement, with its orders",
        responses={200: MonthDetailSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, month: str) -> Response:
        try:
            first = date.fromisoformat(f"{month}-01")
        except ValueError as exc:
            raise Http404("A month is YYYY-MM.") from exc
        seller = request.user.seller
        statement = cashback_statement(seller=seller, month=first, at=timezone.now())
        if statement is None:
            raise Http404("No statement for this month.")
        statement.lines = cashback_month_orders(seller=seller, month=first)
        return Response(MonthDetailSerializer(statement).data)
