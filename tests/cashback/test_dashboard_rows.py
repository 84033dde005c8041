"""The dashboard's chart is drawn in Python and its long tables' cells are made in Python,
for speed: the page must say exactly what the template said before, escaping included."""

import random
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.template.defaultfilters import floatformat

from cashback.charts import _1, gmv_chart
from cashback.views import entry_rows, pending_rows

D = Decimal

# The markup the template wrote before, kept here as the reference.
OLD_SVG = """{% load money %}
  <svg viewBox="0 0 {{ chart.width }} {{ chart.height }}" class="chart" role="img" aria-label="Monthly fulfilled GMV against the tier thresholds" data-testid="gmv-chart">
    <line x1="{{ chart.left }}" x2="{{ chart.right }}" y1="{{ chart.baseline }}" y2="{{ chart.baseline }}" class="axis"/>
    {% for line in chart.lines %}
      <line x1="{{ chart.left }}" x2="{{ chart.right }}" y1="{{ line.y|floatformat:1 }}" y2="{{ line.y|floatformat:1 }}" class="threshold"/>
      <text x="{{ chart.left|add:-4 }}" y="{{ line.y|floatformat:1 }}" class="threshold-label" text-anchor="end" dominant-baseline="middle">{{ line.label }}</text>
    {% endfor %}
    {% for bar in chart.bars %}
      <rect x="{{ bar.x|floatformat:1 }}" y="{{ bar.y|floatformat:1 }}" width="{{ bar.width|floatformat:1 }}" height="{{ bar.height|floatformat:1 }}" class="{% if bar.current %}current{% else %}gmv{% endif %}"><title>{{ bar.label }}: {{ bar.value }}</title></rect>
      <text x="{{ bar.x|floatformat:1 }}" y="{{ chart.height|add:-8 }}" class="month-label">{{ bar.label }}</text>
    {% endfor %}
  </svg>"""  # noqa: E501
OLD_PENDING = """{% load money %}{% for accrual in pending %}
        <tr><td><a href="{% url 'seller:order' accrual.order.external_id %}">{{ accrual.order.external_id }}</a></td><td class="num">{{ accrual.amount|usd }}</td><td class="date">{{ accrual.due_at|date:"Y-m-d" }}</td>
          <td class="hint">{% if accrual.order.status == "returned" %}Returned: no cashback{% elif accrual.order.refunded_amount > accrual.refunded_at_close %}Lowered for a refund{% endif %}</td></tr>
      {% endfor %}"""  # noqa: E501
OLD_ENTRIES = """{% load money %}{% for entry in entries %}
        <tr><td class="date">{{ entry.created_at|date:"Y-m-d" }}</td><td>{{ entry.description|default:entry.get_kind_display }}{% if entry.reason %}<div class="hint">{{ entry.reason }}</div>{% endif %}</td><td class="num">{% if entry.amount > 0 %}+{% endif %}{{ entry.amount|usd }}</td><td class="num">{{ entry.balance_after|usd }}</td></tr>
      {% endfor %}"""  # noqa: E501


DASHBOARD = Path(__file__).resolve().parents[2] / "templates" / "cashback" / "dashboard.html"


def current(loop: str) -> str:
    """A table's loop as the dashboard template has it now, `{% for row in <loop> %}` to its
    `{% empty %}`."""
    text = DASHBOARD.read_text()
    start = text.index(f"{{% for row in {loop} %}}")
    return "{% load money %}" + text[start : text.index("{% empty %}", start)] + "{% endfor %}"


def same_markup(html: str) -> str:
    """Markup with the whitespace between tags (which a browser ignores here) taken out."""
    return re.sub(r">\s+<", "><", html.strip())


def old(template: str, **context) -> str:
    return same_markup(Template(template).render(Context(context)))


def test_a_coordinate_is_written_as_floatformat_writes_it():
    values = [0.0, 0.05, 0.15, 0.25, 12.25, 12.35, 211.95, 719.999, 1e-9, 37.45000001]
    rng = random.Random(7)  # noqa: S311 (not for secrets)
    values += [rng.uniform(0, 720) for _ in range(2000)]
    for value in values:
        assert _1(value) == floatformat(value, 1), value


@pytest.mark.parametrize("bonus", [D("0"), D("0.5")])
def test_the_chart_is_the_templates(bonus):
    months = [
        (datetime(2026, m, 1, tzinfo=UTC).date(), D(m * 437) + D("0.37")) for m in range(1, 13)
    ]
    tiers = [(D("0"), D("0")), (D("1000"), D("0.5")), (D("3000"), D("1")), (D("10000"), D("2"))]
    chart = gmv_chart(months, tiers, months[-1][0], bonus=bonus)
    assert same_markup(chart["svg"]) == old(OLD_SVG, chart=chart)


@pytest.mark.django_db
def test_the_pending_rows_are_the_templates():
    def accrual(external_id, status="delivered", refunded="0.00", at_close="0.00"):
        order = SimpleNamespace(external_id=external_id, status=status, refunded_amount=D(refunded))
        return SimpleNamespace(
            order=order,
            amount=D("1234.5"),
            due_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC),
            refunded_at_close=D(at_close),
        )

    pending = [
        accrual("A-1"),
        accrual("<b>&'x\"/y z%", status="returned"),
        accrual("R-1", refunded="10.00"),
        accrual("R-2", refunded="10.00", at_close="10.00"),
    ]
    new = old(current("pending"), pending=pending_rows(pending))
    assert new == old(OLD_PENDING, pending=pending)


@pytest.mark.django_db
def test_the_wallet_entry_rows_are_the_templates():
    from wallet.models import WalletEntry

    def entry(amount, description="", reason="", kind="cashback"):
        return WalletEntry(
            kind=kind,
            amount=D(amount),
            balance_after=D("10000.10"),
            description=description,
            reason=reason,
            created_at=datetime(2026, 11, 2, 0, 30, tzinfo=UTC),
        )

    entries = [
        entry("0.50", description="Order Cashback for order <A-1>"),
        entry("-2.00", kind="adjustment", reason='Fix & <correct> "it"'),
        entry("0.00", kind="adjustment"),
    ]
    new = old(current("entries"), entries=entry_rows(entries))
    assert new == old(OLD_ENTRIES, entries=entries)
