"""Fill the operator dashboard's daily aggregates for past days.

    manage.py daily_metrics_backfill [--days 90] [--metric signups --metric mrr …]

Runs every registered collector (apps/core/daily_metrics.py) for each of the last N days, today
included, and upserts the answers: safe to run again. Past days come from what the domain
tables still hold (monitor rollups and webhook messages have shorter retentions of their own)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.core.daily_metrics import daily_collectors, daily_metrics_backfill


class Command(BaseCommand):
    help = "Collect the daily aggregates of the last N days (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=30, help="How many days, today included.")
        parser.add_argument(
            "--metric",
            action="append",
            dest="metrics",
            choices=[c.name for c in daily_collectors()],
            help="Only this series (repeatable); default: every series.",
        )

    def handle(self, *args, days: int, metrics: list[str] | None, **options) -> None:
        written = daily_metrics_backfill(days=days, names=metrics)
        for name, rows in sorted(written.items()):
            self.stdout.write(f"{name}: {rows} row(s)")
