import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench.runner import Bench

SCENARIOS = ("close", "credit", "pages", "single", "bulk", "scale")


class Command(BaseCommand):
    help = (
        "Time the hot paths against raw PostgreSQL in a database of the benchmark's own "
        "(<name>_bench, created, migrated and dropped; your data is never touched)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sellers", type=int, default=10_000)
        parser.add_argument("--orders", type=int, default=1_000_000)
        parser.add_argument("--runs", type=int, default=3, help="Timed runs after a warm-up.")
        parser.add_argument("--json", metavar="FILE", help="Write the results here.")
        parser.add_argument(
            "--scenarios", default=",".join(SCENARIOS), help=f"Of {', '.join(SCENARIOS)}."
        )
        parser.add_argument(
            "--broker",
            default=_redis_broker(),
            help="The Redis broker of the scale-out scenario's workers "
            "(default: CELERY_BROKER_URL when it is Redis, else the local Redis).",
        )
        parser.add_argument(
            "--explain", metavar="FILE", help="Write the plans of the slowest statements here."
        )
        parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark measures against PostgreSQL: set DATABASE_URL.")
        chosen = [s.strip() for s in options["scenarios"].split(",") if s.strip()]
        unknown = set(chosen) - set(SCENARIOS)
        if unknown:
            raise CommandError(f"Unknown scenarios: {', '.join(sorted(unknown))}.")
        if "credit" in chosen and "close" not in chosen:
            chosen.insert(0, "close")  # crediting needs closed months
        if "scale" in chosen and not options["broker"].startswith("redis"):
            raise CommandError("The scale-out scenario runs real workers on Redis: --broker.")
        original = connection.settings_dict["NAME"]
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{original}_bench"
        connection.creation.create_test_db(
            verbosity=0, autoclobber=True, keepdb=options["keep"], serialize=False
        )
        try:
            bench = Bench(
                sellers=options["sellers"],
                orders=options["orders"],
                runs=options["runs"],
                out=self.stdout,
                progress=not options["no_progress"],
                broker=options["broker"],
            )
            self.stdout.write(
                f"Building {options['sellers']:,} sellers and {options['orders']:,} orders ..."
            )
            bench.build()
            for name in chosen:
                self.stdout.write(f"Timing {name} ...")
                getattr(bench, f"scenario_{name}")()
            report = bench.report()
            report["verification"] = bench.verify()
        finally:
            if not options["keep"]:
                connection.creation.destroy_test_db(original, verbosity=0)
        self.table(report)
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(report, indent=2, default=str))
            self.stdout.write(f"Wrote {options['json']}.")
        if options["explain"]:
            Path(options["explain"]).write_text(plans_markdown(report["explain"]))
            self.stdout.write(f"Wrote {options['explain']}.")
        if not report["verification"]["reconcile"]:
            raise CommandError(
                "reconcile found mismatches after the timings:\n"
                + report["verification"]["problems"]
            )

    def table(self, report: dict) -> None:
        self.stdout.write("")
        width = max([8, *(len(r["scenario"]) for r in report["results"])])
        self.stdout.write(
            f"{'scenario':{width}} {'project':>12} {'baseline':>12} {'ratio':>7}  {'target':47} met"
        )
        for r in report["results"]:
            self.stdout.write(
                f"{r['scenario']:{width}} {r['project']:>12.3f} {r['baseline']:>12.3f} "
                f"{_ratio(r['ratio']):>7}  {r['target']:47} {'yes' if r['met'] else 'NO'}"
            )
        v = report["verification"]
        self.stdout.write(
            f"reconcile: {'clean' if v['reconcile'] else 'MISMATCHES'}; rows: "
            + ", ".join(f"{k} {n:,}" for k, n in v["rows"].items())
        )


def _redis_broker() -> str:
    configured = os.environ.get("CELERY_BROKER_URL", "")
    return configured if configured.startswith("redis") else "redis://127.0.0.1:6379/0"


def plans_markdown(plans: dict[str, list[dict]]) -> str:
    """The plans as the EXPLAIN section of docs/performance.md shows them."""
    parts = []
    for scenario, statements in plans.items():
        parts.append(f"### {scenario}\n")
        for s in statements:
            parts.append(
                f"{s['calls']} call(s), {s['total_ms']} ms in all:\n\n```sql\n{s['sql']}\n```\n\n"
                f"```\n{s['plan']}\n```\n"
            )
    return "\n".join(parts)


def _ratio(ratio: float) -> str:
    """Below 1 to three decimals, so that 0.247 does not read as a target of 0.25 met."""
    return f"{ratio:.3f}" if ratio < 1 else f"{ratio:.2f}"
