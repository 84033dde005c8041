"""Reads of the Bonus Cashback Program."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import (
    CharField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from cashback.models import (
    Accrual,
    AccrualStatus,
    Campaign,
    CampaignRate,
    CashbackMonth,
    MonthSoFar,
    PendingAccrual,
    Registration,
    RegistrationEvent,
    RegistrationStatus,
)
from cashback.order_cashback import (
    DUE_AFTER,
    TierTable,
    counts_towards_gmv,
    month_gmv,
    month_orders_gmv,
    tier_table_for,
)
from core.dates import month_start
from core.money import percent_of
from orders.models import FulfillmentChannel, Order
from sellers.models import Seller
from sellers.selectors import seller_plan_at


def rate_in_force(rates: Sequence[CampaignRate], at: datetime) -> Decimal | None:
    """The service fee rate in force at an instant, from a campaign's rates in the order they
    took effect: the latest effective at or before it; the first also covers the time
    before it."""
    if not rates:
        return None
    current = rates[0].rate
    for rate in rates:
        if rate.effective_from > at:
            break
        current = rate.rate
    return current


def rate_history() -> Prefetch:
    """Prefetch a campaign's rates as `rate_history`, in the order they took effect."""
    return Prefetch(
        "rates", queryset=CampaignRate.objects.order_by("effective_from"), to_attr="rate_history"
    )


def campaign_rate_at(*, campaign: Campaign, at: datetime) -> Decimal | None:
    return rate_in_force(list(campaign.rates.order_by("effective_from")), at)


@dataclass(frozen=True)
class Window:
    is_open: bool
    label: str  # for a list: "Open", "Open until 2026-12-31", "Closed 2026-10-01"
    refusal: str = ""  # why registering is refused, when it is


def campaign_window(*, campaign: Campaign, at: datetime) -> Window:
    """Whether a seller can register at `at`: published, and inside the registration window
    (it opens at its opening instant and closes at its closing one)."""
    opens, closes = campaign.registration_opens_at, campaign.registration_closes_at
    if not campaign.is_published:
        return Window(False, "Not published", f"“{campaign.name}” is not open to sellers.")
    if at < opens:
        when = f"{timezone.localtime(opens):%Y-%m-%d %H:%M}"
        return Window(
            False, f"Opens {when[:10]}", f"Registration for “{campaign.name}” opens on {when}."
        )
    if closes is not None and at >= closes:
        when = f"{timezone.localtime(closes):%Y-%m-%d %H:%M}"
        return Window(
            False, f"Closed {when[:10]}", f"Registration for “{campaign.name}” closed on {when}."
        )
    if closes is not None:
        return Window(True, f"Open until {timezone.localtime(closes):%Y-%m-%d}")
    return Window(True, "Open")


def campaign_is_open(*, campaign: Campaign, at: datetime) -> bool:
    return campaign_window(campaign=campaign, at=at).is_open


def _seller_status_expression(*, seller: Seller) -> Coalesce:
    latest = Registration.objects.filter(campaign=OuterRef("pk"), seller=seller).order_by(
        "-registered_at", "-pk"
    )
    return Coalesce(Subquery(latest.values("status")[:1]), Value(""), output_field=CharField())


def campaigns_for_seller(*, seller: Seller, at: datetime, search: str = "") -> QuerySet[Campaign]:
    """The published campaigns, each with `rate_history` and `seller_status` (the status of
    this seller's latest registration, or "")."""
    campaigns = Campaign.objects.filter(is_published=True)
    search = search.strip()
    if search:
        campaigns = campaigns.filter(Q(name__icontains=search) | Q(summary__icontains=search))
    return (
        campaigns.annotate(seller_status=_seller_status_expression(seller=seller))
        .prefetch_related(rate_history())
        .order_by("-registration_opens_at", "-pk")
    )


def campaign_get_for_seller(*, seller: Seller, slug: str, at: datetime) -> Campaign:
    """A campaign the seller may open: published, or one it has registered for (so that a
    registration stays reachable, to withdraw, after its campaign is unpublished)."""
    campaign = (
        Campaign.objects.filter(slug=slug)
        .filter(Q(is_published=True) | Q(registrations__seller=seller))
        .prefetch_related(rate_history())
        .distinct()
        .get()
    )
    campaign.current_rate = rate_in_force(campaign.rate_history, at)
    return campaign


def registrations_for_seller(
    *, seller: Seller, campaign: Campaign | None = None
) -> QuerySet[Registration]:
    registrations = Registration.objects.filter(seller=seller).select_related("campaign")
    if campaign is not None:
        registrations = registrations.filter(campaign=campaign)
    return registrations.order_by("-registered_at", "-pk")


def _in_program(event: RegistrationEvent) -> bool:
    """In the program: approved, or withdraw_under_review having come from approved (a
    seller stays in until its withdrawal is approved)."""
    return event.to_status == RegistrationStatus.APPROVED or (
        event.to_status == RegistrationStatus.WITHDRAW_UNDER_REVIEW
        and event.from_status == RegistrationStatus.APPROVED
    )


@dataclass(frozen=True)
class Coverage:
    """Some sellers' registrations with their histories, read once, answering which
    registration had a seller in the program at any instant. It is read from the history,
    so an order ingested late is judged by when it was placed."""

    by_seller: dict[int, list[Registration]]

    def covering(
        self, *, seller_id: int, at: datetime, campaign_id: int | None = None
    ) -> Registration | None:
        """The registration that covered `at`, for the campaign if one is named, else the
        latest registered of any campaign; None when the seller was not in a program."""
        for registration in self.by_seller.get(seller_id, ()):  # latest registered first
            if campaign_id is not None and registration.campaign_id != campaign_id:
                continue
            if registration.registered_at > at:
                continue
            state = None
            for event in registration.timeline:  # oldest first
                if event.occurred_at > at:
                    break
                state = event
            if state is not None and _in_program(state):
                return registration
        return None


def coverage_for(*, seller_ids: Iterable[int]) -> Coverage:
    """The registrations and histories of these sellers, in one query: each history event
    with its registration (a registration always has its first event)."""
    events = (
        RegistrationEvent.objects.filter(registration__seller_id__in=set(seller_ids))
        .select_related("registration")
        .order_by("-registration__registered_at", "-registration_id", "occurred_at", "pk")
    )
    by_seller: dict[int, list[Registration]] = {}
    last = None
    for event in events:
        registration = event.registration
        if last is None or registration.pk != last.pk:
            last = registration
            last.timeline = []
            by_seller.setdefault(registration.seller_id, []).append(registration)
        last.timeline.append(event)
    return Coverage(by_seller=by_seller)


def registration_covering(
    *, seller_id: int, at: datetime, campaign_id: int | None = None
) -> Registration | None:
    """The registration that had the seller in the program at `at`, or None."""
    return coverage_for(seller_ids=[seller_id]).covering(
        seller_id=seller_id, at=at, campaign_id=campaign_id
    )


# Order Cashback -------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """A seller's month so far: what it has fulfilled, its tier, what it would earn."""

    month: date
    orders: int
    gmv_usd: Decimal
    waiting_for: str
    plan: str
    tier_rate: Decimal
    bonus_rate: Decimal
    rate: Decimal
    next_threshold: Decimal | None
    next_rate: Decimal | None
    gmv_to_next_tier: Decimal | None
    projected_cashback: Decimal
    progress_percent: int  # towards the next tier, for the progress bar


def cashback_progress(*, seller: Seller, at: datetime, table: TierTable | None = None) -> Progress:
    """The month so far: the hourly roll-up's sums (MonthSoFar) and one aggregate over the
    seller's counting orders delivered since (all of the month's, without a roll-up; the
    orders' index on seller and delivery finds them); `table`, when the caller has read it
    already, saves reading the tiers again."""
    month = month_start(at).date()
    # The hourly roll-up's sums, and the orders delivered since, summed now.
    so_far = MonthSoFar.objects.filter(seller=seller, month=month, through__lte=at).first()
    since = so_far.through if so_far else None
    orders, cents, _missing, example = month_gmv(
        month=month, seller_ids=[seller.pk], since=since
    ).get(seller.pk, (0, 0, 0, None))
    if so_far is not None:
        orders += so_far.orders_count
        cents = (cents or 0) + int(so_far.gmv_usd * 100)
        example = min(filter(None, (so_far.waiting_for, example)), default=None)
    gmv = Decimal(cents or 0) / 100
    plan = seller_plan_at(seller=seller, at=at)
    table = table or tier_table_for(month)
    tier_rate, bonus = table.rates(gmv, plan)
    following = table.next_tier(gmv)
    next_rate = None
    percent = 100
    if following is not None:
        next_rate = sum(table.rates(following[0], plan))
        floor = max((t for t, _ in table.tiers if t <= gmv), default=Decimal("0"))
        span = following[0] - floor
        percent = int((gmv - floor) * 100 / span) if span else 100
    return Progress(
        month=month,
        orders=orders,
        gmv_usd=gmv.quantize(Decimal("0.01")),
        waiting_for=f"FX rate {example}" if example else "",
        plan=plan,
        tier_rate=tier_rate,
        bonus_rate=bonus,
        rate=tier_rate + bonus,
        next_threshold=following[0] if following else None,
        next_rate=next_rate,
        gmv_to_next_tier=(following[0] - gmv).quantize(Decimal("0.01")) if following else None,
        projected_cashback=percent_of(gmv, tier_rate + bonus),
        progress_percent=max(0, min(100, percent)),
    )


@dataclass
class Statement:
    """A month of Order Cashback as the seller reads it."""

    month: date
    status: str  # "open", "waiting_fx" or "closed"
    orders: int
    gmv_usd: Decimal
    tier_rate: Decimal
    bonus_rate: Decimal
    rate: Decimal
    total: Decimal
    credited: Decimal = Decimal("0.00")
    pending: Decimal = Decimal("0.00")
    voided: Decimal = Decimal("0.00")
    late: Decimal = Decimal("0.00")
    lowered: Decimal = Decimal("0.00")  # taken off credited shares for refunds since the close
    waiting_for: str = ""


def statement_of(month: CashbackMonth) -> Statement:
    return Statement(
        month=month.month,
        status=month.status,
        orders=month.orders_count,
        gmv_usd=month.gmv_usd,
        tier_rate=month.tier_rate,
        bonus_rate=month.bonus_rate,
        rate=month.rate,
        total=month.total,
        credited=month.credited_total,
        pending=month.pending_total,
        voided=month.voided_total,
        late=month.late_total,
        lowered=month.lowered_total,
        waiting_for=month.waiting_for,
    )


def cashback_months(*, seller: Seller) -> QuerySet[CashbackMonth]:
    """The seller's closed and waiting months, newest first, with what became of their
    accruals (kept on the month: one row a statement, however many orders)."""
    return CashbackMonth.objects.filter(seller=seller).order_by("-month")


def cashback_statements(
    *, seller: Seller, at: datetime, count: int = 12, progress: Progress | None = None
) -> list[Statement]:
    """This month (open) and the last months that have a statement, newest first."""
    progress = progress or cashback_progress(seller=seller, at=at)
    current = Statement(
        month=progress.month,
        status="open",
        orders=progress.orders,
        gmv_usd=progress.gmv_usd,
        tier_rate=progress.tier_rate,
        bonus_rate=progress.bonus_rate,
        rate=progress.rate,
        total=progress.projected_cashback,
        waiting_for=progress.waiting_for,
    )
    if count <= 1:
        return [current]
    months = cashback_months(seller=seller)[: count - 1]
    return [current, *(statement_of(m) for m in months)]


def cashback_statement(*, seller: Seller, month: date, at: datetime) -> Statement | None:
    row = cashback_months(seller=seller).filter(month=month).first()
    if row is not None:
        return statement_of(row)

    if month == month_start(at).date():
        return cashback_statements(seller=seller, at=at, count=1)[0]
    return None


@dataclass(frozen=True)
class MonthOrder:
    external_id: str
    gmv_usd: Decimal | None
    amount: Decimal | None
    status: str  # none, waiting, pending, credited, voided
    due_at: datetime | None
    late: bool = False


def cashback_month_orders(*, seller: Seller, month: date) -> list[MonthOrder]:
    """The orders of a month: accrued ones with their share, and those still waiting."""

    accrued = [
        MonthOrder(
            external_id=a.order.external_id,
            gmv_usd=a.gmv_usd,
            amount=a.credited_amount if a.status == AccrualStatus.CREDITED else a.amount,
            status=a.status,
            due_at=a.due_at,
            late=a.late,
        )
        for a in Accrual.objects.filter(seller=seller, month__month=month)
        .select_related("order")
        .order_by("due_at", "pk")
    ]
    waiting = [
        MonthOrder(
            external_id=external_id,
            gmv_usd=None if cents is None else Decimal(cents) / 100,
            amount=None,
            status="waiting",
            due_at=None,
        )
        for _pk, external_id, cents in month_orders_gmv(month=month, seller_id=seller.pk)
    ]
    return accrued + waiting


def pending_accruals(*, seller: Seller, limit: int = 50) -> list[Accrual]:
    """The seller's pending cashback, soonest due first, with what the dashboard shows of
    their orders (found among its own pending rows: as quick for a seller among many as
    for one)."""
    return [
        pending.accrual
        for pending in PendingAccrual.objects.filter(seller=seller)
        .select_related("accrual__order")
        .only(
            "accrual__amount",
            "accrual__due_at",
            "accrual__refunded_at_close",
            "accrual__order__external_id",
            "accrual__order__status",
            "accrual__order__refunded_amount",
        )
        .order_by("due_at", "accrual_id")[:limit]
    ]


def cashback_sections(orders: list[Order]) -> dict[int, dict]:
    """The `cashback` section of orders (orders.sections): the accrual's amount, status and
    due date; "waiting" for an order that counts in a month not closed yet."""
    # The close accrues only Order Center orders delivered in a month that has ended: the
    # others (a new order, say) have nothing to look up.
    ended = month_start(timezone.now())
    accrued = [
        o.pk
        for o in orders
        if o.fulfillment_channel == FulfillmentChannel.ORDER_CENTER
        and o.delivered_at is not None
        and o.delivered_at < ended
    ]
    accruals = (
        {a.order_id: a for a in Accrual.objects.filter(order_id__in=accrued)} if accrued else {}
    )
    sections = {}
    for order in orders:
        accrual = accruals.get(order.pk)
        if accrual is not None:
            amount = (
                accrual.credited_amount
                if accrual.status == AccrualStatus.CREDITED
                else accrual.amount
            )
            sections[order.pk] = {
                "amount": f"{amount:.2f}",
                "status": accrual.status,
                "due_at": accrual.due_at,
            }
        elif counts_towards_gmv(order):
            sections[order.pk] = {
                "amount": None,
                "status": "waiting",
                "due_at": order.delivered_at + DUE_AFTER,
            }
    return sections
