"""The benchmark at a tiny scale, for correctness only: it runs every scenario, writes its
report, and leaves the money consistent. Its timings are not judged here."""

import json
import os
import subprocess
import sys

import pytest

from tests.processes import ROOT

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the benchmark measures against PostgreSQL (DATABASE_URL)",
)


def test_bench_runs_every_scenario_and_stays_consistent(tmp_path):
    report_file = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "bench",
            "--sellers",
            "5",
            "--orders",
            "2000",
            "--runs",
            "1",
            "--no-progress",
            "--json",
            str(report_file),
            "--explain",
            str(tmp_path / "explain.md"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(report_file.read_text())
    scenarios = {r["scenario"] for r in report["results"]}
    assert {
        "month close",
        "crediting",
        "bulk ingestion",
        "single order (create + event)",
        "page: orders, deep page",
        "page: settled record details",
        "page: Order Cashback Dashboard, 100 orders this month",
        "scale out: month close",
        "scale out: crediting",
    } <= scenarios
    for r in report["results"]:
        assert r["project"] > 0 and r["baseline"] > 0 and isinstance(r["met"], bool)
    single = next(r for r in report["results"] if r["scenario"].startswith("single order"))
    # judged per request, creates and events alike; each kind and the pair reported too
    assert single["detail"]["requests"] >= 60
    assert 0 < single["detail"]["create_p95_ms"] < single["detail"]["create_and_event_p95_ms"]
    assert 0 < single["detail"]["event_p95_ms"] < single["detail"]["create_and_event_p95_ms"]
    bulk = next(r for r in report["results"] if r["scenario"] == "bulk ingestion")
    # a warm-up round, then the median of the timed rounds (one with --runs 1)
    assert bulk["detail"]["rounds"] == 1 and len(bulk["detail"]["round_rates"]) == 1
    # each round followed by the COPY of its rows: a COPY rate and a ratio for each
    assert len(bulk["detail"]["round_copy_rates"]) == len(bulk["detail"]["round_ratios"]) == 1
    # a worker a core, as many clients, eight requests each a round
    assert bulk["detail"]["gunicorn_workers"] == bulk["detail"]["clients"] == os.cpu_count()
    assert bulk["detail"]["requests_a_round"] == 8 * bulk["detail"]["clients"]
    assert report["machine"]["cores"] >= 1 and "django" in report["versions"]
    assert report["verification"]["reconcile"] is True
    rows = report["verification"]["rows"]
    assert rows["orders_order"] >= 2000 and rows["cashback_accrual"] > 0
    assert rows["wallet_walletentry"] > 0  # crediting really credited
    # the plans of the hot statements, taken as they ran
    plans = report["explain"]
    assert {"month close", "crediting", "page: orders, deep page"} <= set(plans)
    close = plans["month close"]
    assert close and all(p["calls"] >= 1 and "cost=" in p["plan"] for p in close)
    assert "### crediting" in (tmp_path / "explain.md").read_text()


def test_bench_refuses_an_unknown_scenario():
    result = subprocess.run(
        [sys.executable, "manage.py", "bench", "--scenarios", "close,warp"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "Unknown scenarios: warp" in result.stderr
