"""Time-weighted uptime: pure functions, used by the result writer (services.results_apply) to
fill the hourly rollups, and by the uptime summary for the part not yet rolled up.

Each result closes the interval since the monitor's previous verdict (`accounted_at`) and
credits it to the state in force during it (`up` or `down`; `pending` and `paused` count for
nothing). The part of an interval inside a maintenance window counts as maintenance, neither up
nor down. An interval longer than its cap (a worker outage, say) is cut at the cap: the rest is
unknown, not up. Uptime % = up_s / (up_s + down_s)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

HOUR = dt.timedelta(hours=1)


def hour_floor(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _overlap(a0: dt.datetime, a1: dt.datetime, b0: dt.datetime, b1: dt.datetime) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def _merge(windows: Iterable[tuple[dt.datetime, dt.datetime]]) -> list[tuple]:
    merged: list[list] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [tuple(w) for w in merged]


def account(
    status: str,
    start: dt.datetime,
    end: dt.datetime,
    maintenance: Iterable[tuple[dt.datetime, dt.datetime]] = (),
) -> dict[dt.datetime, dict[str, float]]:
    """Seconds of [start, end) by hour: {"up_s"|"down_s": …, "maintenance_s": …}."""
    out: dict[dt.datetime, dict[str, float]] = defaultdict(
        lambda: {"up_s": 0.0, "down_s": 0.0, "maintenance_s": 0.0}
    )
    if end <= start or status not in ("up", "down"):
        return out
    windows = _merge(maintenance)
    key = "up_s" if status == "up" else "down_s"
    hour = hour_floor(start)
    while hour < end:
        seg0, seg1 = max(start, hour), min(end, hour + HOUR)
        seconds = (seg1 - seg0).total_seconds()
        in_maintenance = sum(_overlap(seg0, seg1, w0, w1) for w0, w1 in windows)
        out[hour][key] += seconds - in_maintenance
        out[hour]["maintenance_s"] += in_maintenance
        hour += HOUR
    return out


def uptime_pct(up_s: float, down_s: float) -> float | None:
    total = up_s + down_s
    return None if total <= 0 else round(100.0 * up_s / total, 4)
