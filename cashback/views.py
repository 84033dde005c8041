"""Seller Center pages of the Bonus Cashback Program and the Order Cashback Dashboard."""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from cashback.charts import gmv_chart
from cashback.forms import CampaignSearchForm, RegisterForm
from cashback.models import LIVE_STATUSES, Accrual, Campaign, Registration, RegistrationEvent
from cashback.order_cashback import tier_table_for
from cashback.selectors import (
    campaign_get_for_seller,
    campaign_window,
    campaigns_for_seller,
    cashback_month_orders,
    cashback_progress,
    cashback_statement,
    cashback_statements,
    pending_accruals,
    rate_in_force,
    registrations_for_seller,
)
from cashback.services import (
    Action,
    Actor,
    RegistrationError,
    registration_create,
    registration_transition,
)
from core.dates import month_start
from core.templatetags.money import usd
from core.templatetags.rows import RowFormat
from orders.models import OrderStatus
from sellers.decorators import seller_required
from wallet.models import WalletEntry
from wallet.selectors import wallet_latest

CAMPAIGNS_PER_PAGE = 20


@seller_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    form = CampaignSearchForm(request.GET)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    campaigns = campaigns_for_seller(seller=request.seller, at=timezone.now(), search=search)
    page = Paginator(campaigns, CAMPAIGNS_PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    for campaign in page:
        campaign.window = campaign_window(campaign=campaign, at=now)
        campaign.current_rate = rate_in_force(campaign.rate_history, now)
    return render(
        request, "cashback/campaign_list.html", {"form": form, "search": search, "page": page}
    )


def _campaign_or_404(request: HttpRequest, slug: str) -> Campaign:
    try:
        return campaign_get_for_seller(seller=request.seller, slug=slug, at=timezone.now())
    except Campaign.DoesNotExist as exc:
        raise Http404("No such campaign.") from exc


def _render_campaign(
    request: HttpRequest,
    campaign: Campaign,
    *,
    form: RegisterForm | None = None,
    ready: bool = False,
    status: int = 200,
) -> HttpResponse:
    history = Prefetch("history", queryset=RegistrationEvent.objects.order_by("occurred_at", "pk"))
    registrations = list(
        registrations_for_seller(seller=request.seller, campaign=campaign).prefetch_related(history)
    )
    for registration in registrations:
        events = list(registration.history.all())  # prefetched, oldest first
        registration.last_reason = events[-1].reason if events else ""
    live = next((r for r in registrations if r.status in LIVE_STATUSES), None)
    window = campaign_window(campaign=campaign, at=timezone.now())
    context = {
        "campaign": campaign,
        "registrations": registrations,
        "live": live,
        "window": window,
        "can_register": window.is_open and live is None,
        "form": form or RegisterForm(initial={"terms_version": campaign.terms_version}),
        "ready": ready,
    }
    return render(request, "cashback/campaign_detail.html", context, status=status)


@seller_required
def campaign_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_campaign(request, _campaign_or_404(request, slug))


@seller_required
@require_http_methods(["GET", "POST"])
def campaign_register(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the details page ready to register (the registration link). POST: register."""
    campaign = _campaign_or_404(request, slug)
    if request.method == "GET":
        return _render_campaign(request, campaign, ready=True)
    form = RegisterForm(request.POST)
    if not form.is_valid():
        form.add_error(None, "The form was out of date: read the terms again and register.")
        return _render_campaign(request, campaign, form=form, ready=True, status=400)
    try:
        registration = registration_create(
            seller=request.seller,
            campaign=campaign,
            agree_to_terms=form.cleaned_data["agree_to_terms"],
            terms_version=form.cleaned_data["terms_version"],
            actor=Actor.seller_user(request.user),
        )
    except RegistrationError as exc:
        form.add_error(None, str(exc))
        return _render_campaign(request, campaign, form=form, ready=True, status=400)
    messages.success(
        request,
        f"You are registered for “{campaign.name}”: {registration.get_status_display()}.",
    )
    return redirect("seller:campaign", slug=campaign.slug)


def _transition_view(action: Action, done: str):
    @seller_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        registration = (
            Registration.objects.filter(pk=pk, seller=request.seller)
            .select_related("campaign")
            .first()
        )
        if registration is None:
            raise Http404("No such registration.")
        try:
            registration = registration_transition(
                registration_id=registration.pk,
                action=action,
                actor=Actor.seller_user(request.user),
            )
        except RegistrationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{done} Status: {registration.get_status_display()}.")
        return redirect("seller:campaign", slug=registration.campaign.slug)

    return view


registration_withdraw = _transition_view(
    Action.WITHDRAW,
    "Your withdrawal is with our team for review; you stay in the program until it is approved.",
)
registration_cancel_withdraw = _transition_view(
    Action.CANCEL_WITHDRAW, "Your withdrawal request is cancelled."
)


@seller_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """A fixed number of queries whatever the seller's size: each part is one aggregate or
    one short list (see tests/test_page_queries.py)."""
    now = timezone.now()
    table = tier_table_for(month_start(now).date())
    progress = cashback_progress(seller=request.seller, at=now, table=table)
    statements = cashback_statements(seller=request.seller, at=now, count=12, progress=progress)
    by_month = {s.month: s.gmv_usd for s in statements}
    months, month = [], progress.month
    for _ in range(12):
        months.append((month, by_month.get(month, Decimal("0.00"))))
        month = (month - timedelta(days=1)).replace(day=1)
    pending = pending_accruals(seller=request.seller)
    balance, entries = wallet_latest(seller=request.seller, count=20)
    context = {
        "progress": progress,
        "statements": statements,
        "pending": pending_rows(pending),
        "balance": balance,
        "entries": entry_rows(entries),
        "chart": gmv_chart(
            list(reversed(months)),
            list(table.tiers),
            progress.month,
            bonus=table.yearly_bonus if progress.plan == "yearly" else Decimal("0"),
        ),
        "tiers": table.tiers,
        "yearly_bonus": table.yearly_bonus,
    }
    return render(request, "cashback/dashboard.html", context)


# The dashboard's two long tables, cell by cell as the page writes them, made here once: in
# the template a Decimal, a date filter or {% url %} a cell costs tens of microseconds, and
# these tables have 70 rows (core/templatetags/rows.py). Dicts: a template looks keys up first.


def pending_rows(accruals: list[Accrual]) -> list[dict[str, str]]:
    cells = RowFormat()
    return [
        {
            "href": cells.order_url(a.order.external_id),
            "order": a.order.external_id,
            "amount": usd(a.amount),
            "due": cells.day(a.due_at),
            "note": _pending_note(a),
        }
        for a in accruals
    ]


def _pending_note(accrual: Accrual) -> str:
    if accrual.order.status == OrderStatus.RETURNED:
        return "Returned: no cashback"
    if accrual.order.refunded_amount > accrual.refunded_at_close:
        return "Lowered for a refund"
    return ""


def entry_rows(entries: list[WalletEntry]) -> list[dict[str, str]]:
    cells = RowFormat()
    return [
        {
            "day": cells.day(e.created_at),
            "what": e.description or e.get_kind_display(),
            "reason": e.reason,
            "amount": f"{'+' if e.amount > 0 else ''}{usd(e.amount)}",
            "balance": usd(e.balance_after),
        }
        for e in entries
    ]


@seller_required
def cashback_month(request: HttpRequest, month: str) -> HttpResponse:
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise Http404("No such month.") from exc
    statement = cashback_statement(seller=request.seller, month=first, at=timezone.now())
    if statement is None:
        raise Http404("No statement for this month.")
    orders = cashback_month_orders(seller=request.seller, month=first)
    return render(request, "cashback/month_detail.html", {"statement": statement, "orders": orders})
