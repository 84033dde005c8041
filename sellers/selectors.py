"""Reads of the sellers app."""

from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from sellers.models import ApiKey, PlanChange, Seller


def api_key_get_active(*, raw_key: str) -> ApiKey | None:
    """The unrevoked key with this plaintext, with its seller, or None."""
    return (
        ApiKey.objects.select_related("seller")
        .filter(key_hash=ApiKey.hash_of(raw_key), revoked_at__isnull=True)
        .first()
    )


def api_key_get_for_seller(*, seller: Seller, key_id: int) -> ApiKey | None:
    return ApiKey.objects.filter(pk=key_id, seller=seller).first()


def api_key_list(*, seller: Seller) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(seller=seller).order_by("revoked_at", "-created_at", "-pk")


def _plan_at_expression(*, at: datetime, seller_ref: str = "pk") -> Coalesce:
    changes = PlanChange.objects.filter(seller=OuterRef(seller_ref))
    in_force = changes.filter(effective_at__lte=at).order_by("-effective_at", "-pk")
    first = changes.order_by("effective_at", "pk")
    return Coalesce(Subquery(in_force.values("plan")[:1]), Subquery(first.values("plan")[:1]))


def sellers_with_plan_at(*, at: datetime, queryset: QuerySet[Seller] | None = None) -> QuerySet:
    """Sellers annotated with `plan`: the plan in force at `at`, in one query."""
    queryset = Seller.objects.all() if queryset is None else queryset
    return queryset.annotate(plan=_plan_at_expression(at=at))


def seller_plan_at(*, seller: Seller, at: datetime) -> str:
    """The plan in force at an instant: the latest change at or before it, else the first."""
    return (
        sellers_with_plan_at(at=at, queryset=Seller.objects.filter(pk=seller.pk))
        .values_list("plan", flat=True)
        .get()
    )
