"""The dashboard's chart, drawn on the server as SVG: no script, no library, no CDN."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

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
    chart = {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "baseline": TOP + plot_h,
        "bars": bars,
        "lines": lines,
    }
    chart["svg"] = chart_svg(chart)
    return chart


def chart_svg(chart: dict) -> SafeString:
    """The chart's SVG, written here in one go: in the template its 100 or so attributes
    cost as much as the rest of the dashboard."""
    left, right = chart["left"], chart["right"]
    thresholds = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" class="threshold"/>'
        '<text x="{}" y="{}" class="threshold-label" text-anchor="end" '
        'dominant-baseline="middle">{}</text>\n',
        (
            (left, right, _1(line.y), _1(line.y), left - 4, _1(line.y), line.label)
            for line in chart["lines"]
        ),
    )
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="{}"><title>{}: {}</title></rect>'
        '<text x="{}" y="{}" class="month-label">{}</text>\n',
        (
            (
                _1(bar.x),
                _1(bar.y),
                _1(bar.width),
                _1(bar.height),
                "current" if bar.current else "gmv",
                bar.label,
                bar.value,
                _1(bar.x),
                chart["height"] - 8,
                bar.label,
            )
            for bar in chart["bars"]
        ),
    )
    return format_html(
        '<svg viewBox="0 0 {} {}" class="chart" role="img" aria-label="Monthly fulfilled GMV '
        'against the tier thresholds" data-testid="gmv-chart">\n'
        '<line x1="{}" x2="{}" y1="{}" y2="{}" class="axis"/>\n{}{}</svg>',
        chart["width"],
        chart["height"],
        left,
        right,
        chart["baseline"],
        chart["baseline"],
        thresholds,
        bars,
    )


def _1(value: float) -> str:
    """A coordinate to one decimal, rounded half up, as `|floatformat:1` writes it."""
    return str(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
