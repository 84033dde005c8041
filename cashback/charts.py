"""The dashboard's chart, drawn on the server as SVG: no script, no library, no CDN."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.money import format_rate

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 120, 16, 12, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    current: bool


@dataclass(frozen=True)
class Line:
    y: float
    label: str


def gmv_chart(
    months: list[tuple[date, Decimal]],
    thresholds: list[tuple[Decimal, Decimal]],
    current: date,
    bonus: Decimal = Decimal("0"),
) -> dict:
    """Bars of monthly GMV (oldest first) against dashed lines at the tier thresholds, each
    labelled with the seller's rate there (its yearly bonus included)."""
    top_value = max([v for _, v in months] + [t for t, _ in thresholds] + [Decimal("1")])
    top_value = top_value * Decimal("1.1")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(months), 1)

    def y_of(value: Decimal) -> float:
        return TOP + plot_h - float(value / top_value) * plot_h

    bars = [
        Bar(
            x=LEFT + i * slot + slot * 0.15,
            y=y_of(value),
            width=slot * 0.7,
            height=TOP + plot_h - y_of(value),
            label=f"{month:%b}",
            value=f"${value:,.2f}",
            current=month == current,
        )
        for i, (month, value) in enumerate(months)
    ]
    lines = [
        Line(y=y_of(threshold), label=f"${threshold:,.0f} · {format_rate(rate + bonus)} %")
        for threshold, rate in thresholds
        if threshold > 0
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "baseline": TOP + plot_h,
        "bars": bars,
        "lines": lines,
    }
