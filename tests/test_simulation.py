"""A seeded random simulation of sellers, orders and jobs through the real services, with the
money invariants checked after every step (the run and its checks: `tests/simulation.py`).

Replay a failure with the seed it prints: `SIMULATION_SEED=N SIMULATION_STEPS=M pytest
tests/test_simulation.py` (several seeds: `SIMULATION_SEED=1,2,3`).
"""

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import F

from cashback.models import Accrual
from cashback.order_cashback import close_months
from fees.models import FeeEntry
from orders.models import OrderEvent
from orders.services import OrderInput, orders_create
from sellers.services import seller_create
from tests.simulation import Simulation, SimulationFailure
from wallet.models import Wallet, WalletEntry

SEEDS = [int(s) for s in os.environ.get("SIMULATION_SEED", "3,7,12").split(",")]
STEPS = int(os.environ.get("SIMULATION_STEPS", "120"))


def simulation(seed: int, steps: int, settings, tmp_path) -> Simulation:
    sim = Simulation(seed=seed, steps=steps, workdir=tmp_path)
    settings.TIME_ZONE = sim.time_zone
    return sim


@pytest.mark.django_db
@pytest.mark.parametrize("seed", SEEDS)
def test_simulation(seed, settings, tmp_path):
    sim = simulation(seed, STEPS, settings, tmp_path)
    sim.run()
    print(sim.summary())


# The checks can fail: each corruption below, written straight to the database after a run,
# is caught by the simulation's own checks (not only by the project's reconciliation).

CORRUPTION_SEED = 7


def _extra_wallet_entry(sim):
    wallet = Wallet.objects.filter(balance__gt=0).first()
    WalletEntry.objects.create(
        wallet=wallet,
        kind="cashback",
        amount=Decimal("1.00"),
        balance_after=wallet.balance + 1,
        created_at=sim.now,
    )
    return "wallet of seller"


def _accrual_share_moved(sim):
    accrual = Accrual.objects.filter(late=False, amount__gt=0).first()
    Accrual.objects.filter(pk=accrual.pk).update(amount=F("amount") + Decimal("0.01"))
    return "shares add up to"


def _extra_fee_refund(sim):
    """A refund entry (with the order event it belongs to) that gives back more than the charge."""
    charge = FeeEntry.objects.filter(kind="charge", order__status="delivered").first()
    event = OrderEvent.objects.create(
        order=charge.order,
        type="refunded",
        occurred_at=sim.now,
        amount=Decimal("0.00"),
        received_at=sim.now,
    )
    FeeEntry.objects.create(
        seller=charge.seller,
        order=charge.order,
        order_event=event,
        kind="refund",
        amount=charge.amount + 1,
        currency=charge.currency,
        campaign=charge.campaign,
        registration=charge.registration,
        rate=charge.rate,
        fee_base=charge.fee_base,
        occurred_at=sim.now,
    )
    return "below zero"


@pytest.mark.django_db
def test_the_checks_catch_corruption(settings, tmp_path):
    sim = simulation(CORRUPTION_SEED, 100, settings, tmp_path)
    sim.run()
    assert sim.stats["credited"] and sim.stats["accruals"], sim.summary()
    for corrupt in (_extra_wallet_entry, _accrual_share_moved, _extra_fee_refund):
        snapshots = dict(sim.wallet_snapshot), dict(sim.settled_snapshot)
        with transaction.atomic():
            expected = corrupt(sim)
            problems = sim.independent_problems()
            assert any(expected in p for p in problems), (corrupt.__name__, problems)
            with pytest.raises(SimulationFailure, match=f"seed={CORRUPTION_SEED} "):
                sim.check(corrupt.__name__)
            transaction.set_rollback(True)
        sim.wallet_snapshot, sim.settled_snapshot = snapshots
        assert sim.independent_problems() == []


# Bugs the simulation found ----------------------------------------------------------------

ON_SQLITE = django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


@pytest.mark.django_db
@pytest.mark.skipif(not ON_SQLITE, reason="PostgreSQL adds the interval exactly.")
def test_due_date_on_sqlite_keeps_the_second():
    """Found by seed 106: a delivery at hh:mm:ss.9995 or later was due a second late, SQLite's
    date functions rounding the fraction to milliseconds before it was appended again."""
    seller = seller_create(name="Late by a second")
    delivered = datetime(2026, 10, 4, 23, 59, 59, 999_700, tzinfo=UTC)
    placed = delivered - timedelta(days=2)
    (result,) = orders_create(
        seller=seller,
        inputs=[
            OrderInput(
                external_id="D-1",
                placed_at=placed,
                currency="USD",
                net_product_price=Decimal("100.00"),
                fulfillment_channel="order_center",
                tracking_number="TRK-D-1",
                status="delivered",
                paid_at=placed,
                shipped_at=placed,
                delivered_at=delivered,
            )
        ],
        now=delivered,
    )
    close_months(as_of=datetime(2026, 11, 1, 1, tzinfo=UTC))
    accrual = Accrual.objects.get(order=result.order)
    assert accrual.due_at == delivered + timedelta(days=30)  # stored: 2026-11-04 00:00:00.9997
