"""The operator dashboard's sign-ups per day (a collector of apps.core.daily_metrics)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from apps.core.daily_metrics import day_bounds, register_daily_metric


def signups_on(day: dt.date) -> int:
    """Accounts created that UTC day (one indexed count on the users table)."""
    start, end = day_bounds(day)
    return get_user_model().objects.filter(date_joined__gte=start, date_joined__lt=end).count()


def register() -> None:
    register_daily_metric(
        "signups", signups_on, title="Sign-ups per day", unit="accounts", kind="bar", order=10
    )
