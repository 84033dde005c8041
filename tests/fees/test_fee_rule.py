"""The fee and its refunds, as numbers."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fees.services import fee_refund, service_fee

D = Decimal


@pytest.mark.parametrize(
    ("base", "rate", "fee"),
    [
        ("100.00", "3", "3.00"),
        ("99.99", "3", "3.00"),  # 2.9997
        ("10.05", "3", "0.30"),  # 0.3015
        ("16.50", "3", "0.50"),  # 0.495: half up, where half-even would give 0.50 too
        ("78.50", "3", "2.36"),  # 2.355: half up (half-even would give 2.36 as well)
        ("234.50", "1", "2.35"),  # 2.345: half up; Python's default rounding gives 2.34
        ("0.00", "3", "0.00"),
        ("100.00", "0", "0.00"),
        ("123.45", "2.75", "3.39"),  # 3.394875
        ("1000.00", "0.0125", "0.13"),  # 0.125
    ],
)
def test_the_fee_is_base_times_rate_rounded_half_up(base, rate, fee):
    assert service_fee(fee_base=D(base), rate=D(rate)) == D(fee)


def test_a_partial_refund_is_its_share_of_the_fee_rounded():
    assert fee_refund(
        charge=D("3.00"),
        fee_base=D("100.00"),
        refunded=D("30.00"),
        already=D("0"),
        completes=False,
    ) == D("0.90")
    assert fee_refund(
        charge=D("2.35"),
        fee_base=D("78.33"),
        refunded=D("10.00"),
        already=D("0"),
        completes=False,
    ) == D("0.30")  # 0.30001...


def test_the_refund_that_completes_a_return_takes_what_remains():
    assert fee_refund(
        charge=D("3.00"),
        fee_base=D("100.00"),
        refunded=D("70.00"),
        already=D("0.90"),
        completes=True,
    ) == D("2.10")


def test_a_refund_never_takes_more_than_remains():
    # 3 refunds of 33.34 of 100.00 at a 1.00 fee: 0.33 each, and the rounding never pushes
    # the total over the charge.
    assert fee_refund(
        charge=D("0.01"),
        fee_base=D("100.00"),
        refunded=D("99.00"),
        already=D("0.01"),
        completes=False,
    ) == D("0.00")


amounts = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)


@given(base=amounts, rate=st.decimals(min_value=0, max_value=100, places=4), data=st.data())
def test_refunds_never_exceed_the_charge_and_a_return_nets_zero(base, rate, data):
    charge = service_fee(fee_base=base, rate=rate)
    parts = data.draw(st.lists(amounts, max_size=6))
    refunded, paid_back = D("0"), D("0")
    for part in parts:
        part = min(part, base - refunded)
        if part <= 0:
            break
        refunded += part
        paid_back += fee_refund(
            charge=charge,
            fee_base=base,
            refunded=part,
            already=paid_back,
            completes=refunded == base,
        )
        assert D("0") <= paid_back <= charge
    if refunded < base:
        paid_back += fee_refund(
            charge=charge,
            fee_base=base,
            refunded=base - refunded,
            already=paid_back,
            completes=True,
        )
    assert paid_back == charge  # a full return brings the net to exactly zero
