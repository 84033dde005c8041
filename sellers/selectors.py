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


# The plan in force at an instant: the latest change at or before it, else the first.
def _in_force(changes: QuerySet[PlanChange], at: datetime) -> QuerySet[PlanChange]:
    return changes.filter(effective_at__lte=at).order_by("-effective_at", "-pk")


def _first(changes: QuerySet[PlanChange]) -> QuerySet[PlanChange]:
    return changes.order_by("effective_at", "pk")


def _plan_at_expression(*, at: datetime, seller_ref: str = "pk") -> Coalesce:
    changes = PlanChange.objects.filter(seller=OuterRef(seller_ref))
    return Coalesce(
        Subquery(_in_force(changes, at).values("plan")[:1]),
        Subquery(_first(changes).values("plan")[:1]),
    )


def sellers_with_plan_at(*, at: datetime, queryset: QuerySet[Seller] | None = None) -> QuerySet:
    """Sellers annotated with `plan`: the plan in force at `at`, in one query."""
    queryset = Seller.objects.all() if queryset is None else queryset
    return queryset.annotate(plan=_plan_at_expression(at=at))


def seller_plan_at(*, seller: Seller, at: datetime) -> str:
    """The plan in force at an instant, for one seller: two plain queries at most, the
    second only before the seller's first change (a page pays a millisecond for the
    subqueries of `sellers_with_plan_at`)."""
    changes = PlanChange.objects.filter(seller=seller)
    plan = _in_force(changes, at).values_list("plan", flat=True).first()
    if plan is None:
        plan = _first(changes).values_list("plan", flat=True).first()
    return plan


def seller_label(seller_id: int) -> str:
    """A shop as an operator names it: "Demo Shop (demo-shop)"."""
    shop = Seller.objects.filter(pk=seller_id).values_list("name", "slug").first()
    return f"{shop[0]} ({shop[1]})" if shop else f"#{seller_id} (deleted)"
